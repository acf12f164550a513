package io.github.telecmicdr.reconcile;

import io.github.telecmicdr.testing.EmbeddedDatabases;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** V5 on a database V4 left with notifications in it: every one of them came by webhook. */
class SourceMigrationTest {

    @Test
    void onH2() throws Exception {
        upgrade(EmbeddedDatabases.h2In(Files.createTempDirectory("cdr-router-v4")), "classpath:db/migration", "classpath:db/h2");
    }

    @Test
    void onPostgres() throws Exception {
        upgrade(EmbeddedDatabases.newPostgresDatabase(), "classpath:db/migration");
    }

    void upgrade(EmbeddedDatabases.Jdbc db, String... migrations) throws Exception {
        Flyway.configure().dataSource(db.url(), db.username(), db.password()).locations(migrations).target("4").load().migrate();
        try (Connection c = DriverManager.getConnection(db.url(), db.username(), db.password()); Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO notification (kind, cmiuuid, appid, http_method, received_at, raw_payload)"
                    + " VALUES ('incoming-answered-cdr', 'before-v5', '2222223', 'POST', CURRENT_TIMESTAMP, '{}')");
        }
        Flyway.configure().dataSource(db.url(), db.username(), db.password()).locations(migrations).load().migrate();
        try (Connection c = DriverManager.getConnection(db.url(), db.username(), db.password()); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT source, http_method FROM notification WHERE cmiuuid = 'before-v5'")) {
                rs.next();
                assertEquals("webhook", rs.getString(1));
                assertEquals("POST", rs.getString(2));
            }
            // a recovered notification came by no HTTP method
            s.executeUpdate("INSERT INTO notification (kind, cmiuuid, appid, http_method, received_at, raw_payload, source)"
                    + " VALUES ('incoming-answered-cdr', 'after-v5', '2222223', NULL, CURRENT_TIMESTAMP, '{}', 'reconcile')");
            try (ResultSet rs = s.executeQuery("SELECT source, http_method FROM notification WHERE cmiuuid = 'after-v5'")) {
                rs.next();
                assertEquals("reconcile", rs.getString(1));
                assertNull(rs.getString(2));
            }
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM reconcile_state")) {
                rs.next();
                assertEquals(0, rs.getInt(1));
            }
        }
    }
}
