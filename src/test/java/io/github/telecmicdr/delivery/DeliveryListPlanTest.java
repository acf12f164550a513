package io.github.telecmicdr.delivery;

import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.store.Database;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;

class DeliveryListPlanTest {

    @Test
    void explore() throws Exception {
        try (HikariDataSource db = Database.open("jdbc:h2:mem:list-plan;DB_CLOSE_DELAY=-1", "sa", "", 2, 5000);
             Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.execute("SET REFERENTIAL_INTEGRITY FALSE");
            s.execute("INSERT INTO delivery (cmiuuid, kind, state, attempts, next_attempt_at, created_at) SELECT 'c' || X, 'alert-email', 'done', 1,"
                    + " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM SYSTEM_RANGE(1, 200000)");
            s.execute("INSERT INTO delivery (cmiuuid, kind, state, attempts, next_attempt_at, created_at) SELECT 'f' || X, 'alert-email', 'failed', 1,"
                    + " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM SYSTEM_RANGE(1, 100)");
            s.execute("INSERT INTO delivery (cmiuuid, kind, state, attempts, next_attempt_at, created_at) SELECT 'd' || X, 'alert-email', 'done', 1,"
                    + " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM SYSTEM_RANGE(1, 100000)");
            s.execute("ANALYZE");
            String[][] cases = {{null, null}, {"alert-email", null}, {null, "failed"}, {"alert-email", "failed"}, {"alert-email", "done"}, {"crm-forward", null}, {"crm-forward", "pending"}};
            for (String[] k : cases) {
                String sql = DeliveryQueries.listQuery(k[0] != null, k[1]);
                try (PreparedStatement ps = c.prepareStatement("EXPLAIN ANALYZE " + sql)) {
                    int i = 0;
                    if (k[0] != null) ps.setString(++i, k[0]);
                    if (k[1] != null) ps.setString(++i, k[1]);
                    ps.setLong(++i, Long.MAX_VALUE);
                    ps.setInt(++i, 51);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        System.out.println("PLAN " + k[0] + "/" + k[1] + ": " + rs.getString(1).replace('\n', ' '));
                    }
                }
            }
        }
    }
}
