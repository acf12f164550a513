package io.github.telecmicdr.crm;

import io.github.telecmicdr.delivery.PermanentFailure;
import io.github.telecmicdr.delivery.RetryLater;
import org.apache.camel.Body;
import org.apache.camel.Header;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the CRM's answer to a forwarded call means for its delivery (Standard Webhooks,
 * "Delivery success and failure", and RFC 9110):
 * <ul>
 * <li>2xx: done. 409 Conflict: done too, the CRM already holds the call (a repeat after a crash
 * between its 200 and our commit, or a second forward of the same {@code Idempotency-Key}).</li>
 * <li>408, 425, 429 and 5xx: the CRM is busy, slow or down, {@link RetryLater}, no sooner than its
 * {@code Retry-After} when it sends one. So is a status HTTP does not define (1xx as a final answer,
 * 600 and up): something between us and the CRM is confused, which tends to pass.</li>
 * <li>3xx: failed, since redirects are not followed (a POST re-sent to an address the CRM names is
 * how a call leaks; the fix is a new {@code crm.url}, which trying again does not bring).</li>
 * <li>Any other 4xx: failed at once, {@link PermanentFailure}: the same request will get the same
 * answer. The error is {@code CRM answered <status>: } and the first 200 characters of the answer,
 * secrets redacted, control characters as spaces, so it reads on one line in the API.</li>
 * </ul>
 * Connection errors and timeouts never reach here: they are exceptions, retried with backoff.
 * The route calls {@link #judge} with the HTTP component's {@code throwExceptionOnFailure=false}.
 */
public final class CrmAnswers {

    /** Characters of the answer kept in the error. */
    static final int EXCERPT = 200;
    /** Redacted before cutting, so a secret the CRM echoes across the cut is still caught whole. */
    private static final int REDACTED_PREFIX = 4096;
    private static final Pattern CONTROL = Pattern.compile("[\\p{Cc}\\p{Cf}\\u2028\\u2029]");

    private static final Pattern DELTA_SECONDS = Pattern.compile("[0-9]{1,18}");
    private static final String MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
    private static final String TIME = "([0-9]{2}):([0-9]{2}):([0-9]{2})";
    /** RFC 9110 5.6.7: the IMF-fixdate every sender uses, and the two obsolete forms a recipient must still read. */
    private static final Pattern IMF_FIXDATE = Pattern.compile(
            "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) " + MONTH + " ([0-9]{4}) " + TIME + " GMT", Pattern.CASE_INSENSITIVE);
    private static final Pattern RFC850_DATE = Pattern.compile(
            "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), ([0-9]{2})-" + MONTH + "-([0-9]{2}) " + TIME + " GMT",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern ASCTIME_DATE = Pattern.compile(
            "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) " + MONTH + " ([ 0-9][0-9]) " + TIME + " ([0-9]{4})", Pattern.CASE_INSENSITIVE);
    private static final List<String> MONTHS = List.of("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec");

    private final Clock clock;
    private final UnaryOperator<String> redaction;

    /**
     * @param clock     the time a {@code Retry-After} date is measured from
     * @param redaction removes the configured secrets from text (the delivery engine's own), applied
     *                  to the answer before it becomes an error
     */
    public CrmAnswers(Clock clock, UnaryOperator<String> redaction) {
        this.clock = clock;
        this.redaction = redaction;
    }

    /**
     * Returns for an answer that completes the delivery; throws {@link RetryLater} or
     * {@link PermanentFailure} otherwise (see the class comment).
     *
     * @param status     the HTTP status the CRM answered
     * @param retryAfter its {@code Retry-After} header, or null
     * @param body       its answer as text, or null
     */
    public void judge(@Header("CamelHttpResponseCode") int status, @Header("Retry-After") String retryAfter, @Body InputStream answer)
            throws IOException {
        String body = null;
        if (answer != null) {
            // only the start of the answer is kept: a CRM's error page is never read whole into memory
            try (answer) {
                body = new String(answer.readNBytes(REDACTED_PREFIX), StandardCharsets.UTF_8);
            }
        }
        judgeText(status, retryAfter, body);
    }

    /** {@link #judge(int, String, InputStream)} of an answer already read. */
    void judgeText(int status, String retryAfter, String body) {
        if (status >= 200 && status <= 299 || status == 409) {
            return;
        }
        if (status == 408 || status == 425 || status == 429 || status >= 500 || status < 200) {
            throw new RetryLater(error(status, "", body), retryAfter(retryAfter, clock.instant()));
        }
        if (status <= 399) {
            throw new PermanentFailure(error(status, " (a redirect: they are not followed; set crm.url to the address it names)", body));
        }
        throw new PermanentFailure(error(status, "", body));
    }

    private String error(int status, String note, String body) {
        String excerpt = excerpt(body);
        return "CRM answered " + status + note + (excerpt.isEmpty() ? "" : ": " + excerpt);
    }

    /** The first {@value #EXCERPT} characters of the answer on one line, secrets redacted; "…" marks a cut. */
    String excerpt(String body) {
        if (body == null) {
            return "";
        }
        String head = body.length() > REDACTED_PREFIX ? body.substring(0, REDACTED_PREFIX) : body;
        String redacted = CONTROL.matcher(redaction.apply(head)).replaceAll(" ").strip();
        if (redacted.length() <= EXCERPT) {
            return redacted;
        }
        int end = Character.isHighSurrogate(redacted.charAt(EXCERPT - 1)) ? EXCERPT - 1 : EXCERPT;
        return redacted.substring(0, end) + "…";
    }

    /**
     * A {@code Retry-After} as RFC 9110 10.2.3 writes it, delta-seconds or an HTTP-date, as a wait
     * from {@code now}: a date already past waits zero; null, negative, fractional or unreadable
     * values (and more than 18 digits) are {@code null}, as if the CRM had not said. A very large wait
     * is returned as is: the engine caps it.
     */
    public static Duration retryAfter(String value, Instant now) {
        if (value == null) {
            return null;
        }
        String v = value.strip();
        if (DELTA_SECONDS.matcher(v).matches()) {
            return Duration.ofSeconds(Long.parseLong(v));
        }
        Instant at = httpDate(v, now);
        if (at == null) {
            return null;
        }
        return at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO;
    }

    private static Instant httpDate(String v, Instant now) {
        try {
            Matcher m = IMF_FIXDATE.matcher(v);
            if (m.matches()) {
                return instant(Integer.parseInt(m.group(3)), m.group(2), m.group(1), m, 4);
            }
            m = RFC850_DATE.matcher(v);
            if (m.matches()) {
                return instant(fourDigitYear(Integer.parseInt(m.group(3)), now), m.group(2), m.group(1), m, 4);
            }
            m = ASCTIME_DATE.matcher(v);
            if (m.matches()) {
                return instant(Integer.parseInt(m.group(6)), m.group(1), m.group(2), m, 3);
            }
        } catch (DateTimeException e) {
            // 31 Feb, 25:00 and the like: as unreadable as any other garbage
        }
        return null;
    }

    private static Instant instant(int year, String month, String day, Matcher m, int timeGroup) {
        return LocalDateTime.of(year, MONTHS.indexOf(month.toLowerCase(Locale.ROOT)) + 1, Integer.parseInt(day.strip()),
                        Integer.parseInt(m.group(timeGroup)), Integer.parseInt(m.group(timeGroup + 1)), Integer.parseInt(m.group(timeGroup + 2)))
                .toInstant(ZoneOffset.UTC);
    }

    /** RFC 9110: a two-digit year that would be more than 50 years ahead is the latest past year ending in those digits. */
    private static int fourDigitYear(int twoDigits, Instant now) {
        int thisYear = now.atZone(ZoneOffset.UTC).getYear();
        int year = thisYear - Math.floorMod(thisYear, 100) + twoDigits;
        if (year > thisYear + 50) {
            return year - 100;
        }
        return year < thisYear - 49 ? year + 100 : year;
    }
}
