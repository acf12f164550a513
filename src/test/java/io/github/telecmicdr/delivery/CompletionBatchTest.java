package io.github.telecmicdr.delivery;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.operations.CdrMetrics;
import io.github.telecmicdr.store.Database;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.StoredCalls;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Completions share a commit (one JDBC batch). A row another transaction holds past the lock
 * timeout fails only its own completion: the others of the batch are recorded done, not redone
 * (an alert sent again) after their leases.
 */
class CompletionBatchTest {

    private static final String KIND = "alert-email";

    @Test
    void onH2ALockedRowFailsOnlyItsOwnCompletion() throws Exception {
        // H2 fails a statement that waits longer than LOCK_TIMEOUT for a row
        String url = "jdbc:h2:mem:completion-batch-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1;LOCK_TIMEOUT=3000";
        aLockedRowFailsOnlyItsOwnCompletion(url, "sa", "",
                "SELECT COUNT(*) FROM INFORMATION_SCHEMA.SESSIONS WHERE BLOCKER_ID IS NOT NULL");
    }

    @Test
    void onPostgresALockedRowFailsOnlyItsOwnCompletion() throws Exception {
        // PostgreSQL waits for a lock for good unless lock_timeout says otherwise (a deadlock fails
        // the same way, but cannot be staged as reliably)
        EmbeddedDatabases.Jdbc pg = EmbeddedDatabases.newPostgresDatabase();
        String url = pg.url() + (pg.url().contains("?") ? "&" : "?") + "options=-c%20lock_timeout%3D2000";
        aLockedRowFailsOnlyItsOwnCompletion(url, pg.username(), pg.password(), "SELECT COUNT(*) FROM pg_locks WHERE NOT granted");
    }

    /**
     * Claims three deliveries; another transaction holds two of them. The first held one's
     * completion keeps the writer waiting on its lock while the second held one and the free one
     * queue behind it, to share the next commit: the free one is recorded done, the held ones fail.
     */
    private static void aLockedRowFailsOnlyItsOwnCompletion(String url, String user, String password, String lockWaits) throws Exception {
        Clock clock = Clock.systemUTC();
        try (HikariDataSource db = Database.open(url, user, password, 4, 5000)) {
            Deliveries deliveries = new Deliveries(db, new ObjectMapper(), clock, new Deliveries.Settings(5, Duration.ofDays(1),
                    Duration.ofMinutes(5), Duration.ofSeconds(1), Duration.ofMinutes(1), 20, Duration.ofSeconds(60)),
                    new CdrMetrics(new SimpleMeterRegistry(), db, clock), List.of(), () -> false);
            deliveries.start();
            try {
                Database.inTransaction(db, c -> {
                    StoredCalls.insertWithDueAlert(c, List.of("held-first", "held-second", "free"));
                    return null;
                });
                Map<String, Delivery> claimed = new TreeMap<>();
                deliveries.claim(KIND, 3).forEach(d -> claimed.put(d.cmiuuid(), d));
                assertEquals(3, claimed.size());

                try (Connection holder = db.getConnection()) {
                    holder.setAutoCommit(false);
                    try (Statement s = holder.createStatement()) {
                        s.executeUpdate("UPDATE delivery SET last_error = 'held' WHERE cmiuuid IN ('held-first', 'held-second')");
                    }
                    CompletableFuture<Void> first = completing(deliveries, claimed.get("held-first"));
                    Await.until(Duration.ofSeconds(30), () -> count(db, lockWaits) > 0, waiting -> waiting, "the writer waiting on the held row");
                    CompletableFuture<Void> second = completing(deliveries, claimed.get("held-second"));
                    CompletableFuture<Void> free = completing(deliveries, claimed.get("free"));
                    Await.until(Duration.ofSeconds(30), deliveries::completionsWaiting, waiting -> waiting == 3, "three completions waiting");
                    assertTrue(count(db, lockWaits) > 0,
                            "the writer still waits on the first held row, so the other two are taken together after it");

                    free.get();
                    assertInstanceOf(SQLException.class, assertThrows(ExecutionException.class, second::get).getCause());
                    assertInstanceOf(SQLException.class, assertThrows(ExecutionException.class, first::get).getCause());
                    holder.rollback();
                }
                assertEquals(Map.of("free", "done", "held-first", "in_progress", "held-second", "in_progress"), states(db));
            } finally {
                deliveries.stop();
            }
        }
    }

    /** Completes the delivery on a thread of its own, as a delivery route's worker does. */
    private static CompletableFuture<Void> completing(Deliveries deliveries, Delivery delivery) {
        CompletableFuture<Void> completed = new CompletableFuture<>();
        new Thread(() -> {
            try {
                deliveries.complete(delivery);
                completed.complete(null);
            } catch (SQLException | RuntimeException e) {
                completed.completeExceptionally(e);
            }
        }, "completing-" + delivery.cmiuuid()).start();
        return completed;
    }

    private static int count(HikariDataSource db, String sql) {
        try (Connection c = db.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, String> states(HikariDataSource db) throws SQLException {
        Map<String, String> states = new TreeMap<>();
        try (Connection c = db.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT cmiuuid, state FROM delivery")) {
            while (rs.next()) {
                states.put(rs.getString(1), rs.getString(2));
            }
        }
        return states;
    }
}
