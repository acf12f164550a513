package io.github.telecmicdr.delivery;

import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.store.Database;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A page of GET /api/deliveries reads about a page of rows on H2 whenever the rows asked for are
 * most of the table (done ones, a whole kind), and only the few asked for when they are the backlog
 * or the failed ones: with the index on kind H2 read and sorted every delivery of the kind.
 */
class DeliveryListPlanTest {

    static final int DONE = 30_000;
    static final int FAILED = 100;

    @ParameterizedTest
    @CsvSource(nullValues = "-", value = {"-, -", "alert-email, -", "alert-email, done", "alert-email, failed", "crm-forward, pending",
            "-, done", "-, failed"})
    void aPageReadsAboutAPage(String kind, String state) throws Exception {
        try (HikariDataSource db = Database.open("jdbc:h2:mem:list-plan;DB_CLOSE_DELAY=-1", "sa", "", 2, 5000);
             Connection c = db.getConnection()) {
            seed(c);
            String plan = plan(c, DeliveryQueries.listQuery(kind != null, state), kind, state);
            Matcher scanned = Pattern.compile("scanCount: (\\d+)").matcher(plan);
            assertTrue(scanned.find(), plan);
            assertTrue(Integer.parseInt(scanned.group(1)) <= FAILED + 1, plan);
        }
    }

    /**
     * One call's deliveries (GET /api/deliveries?cmiuuid=, and a CDR's in GET /api/cdrs/{cmiuuid})
     * are read through its notifications: no index on delivery's random cmiuuid since V8, and no
     * scan of the 60,100 deliveries either, whatever the filter.
     */
    @ParameterizedTest
    @CsvSource(nullValues = "-", value = {"-, -", "alert-email, -", "alert-email, done", "-, failed"})
    void aCallsDeliveriesAreReadThroughItsNotifications(String kind, String state) throws Exception {
        try (HikariDataSource db = Database.open("jdbc:h2:mem:list-plan;DB_CLOSE_DELAY=-1", "sa", "", 2, 5000);
             Connection c = db.getConnection(); Statement s = c.createStatement()) {
            seed(c);
            s.execute("MERGE INTO notification (id, kind, cmiuuid, appid, http_method, received_at, raw_payload) KEY (id) VALUES"
                    + " (9000001, 'incoming-answered-cdr', 'plan-call', '2222223', 'POST', CURRENT_TIMESTAMP, '{}'),"
                    + " (9000002, 'incoming-missed-cdr', 'plan-call', '2222223', 'POST', CURRENT_TIMESTAMP, '{}')");
            s.execute("MERGE INTO delivery (notification_id, cmiuuid, kind, state, attempts, next_attempt_at, created_at) KEY (notification_id, kind)"
                    + " VALUES (9000001, 'plan-call', 'alert-email', 'done', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),"
                    + " (9000001, 'plan-call', 'crm-forward', 'failed', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),"
                    + " (9000002, 'plan-call', 'crm-forward', 'done', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)");
            String plan = plan(c, DeliveryQueries.callQuery(kind != null, state), "plan-call", kind, state);
            assertTrue(!plan.contains("tableScan"), plan);
            Matcher scanned = Pattern.compile("scanCount: (\\d+)").matcher(plan);
            while (scanned.find()) {
                assertTrue(Integer.parseInt(scanned.group(1)) <= 10, plan);
            }
        }
    }

    /**
     * H2's EXPLAIN ANALYZE of a page query: the text parameters given (a null one is a filter left
     * out), then the cursor (from the newest) and a page of 50 and one.
     */
    private static String plan(Connection c, String sql, String... filters) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("EXPLAIN ANALYZE " + sql)) {
            int i = 0;
            for (String filter : filters) {
                if (filter != null) {
                    ps.setString(++i, filter);
                }
            }
            ps.setLong(++i, Long.MAX_VALUE);
            ps.setInt(++i, 51);
            try (ResultSet rs = ps.executeQuery()) {
                assertTrue(rs.next());
                return rs.getString(1);
            }
        }
    }

    /** Many done alert emails, then a few failed ones, then many done again (the failed in the middle). */
    private static void seed(Connection c) throws Exception {
        try (Statement s = c.createStatement(); ResultSet seeded = s.executeQuery("SELECT COUNT(*) FROM delivery")) {
            seeded.next();
            if (seeded.getLong(1) > 0) {
                return;
            }
            s.execute("SET REFERENTIAL_INTEGRITY FALSE");
            int group = 0;
            for (String[] rows : new String[][] {{"d", "done", String.valueOf(DONE)}, {"f", "failed", String.valueOf(FAILED)},
                    {"e", "done", String.valueOf(DONE)}}) {
                // a notification of its own for each delivery (no notification rows: referential integrity is off)
                long firstNotification = 1_000_000L * group++;
                s.execute("INSERT INTO delivery (notification_id, cmiuuid, kind, state, attempts, next_attempt_at, created_at) SELECT X + "
                        + firstNotification + ", '" + rows[0]
                        + "' || X, 'alert-email', '" + rows[1] + "', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM SYSTEM_RANGE(1, " + rows[2] + ")");
            }
            s.execute("ANALYZE");
        }
    }
}
