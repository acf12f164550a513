package io.github.telecmicdr.store;

import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A fresh PostgreSQL database is analyzed once it holds its first notifications; nothing else is. */
class FreshStatisticsTest {

    private static final List<String> TABLES = List.of("cdr", "delivery", "notification");

    @Test
    void aFreshPostgresDatabaseIsAnalyzedAfterItsFirstThousandNotifications() throws Exception {
        EmbeddedDatabases.Jdbc pg = EmbeddedDatabases.newPostgresDatabase();
        try (HikariDataSource db = Database.open(pg.url(), pg.username(), pg.password(), 2, 5000)) {
            FreshStatistics statistics = FreshStatistics.of(db);
            assertTrue(statistics.analyzes());
            for (int i = 1; i < FreshStatistics.ROWS; i++) {
                statistics.stored();
            }
            assertTrue(statistics.analyzes(), "still waiting for the " + FreshStatistics.ROWS + "th notification");
            assertEquals(List.of(), analyzed(db), "nothing analyzed yet");

            statistics.stored();
            Await.until(Duration.ofSeconds(30), () -> analyzedByHand(db), TABLES::equals, "notification, cdr and delivery analyzed");
            assertFalse(statistics.analyzes(), "once");
        }
    }

    @Test
    void theServiceAnalyzesAFreshDatabaseAsItStoresItsFirstCalls() throws Exception {
        EmbeddedDatabases.Jdbc pg = EmbeddedDatabases.newPostgresDatabase();
        try (RunningService service = RunningService.builder().database(pg).build();
             HikariDataSource db = Database.pool(pg.url(), pg.username(), pg.password(), 1, 5000)) {
            ExecutorService posting = Executors.newFixedThreadPool(8);
            try {
                List<Future<Integer>> answers = new ArrayList<>();
                for (int i = 0; i < FreshStatistics.ROWS; i++) {
                    String json = "{\"type\":\"cdr\",\"status\":\"missed\",\"cmiuuid\":\"fresh-" + i + "\"}";
                    answers.add(posting.submit(() -> service.postWebhook(json).status()));
                }
                for (Future<Integer> answer : answers) {
                    assertEquals(200, answer.get());
                }
            } finally {
                posting.shutdownNow();
            }
            Await.until(Duration.ofSeconds(30), () -> analyzedByHand(db), TABLES::equals, "notification, cdr and delivery analyzed");
        }
    }

    @Test
    void aDatabaseThatAlreadyHoldsNotificationsIsLeftToAutovacuum() throws Exception {
        EmbeddedDatabases.Jdbc pg = EmbeddedDatabases.newPostgresDatabase();
        try (HikariDataSource db = Database.open(pg.url(), pg.username(), pg.password(), 2, 5000)) {
            try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
                s.executeUpdate("INSERT INTO notification (kind, cmiuuid, http_method, received_at, raw_payload)"
                        + " SELECT 'missed call', 'c-' || n, 'POST', now(), '{}' FROM generate_series(1, " + FreshStatistics.ROWS + ") n");
            }
            assertFalse(FreshStatistics.of(db).analyzes());
        }
    }

    @Test
    void h2PlansWithoutThem() throws Exception {
        try (HikariDataSource db = Database.open("jdbc:h2:mem:fresh-statistics;DB_CLOSE_DELAY=-1", "sa", "", 2, 5000)) {
            assertFalse(FreshStatistics.of(db).analyzes());
        }
    }

    /**
     * The service's tables analyzed by an ANALYZE statement, not by autovacuum (its own column),
     * by name; reported by PostgreSQL's statistics a moment after the ANALYZE.
     */
    private static List<String> analyzedByHand(HikariDataSource db) {
        return names(db, "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
                + " AND relname IN ('cdr', 'delivery', 'notification') ORDER BY relname");
    }

    /**
     * The service's tables that have been analyzed, by name: ANALYZE sets reltuples (-1 until then,
     * PostgreSQL 14 and later) in the same transaction, so this is no later than the ANALYZE.
     */
    private static List<String> analyzed(HikariDataSource db) {
        return names(db, "SELECT relname FROM pg_class WHERE reltuples >= 0 AND relname IN ('cdr', 'delivery', 'notification') ORDER BY relname");
    }

    private static List<String> names(HikariDataSource db, String sql) {
        try (Connection c = db.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            List<String> names = new ArrayList<>();
            while (rs.next()) {
                names.add(rs.getString(1));
            }
            return names;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
