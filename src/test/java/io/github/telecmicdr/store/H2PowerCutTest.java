package io.github.telecmicdr.store;

import io.github.telecmicdr.testing.FaultyDisk;
import io.github.telecmicdr.testing.RunningService;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A power cut, not a kill: H2 writes each commit into the operating system's page cache, which a
 * {@code kill -9} keeps (DurableAcknowledgementIT) and a power cut may not. Every CDR the webhook
 * acknowledged must be in the file as the disk holds it after its last force.
 */
class H2PowerCutTest {

    @Test
    void everyAcknowledgedCdrIsOnTheDiskWhenItIsAnswered(@TempDir Path dir) throws Exception {
        Path database = dir.resolve("cdr-router");
        Set<String> acknowledged = new TreeSet<>();
        try (RunningService service = RunningService.builder()
                .property("db.url", FaultyDisk.url(database))
                // compaction forces the file as well: off, only the writer's own forces reach the disk
                .property("db.h2-compaction-interval-ms", "3600000")
                .build()) {
            for (int i = 0; i < 10; i++) {
                acknowledged.add(store(service, "alone-" + i));
            }
            ExecutorService callers = Executors.newFixedThreadPool(40);
            try {
                List<Future<String>> together = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    String cmiuuid = "together-" + i;
                    together.add(callers.submit(() -> store(service, cmiuuid)));
                }
                for (Future<String> f : together) {
                    acknowledged.add(f.get());
                }
            } finally {
                callers.shutdown();
            }
            // the cut comes before the service stops: closing H2 forces its file too
            Path afterTheCut = Files.createDirectories(dir.resolve("after-the-cut")).resolve("cdr-router");
            FaultyDisk.afterPowerCut(database, afterTheCut);
            assertTrue(Files.exists(Path.of(afterTheCut + ".mv.db")), "the database file was never forced to the disk");
            assertEquals(acknowledged, column(afterTheCut, "SELECT cmiuuid FROM notification"), "notifications on the disk");
            assertEquals(acknowledged, column(afterTheCut, "SELECT cmiuuid FROM cdr"), "answered CDRs on the disk");
        }
    }

    @Test
    void aCommitThatCannotBeForcedToTheDiskIsNotAcknowledged(@TempDir Path dir) {
        try (RunningService service = RunningService.builder().property("db.url", FaultyDisk.url(dir.resolve("cdr-router"))).build()) {
            FaultyDisk.failForces(true);
            RunningService.Response r;
            try {
                r = service.postWebhook("{\"cmiuuid\":\"not-forced\",\"status\":\"answered\"}");
            } finally {
                FaultyDisk.failForces(false);
            }
            assertEquals(503, r.status(), r.body());
            assertTrue(r.body().contains("could not force the commit to the disk; please retry"), r.body());
        }
    }

    private static String store(RunningService service, String cmiuuid) {
        RunningService.Response r = service.postWebhook("{\"cmiuuid\":\"" + cmiuuid + "\",\"type\":\"cdr\",\"direction\":\"inbound\","
                + "\"status\":\"answered\",\"from\":\"919876543210\",\"answeredsec\":12,\"record\":false}");
        assertEquals(200, r.status(), r.body());
        assertTrue(r.body().contains("\"status\":\"stored\""), r.body());
        return cmiuuid;
    }

    private static Set<String> column(Path database, String query) throws SQLException {
        Set<String> values = new TreeSet<>();
        try (Connection c = dataSource("jdbc:h2:file:" + database + ";IFEXISTS=TRUE", "sa").getConnection();
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            while (rs.next()) {
                values.add(rs.getString(1));
            }
        }
        return values;
    }

    private static JdbcDataSource dataSource(String url, String user) {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL(url);
        ds.setUser(user);
        return ds;
    }
}
