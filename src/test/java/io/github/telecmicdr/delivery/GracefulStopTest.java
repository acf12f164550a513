package io.github.telecmicdr.delivery;

import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.store.Database;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.StoredCalls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stopping the service with a backlog of alerts: it finishes the deliveries it has claimed and
 * claims no more, so it stops within its shutdown timeout and leaves no delivery leased (a leased
 * delivery waits out delivery.lease, 2 minutes by default, before anyone sends it). Before, the
 * claim loop kept working through the backlog until the timeout interrupted it mid-batch.
 */
class GracefulStopTest {

    /** Far more than a stop's shutdown timeout can work through, even on a fast machine. */
    private static final int BACKLOG = 20_000;

    @Test
    void aStopWithABacklogLeavesNothingLeasedAndEveryWrittenAlertDone(@TempDir Path data) throws Exception {
        String url = EmbeddedDatabases.h2In(data).url();
        try (HikariDataSource db = Database.open(url, "sa", "", 2, 5000)) {
            planAlerts(db, BACKLOG);
        }

        RunningService service = RunningService.builder()
                .property("data.dir", data.toString())
                .property("db.url", url)
                .property("camel.main.shutdown-timeout", "10")
                .build();
        Path outbox = data.resolve("outbox");
        Await.until(Duration.ofSeconds(60), () -> emlFiles(outbox), n -> n >= 100, "the first alerts in the outbox");
        service.close();
        assertFalse(service.camelContext().getShutdownStrategy().isTimeoutOccurred(),
                "the stop waited for its shutdown timeout: the claim loop kept working through the backlog");

        try (HikariDataSource db = Database.open(url, "sa", "", 2, 5000)) {
            Map<String, Integer> states = states(db);
            assertEquals(null, states.get("in_progress"), "deliveries left leased: " + states);
            // nothing was interrupted mid-attempt either (an interrupted attempt is put back with a retry)
            assertEquals(0, interruptedAttempts(db), "attempts cut short by the shutdown timeout");
            int done = states.getOrDefault("done", 0);
            assertTrue(done < BACKLOG, "the backlog was not left for the next start: " + states);
            assertEquals(BACKLOG, done + states.getOrDefault("pending", 0), states.toString());
            // every alert written was recorded as done, and none was written twice
            assertEquals(done, emlFiles(outbox));
        }
    }

    private static void planAlerts(HikariDataSource db, int count) throws SQLException {
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            StoredCalls.insertWithDueAlert(c, IntStream.range(0, count).mapToObj(i -> "backlog-" + i).toList());
            c.commit();
        }
    }

    private static int interruptedAttempts(HikariDataSource db) throws SQLException {
        try (Connection c = db.getConnection();
             ResultSet rs = c.createStatement().executeQuery("SELECT COUNT(*) FROM delivery WHERE state = 'pending' AND attempts > 0")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static Map<String, Integer> states(HikariDataSource db) throws SQLException {
        Map<String, Integer> states = new TreeMap<>();
        try (Connection c = db.getConnection();
             ResultSet rs = c.createStatement().executeQuery("SELECT state, COUNT(*) FROM delivery GROUP BY state")) {
            while (rs.next()) {
                states.put(rs.getString(1), rs.getInt(2));
            }
        }
        return states;
    }

    private static int emlFiles(Path outbox) {
        if (!Files.isDirectory(outbox)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(outbox)) {
            return (int) files.filter(f -> f.getFileName().toString().endsWith(".eml")).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
