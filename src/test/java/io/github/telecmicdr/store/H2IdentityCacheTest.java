package io.github.telecmicdr.store;

import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.StoredCalls;
import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.mvstore.MVStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.UUID;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * On H2, one group commit of many notifications must be one write of the store. H2 commits an
 * identity's position separately each time its cache of ids runs out (every 32 ids by default), so
 * without the db/h2 migration a batch of 256 notifications and their deliveries made ~16 writes.
 */
class H2IdentityCacheTest {

    private static final int BATCH = 256;

    @Test
    void aBatchOfNotificationsAndDeliveriesIsOneWriteOfTheStore(@TempDir Path dir) throws Exception {
        String url = EmbeddedDatabases.h2In(dir).url();
        try (HikariDataSource db = Database.open(url, "sa", "", 2, 5000);
             Connection c = db.getConnection()) {
            MVStore store = ((SessionLocal) c.unwrap(JdbcConnection.class).getSession()).getDatabase().getStore().getMvStore();
            c.setAutoCommit(false);
            insertBatch(c, 1); // the first id of each identity takes its cache: one write each
            c.commit();
            long before = store.getCurrentVersion();
            insertBatch(c, BATCH);
            c.commit();
            long writes = store.getCurrentVersion() - before;
            assertEquals(1, writes, BATCH + " notifications with a delivery each took " + writes + " writes of the store");
            try (ResultSet rs = c.createStatement().executeQuery("SELECT COUNT(*), COUNT(DISTINCT id) FROM notification")) {
                rs.next();
                assertEquals(BATCH + 1, rs.getInt(1));
                assertEquals(BATCH + 1, rs.getInt(2));
            }
        }
    }

    private static void insertBatch(Connection c, int size) throws Exception {
        StoredCalls.insertWithDueAlert(c, Stream.generate(() -> UUID.randomUUID().toString()).limit(size).toList());
    }

    @Test
    void postgresqlKeepsItsDefaultIdentities() {
        assertEquals(1, Database.migrations("jdbc:postgresql://localhost/telecmi").length);
        assertEquals(2, Database.migrations("jdbc:h2:file:./data/cdr-router").length);
    }
}
