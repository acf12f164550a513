package io.github.telecmicdr.operations;

import io.github.telecmicdr.delivery.DeliveryQueries;
import io.github.telecmicdr.telecmi.TelecmiNotification;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The service's own metrics, next to Camel's on {@code /observe/metrics}: notifications by kind and
 * outcome, delivery attempts and their duration, and the delivery backlog read from the database
 * (at most once a second, however often it is scraped). While the database cannot be read, the
 * counts read from it are NaN: a dashboard shows a gap, not the last figures as if they were now.
 * The oldest unfinished delivery's age goes on growing from its last known creation time meanwhile
 * (nothing can finish a delivery while the database is away), so an alert on it keeps working.
 *
 * <p>Done deliveries are most of the table (every one kept for retention.max-age), and counting them
 * reads all of them: 0.5 s for 1.8 million on H2. So they are counted again only once the time
 * since their last count is 20 times what that count took (at least a second): at most 5% of the
 * time goes to it, however large the table. The unfinished states are counted from their index at
 * every read.
 *
 * <p>No delivery kind is listed here: a kind gets its gauges the first time it is seen, in the
 * delivery table or in an attempt, so a destination added as a route is measured like the others.
 */
public final class CdrMetrics {

    private static final long SNAPSHOT_MILLIS = 1000;
    /** Done deliveries are counted again once this many times their last count's duration has passed. */
    private static final int DONE_COUNT_SPACING = 20;
    /** The kind label of a notification refused before its kind was read. */
    public static final String UNKNOWN_KIND = "unknown";
    /** The kind label of every kind TeleCMI does not document. */
    public static final String OTHER_KIND = "other";

    private final MeterRegistry registry;
    private final DataSource dataSource;
    private final Clock clock;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Timer> webhookTimers = new ConcurrentHashMap<>();
    private final Set<String> measuredKinds = ConcurrentHashMap.newKeySet();
    private volatile Snapshot snapshot = new Snapshot(0, Map.of(), null, false, false);
    /**
     * Done deliveries by kind as last counted (null: that count failed), when (epoch ms), and how long
     * the count itself took (ms); guarded by this.
     */
    private Map<String, Long> doneCounts;
    private long doneCountedAt;
    private long doneCountMillis;
    private final Counter reconcileRowsSeen;
    private final Counter reconcileRowsStored;
    /** When reconciliation last completed a window, epoch milliseconds (0: never, on this instance). */
    private final AtomicLong reconcileLastSuccess = new AtomicLong();

    /**
     * What was read from the delivery table: "kind/state" → count, and each kind's oldest unfinished
     * delivery's creation (epoch ms; null until the table was read once). When the table could not
     * be read ({@code known} false) the counts are NaN, and the done counts when their own count
     * failed ({@code doneKnown} false).
     */
    private record Snapshot(long takenAt, Map<String, Long> counts, Map<String, Long> oldestPendingCreated, boolean known,
                            boolean doneKnown) {
        double kinds() {
            return known ? counts.keySet().stream().map(CdrMetrics::kindOf).distinct().count() : Double.NaN;
        }

        double count(String kind, String state) {
            return known && (doneKnown || !state.equals("done")) ? counts.getOrDefault(kind + "/" + state, 0L) : Double.NaN;
        }

        Snapshot unknown(long now) {
            return new Snapshot(now, counts, oldestPendingCreated, false, false);
        }
    }

    private static String kindOf(String countKey) {
        return countKey.substring(0, countKey.lastIndexOf('/'));
    }

    public CdrMetrics(MeterRegistry registry, DataSource dataSource, Clock clock) {
        this.registry = registry;
        this.dataSource = dataSource;
        this.clock = clock;
        // read on every scrape, it is what looks at the table for kinds not seen yet: without it a
        // kind only planned (its route not started, or gone) would never get its gauges
        Gauge.builder("cdr_router_delivery_kinds", this, m -> m.current().kinds())
                .description("Delivery kinds present in the delivery table").register(registry);
        // reconciliation's meters exist from the start, at 0, so a dashboard can tell "nothing missed" from "not running"
        reconcileRowsSeen = Counter.builder("cdr_router_reconcile_rows_seen_total")
                .description("Rows read from TeleCMI's pull API by reconciliation").register(registry);
        reconcileRowsStored = Counter.builder("cdr_router_reconcile_rows_stored_total")
                .description("Calls reconciliation stored because their webhook never came").register(registry);
        for (String outcome : List.of("completed", "failed")) {
            reconcileWindows(outcome);
        }
        Gauge.builder("cdr_router_reconcile_last_success_seconds", reconcileLastSuccess, t -> t.get() / 1000.0)
                .description("When reconciliation last completed a window, epoch seconds (0: never)").baseUnit("seconds").register(registry);
    }

    private Counter reconcileWindows(String outcome) {
        return counters.computeIfAbsent("reconcile/" + outcome, k -> Counter.builder("cdr_router_reconcile_windows_total")
                .description("Windows of TeleCMI's pull API worked by reconciliation, by outcome").tag("outcome", outcome).register(registry));
    }

    /** Reconciliation worked a window to its end: completed (at {@code completedAt}) or failed. */
    public void reconcileWindow(String outcome, Instant completedAt) {
        reconcileWindows(outcome).increment();
        if (completedAt != null) {
            reconcileLastSuccess.set(completedAt.toEpochMilli());
        }
    }

    /** Rows of a page of TeleCMI's pull API, read by reconciliation. */
    public void reconcileRowsSeen(int rows) {
        reconcileRowsSeen.increment(rows);
    }

    /** A call reconciliation stored: its webhook never came. */
    public void reconcileRowStored() {
        reconcileRowsStored.increment();
    }

    /**
     * Registers a kind's gauges (each state, backlog, oldest pending age) unless it has them: they
     * read 0 until its first delivery. Called for every kind found in the table and for every
     * attempt; a delivery source may call it when it starts, so its kind shows before any delivery.
     */
    public void measure(String kind) {
        if (kind == null || !measuredKinds.add(kind)) {
            return;
        }
        for (String state : DeliveryQueries.STATES) {
            Gauge.builder("cdr_router_deliveries", this, m -> m.current().count(kind, state))
                    .description("Deliveries by kind and state").tag("kind", kind).tag("state", state).register(registry);
        }
        Gauge.builder("cdr_router_delivery_backlog", this, m -> {
                    Snapshot now = m.current();
                    return now.count(kind, "pending") + now.count(kind, "in_progress");
                })
                .description("Deliveries not finished yet (pending or in progress)").tag("kind", kind).register(registry);
        Gauge.builder("cdr_router_delivery_oldest_pending_age_seconds", this, m -> m.oldestPendingAge(kind))
                .description("Age of the oldest unfinished delivery").tag("kind", kind).baseUnit("seconds").register(registry);
    }

    /**
     * A webhook answered: stored, duplicate, or rejected with a reason. The kind label is one of the
     * documented kinds, "unknown" (refused before a kind was read) or "other": senders choose the
     * kind, and each value of a label is a series kept for good.
     */
    public void notification(String kind, String outcome, String reason) {
        String label = label(kind);
        String key = label + "/" + outcome + "/" + reason;
        counters.computeIfAbsent(key, k -> Counter.builder("cdr_router_notifications_total")
                .description("Webhook deliveries by notification kind and outcome")
                .tag("kind", label).tag("outcome", outcome).tag("reason", reason).register(registry)).increment();
    }

    /**
     * A webhook answered 200, stored or duplicate: counted, and timed from its request to its answer
     * (what Camel's per-route timers told, which are off by default: application.properties).
     */
    public void answered(String kind, String outcome, long millis) {
        notification(kind, outcome, "none");
        String label = label(kind);
        webhookTimers.computeIfAbsent(label + "/" + outcome, k -> Timer.builder("cdr_router_webhook_duration_seconds")
                .description("Time from a webhook request to its answer, stored or duplicate")
                .tag("kind", label).tag("outcome", outcome).register(registry)).record(millis, TimeUnit.MILLISECONDS);
    }

    /** Webhook requests waiting for their commit now (deliveries yield to them above delivery.yield-to-webhooks-above). */
    public void webhooksWaiting(java.util.function.IntSupplier waiting) {
        Gauge.builder("cdr_router_webhooks_waiting_for_commit", waiting, w -> w.getAsInt())
                .description("Webhook requests waiting for their commit").strongReference(true).register(registry);
    }

    private static String label(String kind) {
        return TelecmiNotification.DOCUMENTED_KINDS.contains(kind) || UNKNOWN_KIND.equals(kind) ? kind : OTHER_KIND;
    }

    /** One delivery attempt ended: done, retry or failed. */
    public void deliveryAttempt(String kind, String outcome, Duration took) {
        measure(kind);
        Timer.builder("cdr_router_delivery_duration_seconds").description("Time of delivery attempts, from claim to outcome")
                .tag("kind", kind).tag("outcome", outcome).register(registry).record(took);
    }

    /**
     * The age of the kind's oldest unfinished delivery now, from its creation as last read: it grows
     * while the database is away too. NaN until the table was read once.
     */
    private double oldestPendingAge(String kind) {
        Snapshot s = current();
        if (s.oldestPendingCreated() == null) {
            return Double.NaN;
        }
        Long created = s.oldestPendingCreated().get(kind);
        return created == null ? 0.0 : Math.max(0, clock.millis() - created) / 1000.0;
    }

    /** Whether a time {@code interval} ms after {@code since} has come; a clock set back makes it come. */
    private static boolean due(long now, long since, long interval) {
        return now - since >= interval || now < since;
    }

    private Snapshot current() {
        Snapshot s = snapshot;
        long now = clock.millis();
        if (!due(now, s.takenAt(), SNAPSHOT_MILLIS)) {
            return s;
        }
        synchronized (this) {
            if (!due(now, snapshot.takenAt(), SNAPSHOT_MILLIS)) {
                return snapshot;
            }
            try {
                snapshot = read(now);
                // after the snapshot is in place: a new kind's gauges read it, not the database again
                snapshot.counts().keySet().forEach(k -> measure(kindOf(k)));
            } catch (SQLException e) {
                // the database is away: no counts (NaN) rather than the last ones; the health check says why
                snapshot = snapshot.unknown(now);
            }
            return snapshot;
        }
    }

    private Snapshot read(long now) throws SQLException {
        Map<String, Long> counts = new HashMap<>();
        Map<String, Long> oldest = new HashMap<>();
        try (Connection c = dataSource.getConnection()) {
            if (due(now, doneCountedAt, Math.max(SNAPSHOT_MILLIS, DONE_COUNT_SPACING * doneCountMillis))) {
                countDone(c, now);
            }
            if (doneCounts != null) {
                doneCounts.forEach((kind, n) -> counts.put(kind + "/done", n));
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT kind, state, COUNT(*) FROM delivery"
                    + " WHERE state IN ('pending', 'in_progress', 'failed') GROUP BY kind, state");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    counts.put(rs.getString(1) + "/" + rs.getString(2), rs.getLong(3));
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT kind, MIN(created_at) FROM delivery"
                    + " WHERE state IN ('pending', 'in_progress') GROUP BY kind");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    oldest.put(rs.getString(1), rs.getObject(2, OffsetDateTime.class).toInstant().toEpochMilli());
                }
            }
        }
        return new Snapshot(now, counts, oldest, true, doneCounts != null);
    }

    /**
     * Counts the done deliveries by kind, timing the count alone. A count that fails (a statement
     * timeout shorter than it takes, say) leaves them unknown (NaN) until the next one, which waits
     * as long as after a count that took as long: the other figures are read meanwhile.
     */
    private void countDone(Connection c, long now) {
        long started = System.nanoTime();
        Map<String, Long> done = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT kind, COUNT(*) FROM delivery WHERE state = 'done' GROUP BY kind");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                done.put(rs.getString(1), rs.getLong(2));
            }
            doneCounts = done;
        } catch (SQLException e) {
            doneCounts = null;
        }
        doneCountedAt = now;
        doneCountMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    }
}
