package io.github.telecmicdr.store;

import io.github.telecmicdr.delivery.Deliveries;
import io.github.telecmicdr.delivery.Delivery;
import io.github.telecmicdr.recording.RecordingFiles;
import io.github.telecmicdr.telecmi.Cdr;
import io.github.telecmicdr.telecmi.TelecmiNotification;
import org.apache.camel.Body;
import org.apache.camel.Variable;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a notification, and for an incoming answered CDR its typed row and the deliveries the
 * route planned for it, in one transaction.
 * The unique (kind, cmiuuid) constraint decides duplicates, so concurrent repeats are safe.
 * It returns only after the commit: the webhook acknowledges nothing that is not durable.
 */
public final class NotificationStore {

    private static final String INSERT_NOTIFICATION =
            "INSERT INTO notification (kind, cmiuuid, appid, http_method, received_at, raw_payload) VALUES (?, ?, ?, ?, ?, ?)";
    private static final String INSERT_CDR =
            "INSERT INTO cdr (notification_id, cmiuuid, appid, direction, call_status, caller_number, called_number,"
                    + " virtual_number, agent, team, answered_seconds, hangup_reason, recorded, recording_filename,"
                    + " conversation_uuid, ivr_name, custom, call_time, received_at, recording_skipped)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

    private final DataSource dataSource;
    private final Deliveries deliveries;
    private final Clock clock;

    public NotificationStore(DataSource dataSource, Deliveries deliveries, Clock clock) {
        this.dataSource = dataSource;
        this.deliveries = deliveries;
        this.clock = clock;
    }

    /**
     * Stores the notification. The webhook route sets {@code alertEmail} and {@code recordingDownload}
     * from its branches on hangup_reason and record; they take effect only for a new incoming
     * answered CDR, and a recording is planned only for a file name the allowlist admits.
     */
    public StoreReceipt store(@Body TelecmiNotification notification, @Variable("alertEmail") Boolean alertEmail,
                              @Variable("recordingDownload") Boolean recordingDownload) throws SQLException {
        OffsetDateTime receivedAt = OffsetDateTime.now(clock).withOffsetSameInstant(ZoneOffset.UTC).truncatedTo(ChronoUnit.MICROS);
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                long id = insertNotification(c, notification, receivedAt);
                Cdr cdr = notification.cdr();
                if (cdr != null) {
                    List<String> planned = new ArrayList<>();
                    if (Boolean.TRUE.equals(alertEmail)) {
                        planned.add(Delivery.ALERT_EMAIL);
                    }
                    String recordingSkipped = null;
                    if (Boolean.TRUE.equals(recordingDownload) && cdr.recorded()) {
                        recordingSkipped = RecordingFiles.whyNotFetched(cdr.recordingFilename());
                        if (recordingSkipped == null) {
                            planned.add(Delivery.RECORDING_DOWNLOAD);
                        }
                    }
                    insertCdr(c, id, cdr, receivedAt, recordingSkipped);
                    deliveries.plan(c, id, cdr.cmiuuid(), planned);
                }
                c.commit();
                return new StoreReceipt(StoreReceipt.STORED, notification.kind(), notification.cmiuuid());
            } catch (SQLException e) {
                c.rollback();
                if (Database.isUniqueViolation(e)) {
                    return new StoreReceipt(StoreReceipt.DUPLICATE, notification.kind(), notification.cmiuuid());
                }
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        }
    }

    private static long insertNotification(Connection c, TelecmiNotification n, OffsetDateTime receivedAt) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(INSERT_NOTIFICATION, new String[] {"id"})) {
            ps.setString(1, n.kind());
            ps.setString(2, n.cmiuuid());
            ps.setString(3, n.appid());
            ps.setString(4, n.method());
            ps.setObject(5, receivedAt);
            ps.setString(6, n.rawPayload());
            ps.executeUpdate();
            try (ResultSet keys = ps.getGeneratedKeys()) {
                keys.next();
                return keys.getLong(1);
            }
        }
    }

    private static void insertCdr(Connection c, long notificationId, Cdr cdr, OffsetDateTime receivedAt, String recordingSkipped) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(INSERT_CDR)) {
            int i = 0;
            ps.setLong(++i, notificationId);
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
            ps.executeUpdate();
        }
    }
}
