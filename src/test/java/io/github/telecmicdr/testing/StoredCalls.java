package io.github.telecmicdr.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;

/** Rows as the webhook stores them, written straight to the database for tests that need many. */
public final class StoredCalls {

    private StoredCalls() {
    }

    /**
     * For each cmiuuid: its notification, an answered CDR with an alerting hangup reason, and a due
     * alert-email delivery, as JDBC batches on the caller's connection (the caller commits).
     */
    public static void insertWithDueAlert(Connection c, List<String> cmiuuids) throws SQLException {
        try (PreparedStatement notification = c.prepareStatement("INSERT INTO notification (kind, cmiuuid, appid, http_method, received_at, raw_payload)"
                     + " VALUES ('incoming-answered-cdr', ?, '2222223', 'POST', CURRENT_TIMESTAMP, '{}')");
             PreparedStatement cdr = c.prepareStatement("INSERT INTO cdr (notification_id, cmiuuid, appid, direction, call_status, caller_number,"
                     + " called_number, agent, hangup_reason, recorded, received_at) SELECT id, cmiuuid, '2222223', 'inbound', 'answered',"
                     + " '440000000002', '440000000001', '204_2222223', 'recv_cancel', FALSE, CURRENT_TIMESTAMP FROM notification"
                     + " WHERE kind = 'incoming-answered-cdr' AND cmiuuid = ?");
             PreparedStatement delivery = c.prepareStatement("INSERT INTO delivery (notification_id, cmiuuid, kind, state, attempts,"
                     + " next_attempt_at, created_at) SELECT id, cmiuuid, 'alert-email', 'pending', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
                     + " FROM notification WHERE kind = 'incoming-answered-cdr' AND cmiuuid = ?")) {
            for (String cmiuuid : cmiuuids) {
                for (PreparedStatement ps : new PreparedStatement[] {notification, cdr, delivery}) {
                    ps.setString(1, cmiuuid);
                    ps.addBatch();
                }
            }
            notification.executeBatch();
            cdr.executeBatch();
            delivery.executeBatch();
        }
    }

    /**
     * For each cmiuuid: its notification (with the numbers' digits the phone filter reads), an
     * answered CDR, and a finished crm-forward delivery in {@code state} (done or failed; no route
     * works crm-forward without crm.url), as JDBC batches on the caller's connection (the caller commits).
     */
    public static void insertForwarded(Connection c, List<String> cmiuuids, String state) throws SQLException {
        try (PreparedStatement notification = c.prepareStatement("INSERT INTO notification (kind, cmiuuid, appid, http_method, received_at,"
                     + " raw_payload, caller_digits, called_digits, virtual_number_digits) VALUES ('incoming-answered-cdr', ?, '2222223', 'POST',"
                     + " CURRENT_TIMESTAMP, '{}', '919876543210', '914461234567', '02240001234')");
             PreparedStatement cdr = c.prepareStatement("INSERT INTO cdr (notification_id, cmiuuid, appid, direction, call_status, caller_number,"
                     + " called_number, virtual_number, agent, team, answered_seconds, hangup_reason, recorded, call_time, received_at) SELECT id,"
                     + " cmiuuid, '2222223', 'inbound', 'answered', '919876543210', '914461234567', '02240001234', '204_2222223', 'Sales', 75,"
                     + " 'recv_bye', FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM notification WHERE kind = 'incoming-answered-cdr' AND cmiuuid = ?");
             PreparedStatement delivery = c.prepareStatement("INSERT INTO delivery (notification_id, cmiuuid, kind, state, attempts,"
                     + " next_attempt_at, last_error, created_at, completed_at) SELECT id, cmiuuid, 'crm-forward', ?, 1, CURRENT_TIMESTAMP, ?,"
                     + " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM notification WHERE kind = 'incoming-answered-cdr' AND cmiuuid = ?")) {
            for (String cmiuuid : cmiuuids) {
                notification.setString(1, cmiuuid);
                notification.addBatch();
                cdr.setString(1, cmiuuid);
                cdr.addBatch();
                delivery.setString(1, state);
                delivery.setString(2, "failed".equals(state) ? "CRM answered 400: unknown field" : null);
                delivery.setString(3, cmiuuid);
                delivery.addBatch();
            }
            notification.executeBatch();
            cdr.executeBatch();
            delivery.executeBatch();
        }
    }
}
