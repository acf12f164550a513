package io.github.telecmicdr.store;

import io.github.telecmicdr.delivery.Deliveries;
import io.github.telecmicdr.delivery.DeliveryProducer;
import io.github.telecmicdr.telecmi.Cdr;
import io.github.telecmicdr.telecmi.TelecmiNotification;
import org.apache.camel.Body;
import org.apache.camel.Variable;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes notifications, and for an incoming answered CDR its typed row and the deliveries the route
 * planned for it, durably and with group commit ({@link GroupCommit}): a request returns only after
 * the commit that holds its notification, so the webhook acknowledges nothing that is not durable.
 * The unique (cmiuuid, kind) constraint has the last word on duplicates, so concurrent repeats,
 * even from several instances, are safe.
 */
public final class NotificationStore extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(NotificationStore.class);

    /** The variable naming where the notification came from: {@value #WEBHOOK} when unset, or {@value #RECONCILE}. */
    public static final String SOURCE = "notificationSource";
    public static final String WEBHOOK = "webhook";
    public static final String RECONCILE = "reconcile";

    private static final String INSERT_NOTIFICATION =
            "INSERT INTO notification (kind, cmiuuid, appid, http_method, received_at, raw_payload, source,"
                    + " caller_digits, called_digits, virtual_number_digits) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    /** The CDR row's columns in the order {@link #bindCdr} binds them, its notification's cmiuuid last. */
    private static final List<String> CDR_COLUMNS = List.of("cmiuuid", "appid", "direction", "call_status", "caller_number",
            "called_number", "virtual_number", "agent", "team", "answered_seconds", "hangup_reason", "recorded", "recording_filename",
            "conversation_uuid", "ivr_name", "custom", "call_time", "received_at", "recording_skipped");
    /** The id of the CDR's notification, from the cmiuuid bound last. */
    private static final String ITS_NOTIFICATION =
            "(SELECT id FROM notification WHERE cmiuuid = ? AND kind = '" + TelecmiNotification.INCOMING_ANSWERED_CDR + "')";
    private static final String INSERT_CDR =
            "INSERT INTO cdr (" + String.join(", ", CDR_COLUMNS) + ", notification_id) VALUES (" + "?, ".repeat(CDR_COLUMNS.size())
                    // the row is keyed by its notification, inserted just before in the same transaction
                    + ITS_NOTIFICATION + ")";
    /**
     * A recovered call's CDR row completed from its webhook: each field the webhook's, where it has
     * one, else the pull row's; recorded if either says so; the recording's skip reason the
     * webhook's when the webhook says recorded ('' for none: {@link #skipReasonToComplete}), else the
     * row's; when it was first received stays.
     */
    private static final String UPDATE_CDR = "UPDATE cdr SET " + String.join(", ", CDR_COLUMNS.stream().map(column -> switch (column) {
                case "received_at" -> "received_at = COALESCE(received_at, ?)";
                case "recorded" -> "recorded = (recorded OR ?)";
                case "recording_skipped" -> "recording_skipped = NULLIF(COALESCE(?, recording_skipped), '')";
                case "cmiuuid" -> "cmiuuid = ?";
                default -> column + " = COALESCE(?, " + column + ")";
            }).toList()) + " WHERE notification_id = " + ITS_NOTIFICATION;
    /**
     * A recovered call's notification, rewritten from its webhook once: the payload and what is read
     * from it (the webhook's, where it has them); the kind, the key and when it was first received stay.
     */
    private static final String UPGRADE_RECOVERED = "UPDATE notification SET appid = COALESCE(?, appid), http_method = ?,"
            + " raw_payload = ?, source = '" + WEBHOOK + "', caller_digits = COALESCE(?, caller_digits),"
            + " called_digits = COALESCE(?, called_digits), virtual_number_digits = COALESCE(?, virtual_number_digits)"
            + " WHERE cmiuuid = ? AND kind = ? AND source = '" + RECONCILE + "'";

    private final DataSource dataSource;
    private final Deliveries deliveries;
    private final Clock clock;
    private final GroupCommit<Write, StoreReceipt> groupCommit;
    /** Set at start: analyzes a fresh PostgreSQL database once it has notifications to plan with. */
    private volatile FreshStatistics freshStatistics;

    /** One notification waiting for the next commit, with what the route planned for it. */
    private record Write(TelecmiNotification notification, List<String> planned, String recordingSkipped, String source) {
    }

    /** @param commitWaitBound how long a request waits for its commit before answering 503 */
    public NotificationStore(DataSource dataSource, Deliveries deliveries, Clock clock, int maxBatch, Duration commitWaitBound) {
        this.dataSource = dataSource;
        this.deliveries = deliveries;
        this.clock = clock;
        this.groupCommit = new GroupCommit<>("notification-writer", dataSource, maxBatch, commitWaitBound, new GroupCommit.BatchWrite<>() {
            @Override
            public Object[] write(Connection c, List<Write> batch) throws SQLException {
                return writeInBatches(c, batch, now());
            }

            @Override
            public Object[] writeIsolated(Connection c, List<Write> batch, SQLException failure) throws SQLException {
                return writeOneByOne(c, batch, now());
            }

            /** Every notification acknowledged is on the disk, not only in the page cache. */
            @Override
            public boolean forceToDisk() {
                return true;
            }
        });
    }

    private OffsetDateTime now() {
        return Database.now(clock);
    }

    /**
     * Stores the notification with the deliveries the webhook route planned for it
     * ({@code to: delivery:<kind>}, any kind, for any notification), in one transaction. A repeat of
     * a stored notification is a duplicate and plans nothing. {@code source}: the webhook (unset),
     * or reconciliation for a call found in TeleCMI's pull API.
     */
    public StoreReceipt store(@Body TelecmiNotification notification,
                              @Variable(DeliveryProducer.PLANNED) List<String> planned,
                              @Variable(SOURCE) String source) throws SQLException {
        if (source != null && !WEBHOOK.equals(source) && !RECONCILE.equals(source)) {
            throw new IllegalArgumentException(SOURCE + " must be " + WEBHOOK + " or " + RECONCILE + ", not '" + source + "'");
        }
        StoreReceipt receipt = groupCommit.submit(new Write(notification, planned == null ? List.of() : List.copyOf(planned),
                notification.recordingSkipped(), source == null ? WEBHOOK : source));
        if (receipt.completedRecoveredCall()) {
            // after the commit: a batch written again one at a time completes it only once
            LOG.info("Webhook for recovered cmiuuid={} completes the call stored from TeleCMI's pull API", notification.cmiuuid());
        }
        FreshStatistics statistics = freshStatistics;
        if (statistics != null && StoreReceipt.STORED.equals(receipt.status())) {
            statistics.stored();
        }
        return receipt;
    }

    /**
     * The usual batch has no duplicate the database knows of: one query finds those, and the rest
     * is inserted with JDBC batches. Should the insert still fail (a concurrent instance stored the
     * same call, or one notification is refused), {@link #writeOneByOne} writes the batch again.
     */
    private Object[] writeInBatches(Connection c, List<Write> batch, OffsetDateTime receivedAt) throws SQLException {
        Object[] outcomes = new Object[batch.size()];
        // where each key's notification came from: stored before, or written earlier in this batch
        Map<String, String> sourceOf = existingKeys(c, batch);
        List<Integer> completing = new ArrayList<>();
        boolean cdrs = false;
        boolean planned = false;
        try (PreparedStatement notificationInsert = c.prepareStatement(INSERT_NOTIFICATION);
             PreparedStatement cdrInsert = c.prepareStatement(INSERT_CDR);
             PreparedStatement plan = deliveries.planStatement(c)) {
            for (int i = 0; i < batch.size(); i++) {
                Write w = batch.get(i);
                TelecmiNotification n = w.notification();
                String key = key(n.cmiuuid(), n.kind());
                String source = sourceOf.putIfAbsent(key, w.source());
                if (upgrades(w, source)) {
                    // once the batch's inserts are written: the recovered call may be one of them
                    completing.add(i);
                    sourceOf.put(key, WEBHOOK);
                    continue;
                }
                // a repeat of a stored notification, or of one earlier in this batch
                if (source != null) {
                    outcomes[i] = new StoreReceipt(StoreReceipt.DUPLICATE, n.kind(), n.cmiuuid());
                    continue;
                }
                bindNotification(notificationInsert, n, receivedAt, w.source());
                notificationInsert.addBatch();
                if (n.cdr() != null) {
                    bindCdr(cdrInsert, n.cdr(), receivedAt, w.recordingSkipped());
                    cdrInsert.addBatch();
                    cdrs = true;
                }
                if (!w.planned().isEmpty()) {
                    deliveries.plan(plan, n.kind(), n.cmiuuid(), w.planned());
                    planned = true;
                }
                outcomes[i] = new StoreReceipt(StoreReceipt.STORED, n.kind(), n.cmiuuid());
            }
            notificationInsert.executeBatch();
            if (cdrs) {
                cdrInsert.executeBatch();
            }
            if (planned) {
                plan.executeBatch();
            }
        }
        for (int i : completing) {
            outcomes[i] = upgradeRecovered(c, batch.get(i), receivedAt);
        }
        return outcomes;
    }

    /** (cmiuuid, kind) of the batch's notifications that are stored already, with where each came from. */
    private static Map<String, String> existingKeys(Connection c, List<Write> batch) throws SQLException {
        Object[] ids = batch.stream().map(w -> w.notification().cmiuuid()).distinct().toArray();
        Map<String, String> keys = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT cmiuuid, kind, source FROM notification WHERE cmiuuid = ANY (?)")) {
            ps.setArray(1, c.createArrayOf("VARCHAR", ids));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    keys.put(key(rs.getString(1), rs.getString(2)), rs.getString(3));
                }
            }
        }
        return keys;
    }

    /**
     * Whether this write is the webhook of a call stored from reconciliation's thinner pull row
     * ({@code storedSource}): a webhook TeleCMI retried late, after the call was recovered.
     */
    private static boolean upgrades(Write w, String storedSource) {
        return RECONCILE.equals(storedSource) && WEBHOOK.equals(w.source());
    }

    /**
     * The webhook of a recovered call: its payload replaces the pull row's and its fields complete
     * the CDR (the pull row lacks the hangup reason, the team, the virtual number...), and the
     * deliveries it plans that were not planned then (an alert, which needs the hangup reason) are
     * planned now. Those planned then are not planned again: done ones are not sent again, and one
     * still being retried sends the completed call from its next attempt. Stored; a duplicate when
     * another transaction completed it first.
     */
    private StoreReceipt upgradeRecovered(Connection c, Write w, OffsetDateTime receivedAt) throws SQLException {
        TelecmiNotification n = w.notification();
        try (PreparedStatement ps = c.prepareStatement(UPGRADE_RECOVERED)) {
            ps.setString(1, n.appid());
            ps.setString(2, n.method());
            ps.setString(3, n.rawPayload());
            bindPhoneDigits(ps, 4, n);
            ps.setString(7, n.cmiuuid());
            ps.setString(8, n.kind());
            if (ps.executeUpdate() == 0) {
                return new StoreReceipt(StoreReceipt.DUPLICATE, n.kind(), n.cmiuuid());
            }
        }
        if (n.cdr() != null) {
            try (PreparedStatement ps = c.prepareStatement(UPDATE_CDR)) {
                bindCdr(ps, n.cdr(), receivedAt, skipReasonToComplete(n.cdr(), w.recordingSkipped()));
                if (ps.executeUpdate() != 1) {
                    throw new SQLException("the recovered call " + n.cmiuuid() + " has no CDR row to complete");
                }
            }
        }
        List<String> notPlanned = new ArrayList<>(w.planned());
        try (PreparedStatement ps = c.prepareStatement("SELECT d.kind FROM delivery d JOIN notification n ON n.id = d.notification_id"
                + " WHERE n.cmiuuid = ? AND n.kind = ?")) {
            ps.setString(1, n.cmiuuid());
            ps.setString(2, n.kind());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    notPlanned.remove(rs.getString(1));
                }
            }
        }
        if (!notPlanned.isEmpty()) {
            try (PreparedStatement plan = deliveries.planStatement(c)) {
                deliveries.plan(plan, n.kind(), n.cmiuuid(), notPlanned);
                plan.executeBatch();
            }
        }
        return new StoreReceipt(StoreReceipt.STORED, n.kind(), n.cmiuuid(), true);
    }

    private static String key(String cmiuuid, String kind) {
        return cmiuuid + '\n' + kind;
    }

    /** A savepoint per notification, so a failure stays with the notification that caused it. */
    private Object[] writeOneByOne(Connection c, List<Write> batch, OffsetDateTime receivedAt) throws SQLException {
        Object[] outcomes = new Object[batch.size()];
        try (PreparedStatement notificationInsert = c.prepareStatement(INSERT_NOTIFICATION);
             PreparedStatement cdrInsert = c.prepareStatement(INSERT_CDR);
             PreparedStatement plan = deliveries.planStatement(c)) {
            for (int i = 0; i < batch.size(); i++) {
                Write w = batch.get(i);
                TelecmiNotification n = w.notification();
                Savepoint savepoint = c.setSavepoint();
                try {
                    bindNotification(notificationInsert, n, receivedAt, w.source());
                    notificationInsert.executeUpdate();
                    if (n.cdr() != null) {
                        bindCdr(cdrInsert, n.cdr(), receivedAt, w.recordingSkipped());
                        cdrInsert.executeUpdate();
                    }
                    if (!w.planned().isEmpty()) {
                        deliveries.plan(plan, n.kind(), n.cmiuuid(), w.planned());
                        plan.executeBatch();
                    }
                    c.releaseSavepoint(savepoint);
                    outcomes[i] = new StoreReceipt(StoreReceipt.STORED, n.kind(), n.cmiuuid());
                } catch (SQLException e) {
                    plan.clearBatch();
                    // undone alone; if even that fails (the connection is gone, or H2 rolled the
                    // whole transaction back on a deadlock) the whole batch fails, with this cause
                    Database.rollbackTo(c, savepoint, e);
                    String key = key(n.cmiuuid(), n.kind());
                    boolean uniqueViolation = Database.isUniqueViolation(e);
                    Map<String, String> stored = uniqueViolation ? existingKeys(c, List.of(w)) : Map.of();
                    if (!uniqueViolation) {
                        outcomes[i] = e;
                    } else if (upgrades(w, stored.get(key))) {
                        outcomes[i] = upgradeRecoveredAlone(c, w, receivedAt);
                    } else if (stored.containsKey(key)) {
                        // stored by a commit other than this transaction's (another instance's), or earlier in it
                        outcomes[i] = new StoreReceipt(StoreReceipt.DUPLICATE, n.kind(), n.cmiuuid());
                    } else {
                        outcomes[i] = new OtherKeyRefused();
                    }
                }
            }
        }
        return outcomes;
    }

    /**
     * What {@link #UPDATE_CDR} binds for the recording's skip reason: the webhook's when it says the
     * call was recorded ('' when its recording is fine), null (keep the row's) when it does not.
     */
    private static String skipReasonToComplete(Cdr webhook, String skipped) {
        if (!webhook.recorded()) {
            return null;
        }
        return skipped == null ? "" : skipped;
    }

    /** {@link #upgradeRecovered} under a savepoint of its own: its failure stays with its notification. */
    private Object upgradeRecoveredAlone(Connection c, Write w, OffsetDateTime receivedAt) throws SQLException {
        Savepoint savepoint = c.setSavepoint();
        try {
            StoreReceipt receipt = upgradeRecovered(c, w, receivedAt);
            c.releaseSavepoint(savepoint);
            return receipt;
        } catch (SQLException e) {
            Database.rollbackTo(c, savepoint, e);
            return e;
        }
    }

    /**
     * A unique key other than (cmiuuid, kind) refused a notification that is not stored: the
     * database is at fault, not the request (e.g. the id sequence behind rows restored with their
     * ids), so the answer is 503, retry, and never "duplicate", which would lose the call. No SQLState
     * and no cause: the database's message quotes the refused values, and a constraint's SQLState
     * (class 23) would answer 400.
     */
    static final class OtherKeyRefused extends SQLException {
        OtherKeyRefused() {
            super("a unique key other than (cmiuuid, kind) refused the notification; nothing was stored");
        }
    }

    /** Webhook requests (and reconciled calls) waiting for their commit right now. */
    public int waitingForCommit() {
        return groupCommit.waiting();
    }

    /** Null while notifications are written, else what is wrong with the writer (for the health check). */
    public String writerProblem() {
        return groupCommit.problem();
    }

    /** Null while its writer can work, else what only a restart cures (for the liveness check). */
    public String writerFailure() {
        return groupCommit.failure();
    }

    /** After the migration (the service that runs it starts first). */
    @Override
    protected void doStart() {
        freshStatistics = FreshStatistics.of(dataSource);
        groupCommit.start();
    }

    @Override
    protected void doStop() {
        groupCommit.stop();
    }

    private static void bindNotification(PreparedStatement ps, TelecmiNotification n, OffsetDateTime receivedAt, String source)
            throws SQLException {
        ps.setString(1, n.kind());
        ps.setString(2, n.cmiuuid());
        ps.setString(3, n.appid());
        ps.setString(4, n.method());
        ps.setObject(5, receivedAt);
        ps.setString(6, n.rawPayload());
        ps.setString(7, source);
        bindPhoneDigits(ps, 8, n);
    }

    /**
     * The caller's, the called and the virtual number's digits, from parameter {@code first} on:
     * every kind's numbers, for the ops page's phone filter (a missed call has no typed row).
     */
    private static void bindPhoneDigits(PreparedStatement ps, int first, TelecmiNotification n) throws SQLException {
        Cdr call = n.call();
        ps.setString(first, call == null ? null : PhoneDigits.of(call.from()));
        ps.setString(first + 1, call == null ? null : PhoneDigits.of(call.to()));
        ps.setString(first + 2, call == null ? null : PhoneDigits.of(call.virtualNumber()));
    }

    private static void bindCdr(PreparedStatement ps, Cdr cdr, OffsetDateTime receivedAt, String recordingSkipped) throws SQLException {
        int i = 0;
        ps.setString(++i, cdr.cmiuuid());
        ps.setString(++i, cdr.appid());
        ps.setString(++i, cdr.direction());
        ps.setString(++i, cdr.status());
        ps.setString(++i, cdr.from());
        ps.setString(++i, cdr.to());
        ps.setString(++i, cdr.virtualNumber());
        ps.setString(++i, cdr.user());
        ps.setString(++i, cdr.team());
        if (cdr.answeredSeconds() == null) {
            ps.setNull(++i, Types.INTEGER);
        } else {
            ps.setInt(++i, cdr.answeredSeconds());
        }
        ps.setString(++i, cdr.hangupReason());
        ps.setBoolean(++i, cdr.recorded());
        ps.setString(++i, cdr.recordingFilename());
        ps.setString(++i, cdr.conversationUuid());
        ps.setString(++i, cdr.ivrName());
        ps.setString(++i, cdr.custom());
        ps.setObject(++i, cdr.callTime() == null ? null : cdr.callTime().atOffset(ZoneOffset.UTC), Types.TIMESTAMP_WITH_TIMEZONE);
        ps.setObject(++i, receivedAt);
        ps.setString(++i, recordingSkipped);
        ps.setString(++i, cdr.cmiuuid());
    }
}
