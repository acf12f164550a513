package io.github.telecmicdr.store;

import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.operations.WriterHealthCheck;
import org.apache.camel.health.HealthCheck;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The group-commit writer never leaves a caller waiting for good: an Error in a batch answers its
 * callers and the writer goes on; a writer that hangs makes callers give up after the bound and
 * shows in the health check. On a real H2 database.
 */
class GroupCommitTest {

    /** Far longer than any bound below: a caller still waiting then would wait for good. */
    static final Duration NEVER = Duration.ofSeconds(60);
    HikariDataSource dataSource;

    @BeforeEach
    void open() throws Exception {
        dataSource = Database.pool("jdbc:h2:file:" + Files.createTempDirectory("group-commit").resolve("db") + ";WRITE_DELAY=0",
                "sa", "", 2, 5000);
    }

    @AfterEach
    void close() {
        dataSource.close();
    }

    @Test
    void anErrorInTheWriterAnswersItsCallersAndTheWriterGoesOn() {
        AtomicInteger batches = new AtomicInteger();
        GroupCommit<String, String> commit = new GroupCommit<>("test-writer", dataSource, 16, NEVER, (c, items) -> {
            if (batches.incrementAndGet() == 1) {
                throw new OutOfMemoryError("thrown by the test");
            }
            return items.stream().map(i -> (Object) ("committed " + i)).toArray();
        });
        try {
            SQLException failed = assertTimeoutPreemptively(Duration.ofSeconds(30),
                    () -> assertThrows(SQLException.class, () -> commit.submit("first")), "a caller left waiting after an Error");
            assertTrue(failed.getMessage().contains("OutOfMemoryError"), failed.getMessage());
            assertEquals("committed second", assertTimeoutPreemptively(Duration.ofSeconds(30), () -> commit.submit("second")));
            assertNull(commit.problem());
        } finally {
            commit.stop();
        }
    }

    @Test
    void anErrorHalfWayThroughABatchCommitsNothingOfIt() throws Exception {
        try (java.sql.Connection c = dataSource.getConnection(); java.sql.Statement st = c.createStatement()) {
            st.execute("CREATE TABLE written (item VARCHAR(64))");
        }
        GroupCommit<String, String> commit = new GroupCommit<>("half-writer", dataSource, 16, NEVER, (c, items) -> {
            try (java.sql.PreparedStatement ps = c.prepareStatement("INSERT INTO written (item) VALUES (?)")) {
                ps.setString(1, items.get(0));
                ps.executeUpdate();
            }
            throw new OutOfMemoryError("thrown by the test after the first insert");
        });
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThrows(SQLException.class, () -> commit.submit("half")));
        } finally {
            commit.stop();
        }
        try (java.sql.Connection c = dataSource.getConnection(); java.sql.Statement st = c.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM written")) {
            rs.next();
            assertEquals(0, rs.getInt(1), "the caller was told nothing was stored: nothing was");
        }
    }

    @Test
    void aStuckWriterMakesCallersGiveUpAndTheHealthCheckSaySo() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        GroupCommit<String, String> commit = new GroupCommit<>("stuck-writer", dataSource, 16, Duration.ofMillis(300), (c, items) -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return items.stream().map(i -> (Object) i).toArray();
        });
        HealthCheck health = new WriterHealthCheck("writers", Map.of("notifications", commit::problem), false);
        HealthCheck alive = new WriterHealthCheck("writers-alive", Map.of("notifications", commit::failure), true);
        try {
            assertEquals(HealthCheck.State.UP, health.call().getState());
            SQLTransientException gaveUp = assertTimeoutPreemptively(Duration.ofSeconds(30),
                    () -> assertThrows(SQLTransientException.class, () -> commit.submit("held")));
            assertTrue(gaveUp.getMessage().startsWith("no commit within 300 ms"), gaveUp.getMessage());
            io.github.telecmicdr.testing.Await.until(Duration.ofSeconds(30), commit::problem, p -> p != null, "the writer to be reported");
            HealthCheck.Result down = health.call();
            assertEquals(HealthCheck.State.DOWN, down.getState());
            assertTrue(down.getMessage().orElse("").startsWith("notifications: stuck-writer has been committing one batch for"),
                    down.getMessage().toString());
            // a slow database recovers by itself: not ready, and still live (no restart)
            assertEquals(HealthCheck.State.UP, alive.call().getState());
            release.countDown();
            io.github.telecmicdr.testing.Await.until(Duration.ofSeconds(30), commit::problem, p -> p == null, "the writer to recover");
            assertEquals(HealthCheck.State.UP, health.call().getState());
            // the 300 ms bound holds for this real commit too: on a busy machine, ask until one fits in it
            assertEquals("after", io.github.telecmicdr.testing.Await.until(Duration.ofSeconds(30), () -> {
                try {
                    return commit.submit("after");
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }, "after"::equals, "a commit after the writer recovered"));
        } finally {
            release.countDown();
            commit.stop();
        }
    }
}
