package io.github.telecmicdr.store;

import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whatever H2 URL a user configures, commits are written through before the answer. */
class H2DurabilityTest {

    @Test
    void addsWhatDurabilityNeedsToAnyH2FileUrl() {
        assertEquals(new H2Durability.Url("jdbc:h2:file:/var/lib/cdr/db;WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE",
                List.of("WRITE_DELAY=0", "DB_CLOSE_ON_EXIT=FALSE")), H2Durability.of("jdbc:h2:file:/var/lib/cdr/db"));
        assertEquals("jdbc:h2:./db;CACHE_SIZE=1024;WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE", H2Durability.of("jdbc:h2:./db;CACHE_SIZE=1024").url());
        assertEquals("jdbc:h2:~/db;WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE", H2Durability.of("jdbc:h2:~/db;").url());
        assertEquals(List.of("DB_CLOSE_ON_EXIT=FALSE"), H2Durability.of("jdbc:h2:file:./db;write_delay=0").added());
        assertEquals(List.of(), H2Durability.of("jdbc:h2:file:./db;WRITE_DELAY=0;DB_CLOSE_ON_EXIT=TRUE").added(), "the user's own choice");
        assertEquals(List.of("WRITE_DELAY=0"), H2Durability.of("jdbc:h2:tcp://db:9092/cdr").added(), "a server closes its own files");
    }

    @Test
    void leavesOtherDatabasesAndMemoryAlone() {
        for (String url : new String[] {"jdbc:postgresql://db:5432/telecmi", "jdbc:h2:mem:test;WRITE_DELAY=500"}) {
            assertEquals(new H2Durability.Url(url, List.of()), H2Durability.of(url));
        }
    }

    @Test
    void refusesAUrlThatDelaysWritesNamingTheSetting() {
        for (String url : new String[] {"jdbc:h2:file:./db;WRITE_DELAY=500", "jdbc:h2:./db;write_delay = 10;CACHE_SIZE=1"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> H2Durability.of(url));
            assertTrue(e.getMessage().startsWith("db.url sets WRITE_DELAY="), e.getMessage());
        }
    }

    @Test
    void aUserStyleUrlRunsWithWritesThroughAndSaysSoOnce() throws Exception {
        Path data = Files.createTempDirectory("cdr-router-user-url");
        int mark = LogCapture.get().mark();
        try (RunningService service = RunningService.builder().property("db.url", "jdbc:h2:file:" + data.resolve("db")).build()) {
            DataSource ds = service.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
            try (Connection c = ds.getConnection(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS WHERE SETTING_NAME = 'WRITE_DELAY'")) {
                assertTrue(rs.next());
                assertEquals("0", rs.getString(1));
            }
            List<String> said = LogCapture.get().since(mark).stream()
                    .filter(l -> l.contains("added WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE")).toList();
            assertEquals(1, said.size(), said.toString());
            assertTrue(!said.get(0).contains(data.toString()), "the URL itself is not logged");
        }
    }
}
