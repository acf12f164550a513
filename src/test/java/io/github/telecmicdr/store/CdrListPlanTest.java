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
import java.time.OffsetDateTime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A page of GET /api/cdrs reads about a page of rows on H2, however many notifications of other
 * kinds lie between the CDRs: it walks cdr's own key (V7), not every notification. Rows are counted
 * by H2's own EXPLAIN ANALYZE, over both tables.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CdrListPlanTest {

    static final int NOTIFICATIONS = 30_000;
    static final int PAGE = 50;

    HikariDataSource db;

    @BeforeAll
    void seed() throws Exception {
        db = Database.open("jdbc:h2:mem:cdr-list-plan;DB_CLOSE_DELAY=-1", "sa", "", 2, 5000);
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            // two of every three notifications are missed calls: the CDRs are a third of them
            s.execute("INSERT INTO notification (id, kind, cmiuuid, appid, http_method, received_at, raw_payload) SELECT X,"
                    + " CASE WHEN MOD(X, 3) = 0 THEN 'incoming-answered-cdr' ELSE 'incoming-missed-cdr' END, 'call-' || X, '2222223',"
                    + " 'POST', DATEADD('SECOND', X, TIMESTAMP WITH TIME ZONE '2026-11-01 00:00:00+00'), '{}' FROM SYSTEM_RANGE(1, "
                    + NOTIFICATIONS + ")");
            s.execute("INSERT INTO cdr (notification_id, cmiuuid, appid, call_status, recorded, received_at)"
                    + " SELECT id, cmiuuid, appid, 'answered', FALSE, received_at FROM notification WHERE kind = 'incoming-answered-cdr'");
            s.execute("ANALYZE");
        }
    }

    @AfterAll
    void close() {
        db.close();
    }

    @ParameterizedTest(name = "since={0} until={1}")
    @CsvSource({"false, false", "true, false", "true, true"})
    void aPageReadsAboutAPage(boolean since, boolean until) throws Exception {
        String sql = CdrQueries.listQuery(since, until);
        try (Connection c = db.getConnection()) {
            try (PreparedStatement ps = c.prepareStatement("EXPLAIN ANALYZE " + sql)) {
                bind(ps, since, until);
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next());
                    String plan = rs.getString(1);
                    long read = QueryPlans.rowsRead(plan);
                    assertTrue(read > 0, plan);
                    assertTrue(read <= 4L * (PAGE + 1), read + " rows read: " + plan);
                }
            }
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                bind(ps, since, until);
                int rows = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows++;
                    }
                }
                assertEquals(PAGE + 1, rows);
            }
        }
    }

    private static void bind(PreparedStatement ps, boolean since, boolean until) throws Exception {
        int i = 0;
        ps.setLong(++i, Long.MAX_VALUE);
        if (since) {
            ps.setObject(++i, OffsetDateTime.parse("2026-11-01T00:00:00Z"));
        }
        if (until) {
            ps.setObject(++i, OffsetDateTime.parse("2026-12-01T00:00:00Z"));
        }
        ps.setInt(++i, PAGE + 1);
    }
}
