package io.github.telecmicdr.store;

import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.testing.QueryPlans;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A page of GET /api/notifications (the ops page's list) reads about a page of rows on H2, whatever
 * the filter: the usual by walking an index in order, the rare (a missed call among answered ones,
 * one caller's number, the failed deliveries) from the index that holds just them. Rows are counted
 * by H2's own EXPLAIN ANALYZE, over every table and subquery the page reads.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NotificationListPlanTest {

    static final int CALLS = 30_000;
    /** Every 300th notification is a missed call. */
    static final int MISSED_EVERY = 300;
    /** crm-forward of the calls in the middle failed; every other delivery is done. */
    static final int FAILED_FROM = 15_000;
    static final int FAILED = 100;
    static final int PAGE = 50;

    HikariDataSource db;

    @BeforeAll
    void seed() throws Exception {
        db = io.github.telecmicdr.store.Database.open("jdbc:h2:mem:notification-list-plan;DB_CLOSE_DELAY=-1", "sa", "", 2, 5000);
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("SET REFERENTIAL_INTEGRITY FALSE");
            s.execute("INSERT INTO notification (id, kind, cmiuuid, appid, http_method, received_at, raw_payload, caller_digits, called_digits,"
                    + " virtual_number_digits) SELECT X, CASE WHEN MOD(X, " + MISSED_EVERY + ") = 0 THEN 'incoming-missed-cdr'"
                    + " ELSE 'incoming-answered-cdr' END, 'call-' || X, '2222223', 'POST', CURRENT_TIMESTAMP, '{}', '9198' || X,"
                    + " '914461234567', '02240001234' FROM SYSTEM_RANGE(1, " + CALLS + ")");
            s.execute("INSERT INTO delivery (notification_id, cmiuuid, kind, state, attempts, next_attempt_at, created_at)"
                    + " SELECT X, 'call-' || X, 'crm-forward', CASE WHEN X > " + FAILED_FROM + " AND X <= " + (FAILED_FROM + FAILED)
                    + " THEN 'failed' ELSE 'done' END, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM SYSTEM_RANGE(1, " + CALLS + ")");
            s.execute("INSERT INTO delivery (notification_id, cmiuuid, kind, state, attempts, next_attempt_at, created_at)"
                    + " SELECT X, 'call-' || X, 'alert-email', 'done', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM SYSTEM_RANGE(1, "
                    + CALLS + ") WHERE MOD(X, 10) = 0");
            s.execute("ANALYZE");
        }
    }

    @AfterAll
    void close() {
        db.close();
    }

    @ParameterizedTest(name = "kind={0} phone={1} delivery_state={2} delivery_kind={3}")
    @CsvSource(nullValues = "-", value = {
        // filter                                                rows it may read   rows it finds
        "-,                     -,           -,       -,           200,               50",
        "incoming-answered-cdr, -,           -,       -,           200,               50",
        "incoming-missed-cdr,   -,           -,       -,           200,               50",
        "-,                     919812345,   -,       -,           200,               1",
        "incoming-missed-cdr,   919812345,   -,       -,           200,               0",
        "-,                     -,           failed,  -,           400,               50",
        "-,                     -,           failed,  crm-forward, 400,               50",
        "incoming-missed-cdr,   -,           failed,  -,           400,               0",
        "-,                     -,           done,    -,           400,               50",
        "-,                     -,           pending, -,           200,               0",
        "-,                     -,           -,       alert-email, 1200,              50",
        "-,                     -,           done,    alert-email, 1200,              50"})
    void aPageReadsAboutAPage(String kind, String phone, String deliveryState, String deliveryKind, int mostRows, int found)
            throws Exception {
        List<String> phones = phone == null ? List.of() : List.of(phone);
        NotificationQueries.PageQuery query = NotificationQueries.pageQuery(kind, phones, deliveryState, deliveryKind, Long.MAX_VALUE, PAGE + 1);
        try (Connection c = db.getConnection()) {
            try (PreparedStatement ps = c.prepareStatement("EXPLAIN ANALYZE " + query.sql())) {
                NotificationQueries.bind(ps, query.parameters());
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next());
                    String plan = rs.getString(1);
                    long read = QueryPlans.rowsRead(plan);
                    assertTrue(read > 0, plan);
                    assertTrue(read <= mostRows, read + " rows read: " + plan);
                }
            }
            try (PreparedStatement ps = c.prepareStatement(query.sql())) {
                NotificationQueries.bind(ps, query.parameters());
                int rows = 0;
                long previous = Long.MAX_VALUE;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        assertTrue(rs.getLong(1) < previous, "newest first");
                        previous = rs.getLong(1);
                        rows++;
                    }
                }
                // a full page is read with one more row, which tells there is a next page
                assertEquals(found == PAGE ? PAGE + 1 : found, rows);
            }
        }
    }
}
