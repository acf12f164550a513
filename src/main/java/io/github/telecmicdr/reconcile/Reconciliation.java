package io.github.telecmicdr.reconcile;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.telecmicdr.Problem;
import io.github.telecmicdr.api.QueryParameters;
import io.github.telecmicdr.delivery.DeliveryProducer;
import io.github.telecmicdr.operations.CdrMetrics;
import io.github.telecmicdr.store.LeaseOwner;
import io.github.telecmicdr.store.StoreReceipt;
import org.apache.camel.Body;
import org.apache.camel.Exchange;
import org.apache.camel.Header;
import org.apache.camel.Message;
import org.apache.camel.Variable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * What routes/telecmi-reconcile.camel.yaml cannot say: which window of calls to ask TeleCMI's pull
 * API for next, and what its answers mean. The route asks, pages and stores; this bean claims the
 * window (one instance at a time, {@link ReconcileWindows}), writes each page's request, reads each
 * answer by its body as well as its status (TeleCMI answers 200 with {@code {"code":407,...}}),
 * and records the outcome: a completed window moves the account forward; a failed one is asked
 * again from the same start after a backoff; refused credentials stop reconciliation on this
 * instance (ingest goes on; the health check and GET /api/reconcile say why).
 *
 * <p>The secret is only ever in the body of the request to TeleCMI: never in a URI, a log line, a
 * stored error or an answer of ours.
 */
public final class Reconciliation {

    private static final Logger LOG = LoggerFactory.getLogger(Reconciliation.class);

    /** The variable holding the {@link PullWindow} being worked (absent when none is due). */
    public static final String WINDOW = "reconcileWindow";
    /** The variable the route's paging loop runs on. */
    public static final String MORE_PAGES = "morePages";
    /** Retries wait 1, 2, 4, then 8 intervals at most. */
    private static final int MAX_BACKOFF_DOUBLINGS = 3;
    private static final int MAX_ERROR = 1000;
    private static final int MAX_TELECMI_MESSAGE = 200;

    /** Every duration as parsed from its setting; {@code historyKept} zero keeps every window's row. */
    public record Settings(String appid, String secret, Duration interval, Duration overlap, Duration delay, Duration initialLookback,
                           int pageSize, Duration lease, Duration historyKept) {
    }

    /** TeleCMI refused the credentials: asking again cannot help until they are corrected. */
    static final class CredentialsRefused extends RuntimeException {
        CredentialsRefused(String message) {
            super(message, null, false, false);
        }
    }

    /** TeleCMI did not answer the page (an error status, an error body, something unreadable): asked again later. */
    static final class PageNotRead extends RuntimeException {
        PageNotRead(String message) {
            super(message, null, false, false);
        }
    }

    private final ReconcileWindows windows;
    private final ObjectMapper mapper;
    private final Clock clock;
    private final CdrMetrics metrics;
    private final Settings settings;
    private final UnaryOperator<String> redact;
    /** Why reconciliation is off by configuration; null when it runs. */
    private final String off;
    /** Why reconciliation stopped on this instance (TeleCMI refused the credentials); null while it runs. */
    private volatile String stopped;
    private volatile String lastError;
    private volatile Instant lastSuccess;

    /** @param redact takes every secret the service knows out of a text (an error kept or logged) */
    public Reconciliation(DataSource dataSource, ObjectMapper mapper, Clock clock, CdrMetrics metrics, Settings settings,
                          UnaryOperator<String> redact) {
        this.windows = new ReconcileWindows(dataSource, LeaseOwner.next());
        this.mapper = mapper;
        this.clock = clock;
        this.metrics = metrics;
        this.settings = settings;
        this.redact = redact;
        this.off = whyOff(settings);
        if (settings.pageSize() < 1) {
            throw new IllegalArgumentException("reconcile.page-size must be at least 1, not " + settings.pageSize());
        }
        if (off == null && settings.initialLookback().compareTo(settings.delay()) <= 0) {
            // the first window would end (now less the delay) before it starts: reconciliation would never begin
            throw new IllegalArgumentException("reconcile.initial-lookback (" + written(settings.initialLookback())
                    + ") must be longer than reconcile.delay (" + written(settings.delay()) + "): the first window ends the delay before now");
        }
        if (off != null) {
            LOG.info("Reconciliation with TeleCMI's pull API is off: {}", off);
        } else {
            LOG.info("Reconciling with TeleCMI's pull API every {} (each window reaches back {} before the last one's end and ends {}"
                    + " before now; the first looks back {}): calls whose webhook never came are stored and fanned out",
                    written(settings.interval()), written(settings.overlap()), written(settings.delay()), written(settings.initialLookback()));
        }
    }

    private static String whyOff(Settings s) {
        if (s.interval().isZero()) {
            return "reconcile.interval is 0";
        }
        if (blank(s.appid()) || blank(s.secret())) {
            return "telecmi.appid and telecmi.secret are not both set";
        }
        return null;
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    /**
     * The first step of each round: claims the next window when it is due and no other instance
     * works one. Sets {@value #WINDOW} (absent when there is nothing to do) and {@value #MORE_PAGES}.
     */
    public void claimWindow(Exchange exchange) throws SQLException {
        exchange.removeVariable(WINDOW);
        exchange.setVariable(MORE_PAGES, false);
        if (off != null || stopped != null) {
            return;
        }
        Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
        ReconcileWindows.State state = windows.claim(settings.appid(), now, now.plus(settings.lease()));
        if (state == null) {
            return;
        }
        Instant completed = state.completedUntil();
        // a failed window is asked for again from its own start (the first one's included, which
        // would otherwise move with now); late records land before the end of the last window, so
        // each window reaches back by the overlap
        Instant start = state.retryFrom() != null ? state.retryFrom()
                : completed == null ? now.minus(settings.initialLookback()) : completed.minus(settings.overlap());
        Instant end = now.minus(settings.delay());
        if (!end.isAfter(start) || (completed != null && !end.isAfter(completed))) {
            // nothing new to ask for yet
            windows.release(settings.appid(), null);
            return;
        }
        long id = windows.open(settings.appid(), start, end, now);
        exchange.setVariable(WINDOW, new PullWindow(id, start, end, now, state.failures()));
        exchange.setVariable(MORE_PAGES, true);
    }

    /** The JSON body asking for the window's next page; the only place the secret goes. */
    public String pageRequest(@Variable(WINDOW) PullWindow window) throws JsonProcessingException {
        ObjectNode body = mapper.createObjectNode();
        // TeleCMI documents appid as a number
        if (settings.appid().matches("\\d{1,18}")) {
            body.put("appid", Long.parseLong(settings.appid()));
        } else {
            body.put("appid", settings.appid());
        }
        body.put("secret", settings.secret());
        body.put("start_date", window.start().toEpochMilli());
        body.put("end_date", window.end().toEpochMilli());
        body.put("page", window.page());
        body.put("limit", settings.pageSize());
        return mapper.writeValueAsString(body);
    }

    /**
     * Reads TeleCMI's answer to a page: the rows, each as its own JSON text, become the body, and
     * {@value #MORE_PAGES} says whether to ask for the next page (this one was full, or
     * TeleCMI's count says more rows remain). An answer that is not a page throws: refused
     * credentials ({@link CredentialsRefused}) or anything else ({@link PageNotRead}).
     */
    public void readPage(Exchange exchange) {
        Message message = exchange.getMessage();
        PullWindow window = exchange.getVariable(WINDOW, PullWindow.class);
        Integer status = message.getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        JsonNode answer = json(message.getBody(String.class));
        int code = answer == null ? 0 : number(answer.path("code"));
        String said = answer == null ? "" : telecmiMessage(answer);
        if (code == 407 || (status != null && (status == 401 || status == 403))) {
            throw new CredentialsRefused("TeleCMI refused telecmi.appid and telecmi.secret ("
                    + (code == 407 ? "code 407" : "HTTP " + status) + said + ")");
        }
        if (status == null || status != 200) {
            throw new PageNotRead("TeleCMI answered page " + window.page() + " with HTTP " + status + (code != 0 ? ", code " + code : "") + said);
        }
        if (answer == null) {
            throw new PageNotRead("TeleCMI answered page " + window.page() + " with HTTP 200 and a body that is not JSON");
        }
        if (answer.path("error").asBoolean(false) || (code != 0 && code != 200)) {
            throw new PageNotRead("TeleCMI answered page " + window.page() + " with code " + code + said);
        }
        JsonNode cdr = answer.get("cdr");
        if (cdr == null || !cdr.isArray()) {
            throw new PageNotRead("TeleCMI's answer to page " + window.page() + " holds no cdr list");
        }
        List<String> rows = new ArrayList<>(cdr.size());
        for (JsonNode row : cdr) {
            rows.add(text(row));
        }
        int page = window.page();
        if (!window.pageRead(rows.size(), rows.isEmpty() ? null : rows.get(0))) {
            throw new PageNotRead("TeleCMI answered page " + page + " with the rows of page " + (page - 1)
                    + ": it does not page, so the window cannot be read to its end");
        }
        metrics.reconcileRowsSeen(rows.size());
        long count = number(answer.path("count"));
        boolean more = rows.size() >= settings.pageSize() || (!rows.isEmpty() && count > window.rowsSeen());
        exchange.setVariable(MORE_PAGES, more);
        // TeleCMI's answer headers are not ours to pass on, nor to steer the next request
        message.removeHeaders("*");
        message.setBody(rows);
    }

    /** After each row's store: a call the webhook never brought is logged, once, by its cmiuuid. */
    public void rowStored(@Body StoreReceipt receipt, @Variable(WINDOW) PullWindow window,
                          @Variable(DeliveryProducer.PLANNED) List<String> planned) {
        if (StoreReceipt.STORED.equals(receipt.status())) {
            window.stored();
            metrics.reconcileRowStored();
            LOG.info("Recovered cmiuuid={} kind={} from TeleCMI's pull API (its webhook never came): stored, deliveries planned: {}",
                    receipt.cmiuuid(), receipt.kind(), planned == null ? List.of() : planned);
        }
    }

    /** A row the parser refused: counted and logged (what was wrong, never the row), and the window goes on. */
    public void rowRefused(Exchange exchange) {
        PullWindow window = exchange.getVariable(WINDOW, PullWindow.class);
        Problem problem = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Problem.class);
        window.refused();
        LOG.warn("Reconciliation of {}: a row of page {} was refused and not stored (field {}): {}", window, window.page() - 1,
                problem == null ? null : problem.field(), problem == null ? "unknown" : oneLine(problem.detail()));
    }

    /** After each page: the lease is kept for the next one, unless it passed to another instance. */
    public void pageDone(@Variable(WINDOW) PullWindow window) throws SQLException {
        if (!windows.renew(settings.appid(), clock.instant().plus(settings.lease()))) {
            throw new PageNotRead("the lease passed to another instance (a page took longer than reconcile.lease)");
        }
    }

    /** The last page was read and every row stored: the account moves on to the window's end. */
    public void windowCompleted(@Variable(WINDOW) PullWindow window) throws SQLException {
        Instant now = clock.instant();
        // due again an interval after this one began, less a little for the tick that claimed it to
        // have come late: with several instances ticking at different moments, windows still come
        // about once an interval (half an interval let three instances ask six to eight times an hour)
        boolean held = windows.complete(settings.appid(), window, now, window.claimedAt().plus(settings.interval()).minus(slack()));
        if (!held) {
            LOG.warn("Reconciliation of {}: the lease passed to another instance before the end; that instance asks again", window);
            return;
        }
        metrics.reconcileWindow("completed", now);
        lastSuccess = now;
        lastError = null;
        // a window that found nothing missing is the usual case: GET /api/reconcile and the metrics show it
        if (window.rowsStored() > 0 || window.rowsRefused() > 0) {
            LOG.info("Reconciled {} with TeleCMI's pull API: {} pages, {} rows, {} recovered, {} refused", window, window.pagesRead(),
                    window.rowsSeen(), window.rowsStored(), window.rowsRefused());
        } else {
            LOG.debug("Reconciled {} with TeleCMI's pull API: {} pages, {} rows, nothing missing", window, window.pagesRead(), window.rowsSeen());
        }
        if (!settings.historyKept().isZero()) {
            try {
                windows.forgetBefore(now.minus(settings.historyKept()));
            } catch (SQLException | RuntimeException e) {
                // the window is complete: only old history stays a round longer
                LOG.warn("Reconciliation: old windows could not be forgotten (tried again after the next window): {}", describe(e));
            }
        }
    }

    /**
     * The round failed (TeleCMI, the database, the lease): the window is asked for again from the
     * same start after a backoff, or, when TeleCMI refused the credentials, reconciliation stops
     * on this instance.
     */
    public void windowFailed(Exchange exchange) {
        Throwable failure = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        PullWindow window = exchange.getVariable(WINDOW, PullWindow.class);
        String error = describe(failure);
        lastError = error;
        if (failure instanceof CredentialsRefused) {
            stopped = error + ": reconciliation stopped; correct them and restart the service";
            LOG.error("Reconciliation with TeleCMI's pull API stopped: {}", stopped);
        }
        if (window == null) {
            LOG.warn("Reconciliation could not start a window (tried again in {}): {}", written(settings.interval()), error);
            return;
        }
        int failures = window.failuresBefore() + 1;
        Duration backoff = backoff(failures);
        try {
            windows.fail(settings.appid(), window, clock.instant(), failures, window.claimedAt().plus(backoff), error);
        } catch (SQLException | RuntimeException e) {
            // the lease expires by itself; the window is asked for again then
            LOG.warn("Reconciliation of {}: the failure could not be recorded: {}", window, describe(e));
        }
        metrics.reconcileWindow("failed", null);
        if (stopped == null) {
            LOG.warn("Reconciliation of {} failed ({} in a row), asked for again from the same start in about {}: {}", window, failures,
                    written(backoff.plus(slack())), error);
        }
    }

    /** 1, 2, 4, then 8 intervals after the failed window began (less the slack a tick may come late by). */
    Duration backoff(int failures) {
        long intervals = 1L << Math.min(failures - 1, MAX_BACKOFF_DOUBLINGS);
        return settings.interval().multipliedBy(intervals).minus(slack());
    }

    /** How late, after the moment it is due, the tick that claims a window may come: a quarter interval, at most 30 s. */
    Duration slack() {
        Duration quarter = settings.interval().dividedBy(4);
        return quarter.compareTo(MAX_SLACK) > 0 ? MAX_SLACK : quarter;
    }

    private static final Duration MAX_SLACK = Duration.ofSeconds(30);

    /** GET /api/reconcile: whether reconciliation runs, how far it has come, and its last windows ({@code limit}, default 20). */
    public ObjectNode status(@Header("limit") String limit) throws SQLException {
        int most = (int) QueryParameters.positive("limit", limit, 500, 20);
        ObjectNode answer = mapper.createObjectNode();
        answer.put("state", state());
        answer.put("reason", off != null ? off : stopped);
        answer.put("interval", written(settings.interval()));
        answer.put("appid", blank(settings.appid()) ? null : settings.appid());
        ReconcileWindows.Stored stored = blank(settings.appid()) ? null : windows.stored(settings.appid());
        answer.put("completed_until", iso(stored == null ? null : stored.completedUntil()));
        answer.put("next_attempt_at", iso(stored == null ? null : stored.nextAttemptAt()));
        answer.put("failures", stored == null ? 0 : stored.failures());
        answer.put("last_error", stored == null ? null : stored.lastError());
        answer.put("working", stored == null ? null : stored.leaseOwner());
        // which instance answered: windows name the instance that worked them
        answer.put("instance", windows.owner());
        ArrayNode items = answer.putArray("windows");
        for (ReconcileWindows.Window w : blank(settings.appid()) ? List.<ReconcileWindows.Window>of() : windows.latest(settings.appid(), most)) {
            ObjectNode item = items.addObject();
            item.put("id", w.id());
            item.put("start", iso(w.start()));
            item.put("end", iso(w.end()));
            item.put("outcome", w.outcome());
            item.put("pages", w.pages());
            item.put("rows_seen", w.rowsSeen());
            item.put("rows_stored", w.rowsStored());
            item.put("rows_refused", w.rowsRefused());
            item.put("started_at", iso(w.startedAt()));
            item.put("finished_at", iso(w.finishedAt()));
            item.put("instance", w.instance());
            item.put("error", w.error());
        }
        return answer;
    }

    /** For the health check: never DOWN (webhooks are still taken), but says when reconciliation is off or stopped, and why. */
    public Map<String, Object> health() {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("state", state());
        if (off != null || stopped != null) {
            details.put("reason", off != null ? off : stopped);
        }
        if (lastSuccess != null) {
            details.put("last_success", lastSuccess.toString());
        }
        if (lastError != null) {
            details.put("last_error", lastError);
        }
        return details;
    }

    private String state() {
        return off != null ? "off" : stopped != null ? "stopped" : "on";
    }

    private JsonNode json(String body) {
        if (body == null || body.isBlank()) {
            return null;
        }
        try {
            return mapper.readTree(body);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private String text(JsonNode row) {
        try {
            return mapper.writeValueAsString(row);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree read from JSON is always JSON", e);
        }
    }

    /** A number TeleCMI may write as a number or as text; 0 when it is neither. */
    private static int number(JsonNode node) {
        if (node.canConvertToInt()) {
            return node.asInt();
        }
        try {
            return node.isTextual() ? Integer.parseInt(node.asText().trim()) : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** TeleCMI's own words ({@code msg}), short, on one line and without any secret. */
    private String telecmiMessage(JsonNode answer) {
        JsonNode msg = answer.get("msg");
        if (msg == null || !msg.isValueNode()) {
            return "";
        }
        String text = oneLine(redact.apply(msg.asText()));
        return ": " + (text.length() > MAX_TELECMI_MESSAGE ? text.substring(0, MAX_TELECMI_MESSAGE) + "…" : text);
    }

    private String describe(Throwable t) {
        if (t == null) {
            return "unknown error";
        }
        String message = t instanceof CredentialsRefused || t instanceof PageNotRead ? t.getMessage()
                : t.getClass().getSimpleName() + ": " + (t.getMessage() == null && t.getCause() != null ? t.getCause() : t.getMessage());
        String text = oneLine(redact.apply(message));
        return text.length() <= MAX_ERROR ? text : text.substring(0, MAX_ERROR - 1) + "…";
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("[\\p{Cntrl}\\u2028\\u2029]+", " ");
    }

    /** A duration as settings write it: 15m, 1h30m, 0.5s. */
    static String written(Duration d) {
        return d.isZero() ? "0" : d.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
    }

    private static String iso(Instant t) {
        return t == null ? null : t.toString();
    }
}
