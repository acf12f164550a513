package io.github.telecmicdr.crm;

import io.github.telecmicdr.delivery.PermanentFailure;
import io.github.telecmicdr.delivery.RetryLater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What each answer of the CRM does to the delivery of a forwarded call. */
class CrmAnswersTest {

    /** Sun, 06 Nov 1994 08:49:37 GMT is RFC 9110's own example date; "now" is 20 seconds before it. */
    private static final Instant NOW = Instant.parse("1994-11-06T08:49:17Z");
    private static final String TOKEN = "pat-na1-0123456789abcdef";
    private final CrmAnswers answers = new CrmAnswers(Clock.fixed(NOW, ZoneOffset.UTC), s -> s.replace(TOKEN, "****"));

    @ParameterizedTest(name = "{0}")
    @ValueSource(ints = {200, 201, 202, 204, 299, 409})
    void successAndConflictAreDone(int status) {
        assertDoesNotThrow(() -> answers.judgeText(status, "120", "{\"id\":\"1\"}"));
        assertDoesNotThrow(() -> answers.judgeText(status, null, null));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(ints = {408, 425, 429, 500, 502, 503, 504, 599})
    void busySlowOrDownIsRetried(int status) {
        RetryLater e = assertThrows(RetryLater.class, () -> answers.judgeText(status, null, "busy"));
        assertEquals("CRM answered " + status + ": busy", e.getMessage());
        assertNull(e.after());
    }

    @Test
    void retryAfterIsHonouredInSecondsOrAsADate() {
        assertEquals(Duration.ofSeconds(120), assertThrows(RetryLater.class, () -> answers.judgeText(429, "120", "")).after());
        assertEquals(Duration.ofSeconds(20),
                assertThrows(RetryLater.class, () -> answers.judgeText(503, "Sun, 06 Nov 1994 08:49:37 GMT", null)).after());
        assertEquals(Duration.ZERO, assertThrows(RetryLater.class, () -> answers.judgeText(503, "Sat, 05 Nov 1994 08:49:37 GMT", null)).after());
        assertNull(assertThrows(RetryLater.class, () -> answers.judgeText(503, "soon", null)).after());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(ints = {400, 401, 403, 404, 405, 410, 413, 415, 422, 451, 499})
    void anyOtherClientErrorFailsAtOnce(int status) {
        PermanentFailure e = assertThrows(PermanentFailure.class, () -> answers.judgeText(status, "60", "{\"message\":\"Property values were not valid\"}"));
        assertEquals("CRM answered " + status + ": {\"message\":\"Property values were not valid\"}", e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(ints = {300, 301, 302, 303, 307, 308})
    void aRedirectFailsNamingItsStatus(int status) {
        PermanentFailure e = assertThrows(PermanentFailure.class, () -> answers.judgeText(status, null, "Moved"));
        assertTrue(e.getMessage().startsWith("CRM answered " + status + " (a redirect"), e.getMessage());
        assertTrue(e.getMessage().endsWith("crm.url to the address it names): Moved"), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(ints = {0, 100, 199, 600, 999, -1})
    void aStatusHttpDoesNotDefineIsRetried(int status) {
        assertThrows(RetryLater.class, () -> answers.judgeText(status, null, null));
    }

    @Test
    void theErrorHoldsTheFirst200CharactersOnOneLine() {
        String body = "line one\r\nline two\ttab\u0000nul\u001b[31mred\u2028sep\u202eRTL\u0085next" + "x".repeat(500);
        String message = assertThrows(PermanentFailure.class, () -> answers.judgeText(400, null, body)).getMessage();
        String excerpt = message.substring("CRM answered 400: ".length());
        assertEquals(201, excerpt.length(), excerpt);
        assertTrue(excerpt.endsWith("x…"), excerpt);
        assertTrue(excerpt.startsWith("line one  line two tab nul [31mred sep RTL next"), excerpt);
        assertFalse(excerpt.chars().anyMatch(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT), excerpt);

        assertEquals("CRM answered 400", assertThrows(PermanentFailure.class, () -> answers.judgeText(400, null, "")).getMessage());
        assertEquals("CRM answered 400", assertThrows(PermanentFailure.class, () -> answers.judgeText(400, null, " \r\n ")).getMessage());
        assertEquals("CRM answered 404", assertThrows(PermanentFailure.class, () -> answers.judgeText(404, null, null)).getMessage());
        String exactly200 = "y".repeat(200);
        assertEquals("CRM answered 400: " + exactly200, assertThrows(PermanentFailure.class, () -> answers.judgeText(400, null, exactly200)).getMessage());
    }

    @Test
    void theCutNeverSplitsACharacter() {
        String body = "a".repeat(199) + "😀" + "b";
        String excerpt = answers.excerpt(body);
        assertEquals("a".repeat(199) + "…", excerpt);
    }

    @Test
    void secretsAreRedactedBeforeTheCutSoAnEchoedTokenIsCaughtWhole() {
        // the token starts at 186 and ends at 210: cut first, its first 14 characters would stay
        String body = "z".repeat(180) + "token " + TOKEN + " for portal 42 and more";
        String message = assertThrows(PermanentFailure.class, () -> answers.judgeText(401, null, body)).getMessage();
        assertFalse(message.contains("pat-na1"), message);
        assertEquals("CRM answered 401: " + "z".repeat(180) + "token **** for porta…", message);

        String retried = assertThrows(RetryLater.class, () -> answers.judgeText(503, null, "upstream said " + TOKEN)).getMessage();
        assertEquals("CRM answered 503: upstream said ****", retried);
    }

    @Test
    void aHugeAnswerCostsNoMoreThanItsHead() {
        String body = "q".repeat(20_000_000);
        String message = assertThrows(PermanentFailure.class, () -> answers.judgeText(400, null, body)).getMessage();
        assertEquals("CRM answered 400: " + "q".repeat(200) + "…", message);
    }

    @Test
    void retryAfterInDeltaSeconds() {
        assertEquals(Duration.ZERO, CrmAnswers.retryAfter("0", NOW));
        assertEquals(Duration.ofSeconds(120), CrmAnswers.retryAfter(" 120 ", NOW));
        assertEquals(Duration.ofSeconds(999_999_999_999_999_999L), CrmAnswers.retryAfter("999999999999999999", NOW));
        for (String bad : new String[] {null, "", " ", "-5", "+5", "1.5", "1e3", "120s", "0x10", "12 0", "９", "9999999999999999999",
                "Sunday", "tomorrow"}) {
            assertNull(CrmAnswers.retryAfter(bad, NOW), String.valueOf(bad));
        }
    }

    /** RFC 9110 5.6.7: the preferred IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept. */
    @Test
    void retryAfterAsAnHttpDateInAllThreeForms() {
        Duration twenty = Duration.ofSeconds(20);
        assertEquals(twenty, CrmAnswers.retryAfter("Sun, 06 Nov 1994 08:49:37 GMT", NOW));
        assertEquals(twenty, CrmAnswers.retryAfter("Sunday, 06-Nov-94 08:49:37 GMT", NOW));
        assertEquals(twenty, CrmAnswers.retryAfter("Sun Nov  6 08:49:37 1994", NOW));
        assertEquals(twenty, CrmAnswers.retryAfter("Sun Nov 16 08:49:37 1994", NOW).minus(Duration.ofDays(10)));
        assertEquals(Duration.ofDays(365 + 1), CrmAnswers.retryAfter("Tue, 07 Nov 1995 08:49:17 GMT", NOW));
    }

    @Test
    void aDateInThePastWaitsZero() {
        assertEquals(Duration.ZERO, CrmAnswers.retryAfter("Sun, 06 Nov 1994 08:49:16 GMT", NOW));
        assertEquals(Duration.ZERO, CrmAnswers.retryAfter("Sun, 06 Nov 1994 08:49:17 GMT", NOW));
        assertEquals(Duration.ZERO, CrmAnswers.retryAfter("Thu, 01 Jan 1970 00:00:00 GMT", NOW));
    }

    /** A two-digit year more than 50 years ahead is the most recent past year with those digits (RFC 9110 5.6.7). */
    @Test
    void twoDigitYearsOfTheRfc850Form() {
        Instant in2026 = Instant.parse("2026-05-01T00:00:00Z");
        assertEquals(Instant.parse("2026-05-01T00:01:00Z"), in2026.plus(CrmAnswers.retryAfter("Friday, 01-May-26 00:01:00 GMT", in2026)));
        assertEquals(Instant.parse("2076-05-01T00:00:00Z"), in2026.plus(CrmAnswers.retryAfter("Friday, 01-May-76 00:00:00 GMT", in2026)));
        assertEquals(Duration.ZERO, CrmAnswers.retryAfter("Monday, 01-May-77 00:00:00 GMT", in2026), "1977, not 2077");
        Instant in2099 = Instant.parse("2099-12-31T23:00:00Z");
        assertEquals(Instant.parse("2100-01-01T00:00:00Z"), in2099.plus(CrmAnswers.retryAfter("Friday, 01-Jan-00 00:00:00 GMT", in2099)));
    }

    @Test
    void unreadableDatesAreAsIfNotSent() {
        for (String bad : new String[] {"Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 +0000",
                "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
                "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "1994-11-06T08:49:37Z",
                "Sun, 06 Nov 1994 08:49:37 GMT trailing", "Sun, 06 Nov 99999 08:49:37 GMT"}) {
            assertNull(CrmAnswers.retryAfter(bad, NOW), bad);
        }
    }

    @Test
    void retryLaterRefusesANegativeWait() {
        assertThrows(IllegalArgumentException.class, () -> new RetryLater("x", Duration.ofSeconds(-1)));
        assertNull(new RetryLater("x", null).after());
        assertEquals(Duration.ofSeconds(3), new RetryLater("x", Duration.ofSeconds(3)).after());
    }
}
