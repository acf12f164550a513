package io.github.telecmicdr.delivery;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.telecmicdr.Problem;
import io.github.telecmicdr.operations.CdrMetrics;
import io.github.telecmicdr.store.Database;
import io.github.telecmicdr.store.GroupCommit;
import io.github.telecmicdr.store.LeaseOwner;
import org.apache.camel.Exchange;
import org.apache.camel.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * The lifecycle of every follow-up: planned with the CDR, claimed by one atomic conditional update
 * (so two instances on one database never run the same delivery), leased, then done or failed
 * after its retries. A lease left by a crashed instance expires and the delivery is claimed again.
 */
public final class Deliveries {

    private static final Logger LOG = LoggerFactory.getLogger(Deliveries.class);
    public static final String PENDING = "pending";
    public static final String IN_PROGRESS = "in_progress";
    public static final String DONE = "done";
    public static final String FAILED = "failed";
    private static final int MAX_ERROR = 1000;

    /** Leases left behind by a crashed worker; parameters: kind, now, how many. */
    static final String LEASE_EXPIRED = "SELECT id, cmiuuid, kind, attempts, created_at, notification_id FROM delivery WHERE kind = ? AND state = 'in_progress'"
            + " AND lease_until < ? ORDER BY kind, state, next_attempt_at FETCH FIRST ? ROWS ONLY";
    /** Pending deliveries that are due, oldest first; parameters: kind, now, how many. */
    static final String PENDING_DUE = "SELECT id, cmiuuid, kind, attempts, created_at, notification_id FROM delivery WHERE kind = ? AND state = 'pending'"
            + " AND next_attempt_at <= ? ORDER BY kind, state, next_attempt_at FETCH FIRST ? ROWS ONLY";
    private static final String CLAIMABLE = "kind = ? AND next_attempt_at <= ? AND (state = 'pending' OR (state = 'in_progress' AND lease_until < ?))";

    private final DataSource dataSource;
    private final ObjectMapper mapper;
    private final Clock clock;
    private final Settings settings;
    private final CdrMetrics metrics;
    private final Redaction redaction;
    private final GroupCommit<Delivery, Boolean> completions;
    private final BooleanSupplier stopping;
    private final String owner = LeaseOwner.next();

    /** How deliveries are retried; see the delivery.* keys of application.properties. */
    public record Settings(int maxAttempts, Duration maxAge, Duration lease, Duration backoffInitial, Duration backoffMax, int batchSize,
                           Duration commitWaitBound) {
    }

    /** How long deliveries keep yielding after webhooks were last seen queuing. */
    static final Duration YIELD_HOLD = Duration.ofMillis(250);
    private volatile IntSupplier waitingWebhooks = () -> 0;
    private volatile int yieldAbove = Integer.MAX_VALUE;
    private volatile long lastQueued = System.nanoTime() - YIELD_HOLD.toNanos();
    private long yieldAtMostNanos = Long.MAX_VALUE;
    private boolean yielding;
    private boolean yieldedLongEnough;
    private long yieldingSince;
    /** At most one "yield" line this often; a "no longer" line only after a yield this long. */
    static final Duration YIELD_LINE_EVERY = Duration.ofMinutes(1);
    static final Duration YIELD_LOGGED = Duration.ofSeconds(1);
    private long lastStartLogged = System.nanoTime() - YIELD_LINE_EVERY.toNanos();
    private int startsNotLogged;

    /** @param stopping true once the service is stopping: from then on nothing more is claimed */
    public Deliveries(DataSource dataSource, ObjectMapper mapper, Clock clock, Settings settings, CdrMetrics metrics, Collection<String> secrets,
                      BooleanSupplier stopping) {
        this.dataSource = dataSource;
        this.stopping = stopping;
        this.mapper = mapper;
        this.clock = clock;
        this.settings = settings;
        this.metrics = metrics;
        this.completions = new GroupCommit<>("delivery-completions", dataSource, 256, settings.commitWaitBound(),
                new GroupCommit.BatchWrite<>() {
                    @Override
                    public Object[] write(Connection c, List<Delivery> done) throws SQLException {
                        return markDone(c, done);
                    }

                    @Override
                    public Object[] writeIsolated(Connection c, List<Delivery> done, SQLException failure) throws SQLException {
                        return markDoneOneByOne(c, done, failure);
                    }
                });
        this.redaction = new Redaction(secrets);
    }

    /**
     * While more than {@code above} webhook requests wait for their commit ({@code waiting}), and
     * for {@link #YIELD_HOLD} after, each delivery kind works one delivery at a time
     * ({@code delivery.yield-to-webhooks-above}): the acknowledgements get the CPU. The hold keeps a
     * burst from letting every worker in between two commits, when the queue is briefly short. For
     * {@code atMost} at a time: a queue that lasts longer is the service's steady state, not a
     * burst, and deliveries then share the CPU again until it is gone.
     */
    public void yieldWhile(IntSupplier waiting, int above, Duration atMost) {
        this.waitingWebhooks = waiting;
        this.yieldAbove = above;
        this.yieldAtMostNanos = atMost.toNanos();
    }

    /** True while deliveries yield to webhooks queuing for the database; see {@link #yieldWhile}. */
    public synchronized boolean webhooksQueuing() {
        long now = System.nanoTime();
        int waiting = waitingWebhooks.getAsInt();
        if (waiting > yieldAbove) {
            lastQueued = now;
        } else if (now - lastQueued >= YIELD_HOLD.toNanos()) {
            // the queue is gone
            if (yielding && now - yieldingSince >= YIELD_LOGGED.toNanos()) {
                LOG.info("Deliveries no longer yield to webhooks, after {} ms", TimeUnit.NANOSECONDS.toMillis(now - yieldingSince));
            }
            yielding = false;
            yieldedLongEnough = false;
            return false;
        }
        if (yieldedLongEnough) {
            return false;
        }
        if (!yielding) {
            yielding = true;
            yieldingSince = now;
            // a load that hovers about the threshold starts and stops yielding every second or so:
            // one line a minute says so, the gauge cdr_router_webhooks_waiting_for_commit shows it all
            if (now - lastStartLogged >= YIELD_LINE_EVERY.toNanos()) {
                LOG.info("Deliveries yield to webhooks: {} requests wait for their commit (delivery.yield-to-webhooks-above {});"
                        + " one delivery of each kind at a time until they are answered{}", waiting, yieldAbove,
                        startsNotLogged == 0 ? "" : " (" + startsNotLogged + " more times since the last such line)");
                lastStartLogged = now;
                startsNotLogged = 0;
            } else {
                startsNotLogged++;
            }
        } else if (now - yieldingSince > yieldAtMostNanos) {
            yielding = false;
            yieldedLongEnough = true;
            LOG.warn("Deliveries stop yielding to webhooks after {} ms (delivery.yield-max): webhooks have queued that long,"
                    + " so deliveries share the CPU with them again until the queue is gone", TimeUnit.NANOSECONDS.toMillis(now - yieldingSince));
            return false;
        }
        return true;
    }

    /** The statement that plans deliveries; {@link #plan} adds to its batch. */
    public PreparedStatement planStatement(Connection c) throws SQLException {
        // the notification's id from its unique key: no generated keys to fetch from the batch insert
        return c.prepareStatement("INSERT INTO delivery (notification_id, cmiuuid, kind, state, attempts, next_attempt_at, created_at)"
                + " SELECT id, cmiuuid, ?, 'pending', 0, ?, ? FROM notification WHERE cmiuuid = ? AND kind = ?");
    }

    /**
     * Adds a notification's deliveries to the batch of {@code plan}, a statement of
     * {@link #planStatement} executed inside the transaction that stores the notification (after
     * its row): they commit with it, or not at all.
     */
    public void plan(PreparedStatement plan, String notificationKind, String cmiuuid, Collection<String> kinds) throws SQLException {
        OffsetDateTime now = now();
        for (String kind : kinds) {
            plan.setString(1, kind);
            plan.setObject(2, now);
            plan.setObject(3, now);
            plan.setString(4, cmiuuid);
            plan.setString(5, notificationKind);
            plan.addBatch();
        }
    }

    /**
     * Claims up to {@code limit} (at most batch-size) due deliveries of a kind for this instance,
     * each one only once, in one transaction: the claims are durable before any work starts. Nothing
     * once the service is stopping: the deliveries in hand finish, and no more are leased for the
     * shutdown timeout to cut off.
     */
    public List<Delivery> claim(String kind, int limit) throws SQLException {
        if (stopping.getAsBoolean() || limit <= 0) {
            return List.of();
        }
        OffsetDateTime now = now();
        OffsetDateTime leaseUntil = now.plus(settings.lease());
        List<Delivery> claimed = new ArrayList<>();
        int most = Math.min(limit, settings.batchSize());
        Database.inTransaction(dataSource, c -> {
            claimDue(c, kind, most, now, leaseUntil, claimed);
            return null;
        });
        return claimed;
    }

    private void claimDue(Connection c, String kind, int limit, OffsetDateTime now, OffsetDateTime leaseUntil, List<Delivery> claimed)
            throws SQLException {
        List<Delivery> due = new ArrayList<>();
        // two index range scans on (kind, state, next_attempt_at): leases a crashed worker left behind
        // first, then pending deliveries in due order; one query with an OR would read every done
        // delivery too. ORDER BY names all three index columns: H2 then reads the index in order and
        // stops after batch-size rows; ordering by next_attempt_at alone made it read and sort the
        // whole backlog on every claim (21% of the CPU under load)
        selectDue(c, LEASE_EXPIRED, kind, limit, now, due);
        if (due.size() < limit) {
            selectDue(c, PENDING_DUE, kind, limit, now, due);
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE delivery SET state = 'in_progress', lease_owner = ?, lease_until = ?,"
                + " attempts = attempts + 1 WHERE id = ? AND " + CLAIMABLE)) {
            for (Delivery d : due) {
                ps.setString(1, owner);
                ps.setObject(2, leaseUntil);
                ps.setLong(3, d.id());
                ps.setString(4, kind);
                ps.setObject(5, now);
                ps.setObject(6, now);
                ps.addBatch();
            }
            int[] counts = due.isEmpty() ? new int[0] : ps.executeBatch();
            for (int i = 0; i < counts.length; i++) {
                // the conditional update is the claim: another instance that read the same row gets 0 here
                if (counts[i] == 1) {
                    Delivery d = due.get(i);
                    claimed.add(new Delivery(d.id(), d.notificationId(), null, d.cmiuuid(), d.kind(), d.attempts() + 1, d.createdAt(),
                            d.claimedAt()));
                }
            }
        }
    }

    private void selectDue(Connection c, String sql, String kind, int limit, OffsetDateTime now, List<Delivery> due) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, kind);
            ps.setObject(2, now);
            ps.setInt(3, limit - due.size());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    due.add(new Delivery(rs.getLong(1), rs.getLong(6), null, rs.getString(2), rs.getString(3), rs.getInt(4),
                            rs.getObject(5, OffsetDateTime.class).toInstant(), now.toInstant()));
                }
            }
        }
    }

    /**
     * Marks the delivery done; returns once that is committed (completions share commits).
     *
     * @param delivery the route's variable delivery: the one claimed, whatever the steps left in the body
     */
    public void complete(Delivery delivery) throws SQLException {
        boolean ours = completions.submit(delivery);
        if (ours) {
            metrics.deliveryAttempt(delivery.kind(), DONE, took(delivery));
            LOG.info("Delivery {} {} for cmiuuid {} done (attempt {})", delivery.id(), delivery.kind(), delivery.cmiuuid(), delivery.attempts());
        } else {
            LOG.warn("Delivery {} {} for cmiuuid {} attempt {} finished after its lease passed to a later claim", delivery.id(), delivery.kind(),
                    delivery.cmiuuid(), delivery.attempts());
        }
    }

    /**
     * The attempt still holds its lease: this instance's, from this very claim (its lease's end, set
     * at the claim: a later claim of the delivery sets a later one). An attempt that outran its lease
     * may have been claimed again, by this instance too, and after a retry through the API even with
     * the same attempt number; its outcome then no longer counts, the later claim's does.
     */
    private static final String HELD = "id = ? AND state = 'in_progress' AND lease_owner = ? AND lease_until = ?";
    private static final String MARK_DONE = "UPDATE delivery SET state = 'done', completed_at = ?, lease_owner = NULL,"
            + " lease_until = NULL, last_error = NULL WHERE " + HELD;

    /** One UPDATE per delivery in one JDBC batch; true where this instance still held the lease. */
    private Object[] markDone(Connection c, List<Delivery> done) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(MARK_DONE)) {
            OffsetDateTime now = now();
            for (Delivery d : done) {
                bindDone(ps, d, now);
                ps.addBatch();
            }
            int[] counts = ps.executeBatch();
            Object[] ours = new Object[done.size()];
            for (int i = 0; i < counts.length; i++) {
                ours[i] = counts[i] == 1;
            }
            return ours;
        }
    }

    /**
     * After the batch failed (on H2 a row another transaction held past the lock timeout; on
     * PostgreSQL a deadlock, or a lock_timeout if one is set): each delivery again, under a savepoint
     * of its own, so only the one that fails is redone after its lease and the rest of the batch is
     * recorded done (an alert is not sent again for a neighbour's lock). When the batch says which
     * row failed, that row fails at once with the batch's exception instead of waiting for the same
     * lock a second time ({@link #failedRow}).
     */
    private Object[] markDoneOneByOne(Connection c, List<Delivery> done, SQLException failure) throws SQLException {
        Object[] ours = new Object[done.size()];
        int failed = failedRow(failure, done.size());
        try (PreparedStatement ps = c.prepareStatement(MARK_DONE)) {
            OffsetDateTime now = now();
            for (int i = 0; i < done.size(); i++) {
                if (i == failed) {
                    ours[i] = failure;
                    continue;
                }
                Savepoint savepoint = c.setSavepoint();
                try {
                    bindDone(ps, done.get(i), now);
                    ours[i] = ps.executeUpdate() == 1;
                    c.releaseSavepoint(savepoint);
                } catch (SQLException e) {
                    Database.rollbackTo(c, savepoint, e);
                    ours[i] = e;
                }
            }
        }
        return ours;
    }

    /**
     * The row a failed batch failed on, or -1 when it does not say. H2 runs every row and reports
     * each (1 or EXECUTE_FAILED); PostgreSQL stops at the failure and, in a transaction, may report
     * every row failed, the ones that ran and the ones never tried: only when some row is reported
     * not failed is the first failed one known to have failed.
     */
    private static int failedRow(SQLException failure, int rows) {
        if (!(failure instanceof BatchUpdateException batch) || batch.getUpdateCounts() == null) {
            return -1;
        }
        int[] counts = batch.getUpdateCounts();
        int first = -1;
        boolean someRan = false;
        for (int i = 0; i < Math.min(counts.length, rows); i++) {
            if (counts[i] != Statement.EXECUTE_FAILED) {
                someRan = true;
            } else if (first < 0) {
                first = i;
            }
        }
        return someRan ? first : -1;
    }

    private void bindDone(PreparedStatement ps, Delivery d, OffsetDateTime now) throws SQLException {
        ps.setObject(1, now);
        ps.setLong(2, d.id());
        ps.setString(3, owner);
        ps.setObject(4, leaseUntil(d));
    }

    public void start() {
        completions.start();
    }

    /** A route works deliveries of this kind: its metrics show from now on, zeros before the first. */
    public void working(String kind) {
        metrics.measure(kind);
    }

    /** How long a delivery is retried before it ends failed (delivery.max-age), unless its kind says otherwise. */
    public Duration maxAge() {
        return settings.maxAge();
    }

    /** Attempts before a delivery ends failed (delivery.max-attempts), unless its kind says otherwise. */
    public int maxAttempts() {
        return settings.maxAttempts();
    }

    /** Completions waiting for their commit right now. */
    int completionsWaiting() {
        return completions.waiting();
    }

    /** Null while completions are written, else what is wrong with their writer (for the health check). */
    public String writerProblem() {
        return completions.problem();
    }

    /** Null while its writer can work, else what only a restart cures (for the liveness check). */
    public String writerFailure() {
        return completions.failure();
    }

    public void stop() {
        completions.stop();
    }

    /**
     * An attempt threw: retried later with backoff, or failed for good (a {@link PermanentFailure},
     * or the kind's attempts or age used up). The error is stored without any secret.
     */
    void fail(Delivery delivery, Throwable cause, int maxAttempts, Duration maxAge) throws SQLException {
        OffsetDateTime now = now();
        String error = describe(cause);
        boolean permanent = cause instanceof PermanentFailure;
        boolean exhausted = delivery.attempts() >= maxAttempts;
        boolean tooOld = Duration.between(delivery.createdAt(), now.toInstant()).compareTo(maxAge) > 0;
        String state = permanent || exhausted || tooOld ? FAILED : PENDING;
        if (!permanent && FAILED.equals(state)) {
            error = truncate("gave up after " + delivery.attempts() + " attempts"
                    + (tooOld ? " and " + maxAge : "") + ": " + error);
        }
        OffsetDateTime next = FAILED.equals(state) ? now : now.plus(retryIn(delivery.attempts(), cause));
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE delivery SET state = ?, next_attempt_at = ?, last_error = ?,"
                     + " lease_owner = NULL, lease_until = NULL WHERE " + HELD)) {
            ps.setString(1, state);
            ps.setObject(2, next);
            ps.setString(3, error);
            ps.setLong(4, delivery.id());
            ps.setString(5, owner);
            ps.setObject(6, leaseUntil(delivery));
            if (ps.executeUpdate() == 0) {
                LOG.warn("Delivery {} {} for cmiuuid {} attempt {} did not succeed after its lease passed to a later claim: {}",
                        delivery.id(), delivery.kind(), delivery.cmiuuid(), delivery.attempts(), error);
                return;
            }
        }
        metrics.deliveryAttempt(delivery.kind(), FAILED.equals(state) ? FAILED : "retry", took(delivery));
        if (FAILED.equals(state)) {
            LOG.warn("Delivery {} {} for cmiuuid {} failed (attempt {}): {}", delivery.id(), delivery.kind(), delivery.cmiuuid(), delivery.attempts(), error);
        } else {
            LOG.info("Delivery {} {} for cmiuuid {} attempt {} did not succeed, next at {}: {}", delivery.id(), delivery.kind(),
                    delivery.cmiuuid(), delivery.attempts(), next.toInstant(), error);
        }
    }

    /** The end of the lease the delivery's claim set: the claim's time and delivery.lease, as claimDue wrote it. */
    private OffsetDateTime leaseUntil(Delivery delivery) {
        return delivery.claimedAt().atOffset(ZoneOffset.UTC).plus(settings.lease());
    }

    private Duration took(Delivery delivery) {
        return Duration.between(delivery.claimedAt(), clock.instant());
    }

    /**
     * The kind's backoff; a destination's {@link RetryLater} wait (its Retry-After) when longer, up to
     * delivery.backoff-max: a CRM that asks for a day is retried within the usual bound, and a
     * Retry-After shorter than the backoff does not make us knock sooner.
     */
    Duration retryIn(int attempt, Throwable cause) {
        Duration backoff = backoff(attempt);
        Duration asked = cause instanceof RetryLater later ? later.after() : null;
        if (asked == null || asked.compareTo(backoff) <= 0) {
            return backoff;
        }
        if (asked.compareTo(settings.backoffMax()) >= 0) {
            // before any arithmetic: a Retry-After of 10^16 seconds overflows a count of milliseconds
            return settings.backoffMax();
        }
        // up to a tenth later, so the deliveries one 429 turned away do not all come back in the same second
        Duration spread = asked.plusMillis(ThreadLocalRandom.current().nextLong(asked.toMillis() / 10 + 1));
        return spread.compareTo(settings.backoffMax()) > 0 ? settings.backoffMax() : spread;
    }

    Duration backoff(int attempt) {
        return backoff(attempt, settings.backoffInitial(), settings.backoffMax(), ThreadLocalRandom.current());
    }

    /** Exponential with jitter: between half and all of initial * 2^(attempt-1), capped at max. */
    static Duration backoff(int attempt, Duration initial, Duration max, java.util.Random random) {
        long cap = max.toMillis();
        long exp = attempt >= 30 ? cap : Math.min(cap, initial.toMillis() * (1L << Math.max(0, attempt - 1)));
        return Duration.ofMillis(exp / 2 + random.nextLong(exp / 2 + 1));
    }

    /**
     * Puts failed deliveries back to pending with their attempts reset; parameters: now (next
     * attempt), now (created_at: the age limit counts from the retry, or an old delivery would fail
     * again at once).
     */
    private static final String RETRY = "UPDATE delivery SET state = 'pending', attempts = 0, next_attempt_at = ?, created_at = ?,"
            + " completed_at = NULL";
    /** How many deliveries one statement of a bulk retry puts back: each batch commits on its own. */
    static final int RETRY_BATCH = 500;

    /** {@code POST /api/deliveries/{id}/retry}: a failed delivery goes back to pending, attempts reset. */
    public ObjectNode retry(@Header("id") String id) throws SQLException {
        long deliveryId;
        try {
            deliveryId = Long.parseLong(id);
        } catch (NumberFormatException e) {
            throw Problem.badRequest("id", "the delivery id must be a number");
        }
        try (Connection c = dataSource.getConnection()) {
            try (PreparedStatement ps = c.prepareStatement(RETRY + " WHERE id = ? AND state = 'failed'")) {
                OffsetDateTime now = now();
                ps.setObject(1, now);
                ps.setObject(2, now);
                ps.setLong(3, deliveryId);
                if (ps.executeUpdate() == 1) {
                    LOG.info("Delivery {} put back to pending by the API", deliveryId);
                    ObjectNode answer = mapper.createObjectNode();
                    answer.put("id", deliveryId);
                    answer.put("state", PENDING);
                    return answer;
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT state FROM delivery WHERE id = ?")) {
                ps.setLong(1, deliveryId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw new Problem(404, "no delivery with id " + deliveryId, "id");
                    }
                    throw new Problem(409, "delivery " + deliveryId + " is " + rs.getString(1) + "; only a failed delivery can be retried", "id");
                }
            }
        }
    }

    /**
     * {@code POST /api/deliveries/retry?kind=&state=failed&since=}: every failed delivery of a kind
     * (created at or after {@code since}, when given) back to pending, attempts reset, as
     * {@link #retry} does one. The kind is required: a replay is for the destination that was
     * repaired, and one without a kind would resend every alert and forward that ever failed.
     * In batches of {@link #RETRY_BATCH}, each committed on its own, until none is left, so a replay of millions holds
     * no long transaction; those already put back stay so if a later batch fails.
     */
    public ObjectNode retryFailed(@Header("kind") String kind, @Header("state") String state, @Header("since") String since)
            throws SQLException {
        String retriedKind = DeliveryQueries.kind(kind, true);
        if (!FAILED.equals(DeliveryQueries.state(state, FAILED))) {
            throw Problem.badRequest("state", "only failed deliveries are retried: 'state' must be failed (the default)");
        }
        OffsetDateTime from = io.github.telecmicdr.api.QueryParameters.instant("since", since);
        OffsetDateTime now = now();
        // created_at < now: a delivery this replay put back (created_at = now) is not taken twice,
        // even when it fails again before the replay ends, so the loop ends
        String sql = RETRY + " WHERE id IN (SELECT id FROM delivery WHERE kind = ? AND state = 'failed' AND created_at < ?"
                + (from == null ? "" : " AND created_at >= ?") + " ORDER BY kind, state, next_attempt_at FETCH FIRST " + RETRY_BATCH
                + " ROWS ONLY) AND state = 'failed'";
        long retried = 0;
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            int batch;
            do {
                int i = 0;
                ps.setObject(++i, now);
                ps.setObject(++i, now);
                ps.setString(++i, retriedKind);
                ps.setObject(++i, now);
                if (from != null) {
                    ps.setObject(++i, from);
                }
                batch = ps.executeUpdate();
                retried += batch;
            } while (batch > 0);
        }
        LOG.info("{} failed {} deliveries put back to pending by the API{}", retried, retriedKind,
                from == null ? "" : " (created since " + from.toInstant() + ")");
        ObjectNode answer = mapper.createObjectNode();
        answer.put("retried", retried);
        return answer;
    }

    /** What is stored as last_error: the message without any configured secret, one line, bounded. */
    String describe(Throwable t) {
        if (t == null) {
            return "unknown error";
        }
        // the destination's own words for what it said; any other exception named by its class
        String message = t instanceof PermanentFailure || t instanceof RetryLater ? t.getMessage() : t.getClass().getSimpleName() + ": " + t.getMessage();
        if (t.getMessage() == null && t.getCause() != null) {
            message = t.getClass().getSimpleName() + ": " + t.getCause();
        }
        return truncate(redact(message));
    }

    /** The text without any secret the service knows ({@link Redaction}), on one line. */
    public String redact(String text) {
        return redaction.apply(text);
    }

    private static String truncate(String s) {
        return s.length() <= MAX_ERROR ? s : s.substring(0, MAX_ERROR - 1) + "…";
    }

    private OffsetDateTime now() {
        return Database.now(clock);
    }
}
