package io.github.telecmicdr.store;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.RunningService;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * V7 keys an answered CDR's row by its notification instead of by cmiuuid (no index on a random
 * key to rewrite a page of per stored call). A CDR stored before V7 is still read by cmiuuid, and
 * one stored after it too; a repeat is still a duplicate; and a cdr row without its notification is
 * refused by the foreign key. On H2 and on PostgreSQL.
 */
class CdrKeyMigrationTest {

    @Test
    void onH2() throws Exception {
        Path data = Files.createTempDirectory("cdr-router-v7");
        upgrade(data, EmbeddedDatabases.h2In(data), "classpath:db/migration", "classpath:db/h2");
    }

    @Test
    void onPostgres() throws Exception {
        upgrade(Files.createTempDirectory("cdr-router-v7"), EmbeddedDatabases.newPostgresDatabase(), "classpath:db/migration");
    }

    /** A start stopped half-way through V7 on H2 (column added and filled, old key dropped): the next completes it. */
    @Test
    void aHalfDoneV7IsCompletedOnH2() throws Exception {
        Path data = Files.createTempDirectory("cdr-router-v7-half");
        EmbeddedDatabases.Jdbc db = EmbeddedDatabases.h2In(data);
        Flyway.configure().dataSource(db.url(), db.username(), db.password()).locations("classpath:db/migration", "classpath:db/h2")
                .target("6").load().migrate();
        String before = UUID.randomUUID().toString();
        try (Connection c = DriverManager.getConnection(db.url(), db.username(), db.password()); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO notification (kind, cmiuuid, appid, http_method, received_at, raw_payload)"
                    + " VALUES ('incoming-answered-cdr', '" + before + "', '2222223', 'POST', CURRENT_TIMESTAMP, '{}')");
            st.executeUpdate("INSERT INTO cdr (cmiuuid, appid, call_status, caller_number, recorded, received_at)"
                    + " VALUES ('" + before + "', '2222223', 'answered', '914461234567', FALSE, CURRENT_TIMESTAMP)");
            st.execute("ALTER TABLE cdr ADD COLUMN notification_id BIGINT");
            st.execute("UPDATE cdr SET notification_id = (SELECT id FROM notification WHERE cmiuuid = cdr.cmiuuid)");
            st.execute("ALTER TABLE cdr DROP PRIMARY KEY");
        }
        try (RunningService s = RunningService.builder().database(db).property("data.dir", data.toString()).build()) {
            assertEquals("914461234567", s.cdr(before).get("from").asText());
        }
    }

    void upgrade(Path data, EmbeddedDatabases.Jdbc db, String... migrations) throws Exception {
        Flyway.configure().dataSource(db.url(), db.username(), db.password()).locations(migrations).target("6").load().migrate();
        String before = UUID.randomUUID().toString();
        try (Connection c = DriverManager.getConnection(db.url(), db.username(), db.password())) {
            for (String sql : new String[] {
                "INSERT INTO notification (kind, cmiuuid, appid, http_method, received_at, raw_payload)"
                        + " VALUES ('incoming-answered-cdr', ?, '2222223', 'POST', CURRENT_TIMESTAMP, '{}')",
                "INSERT INTO cdr (cmiuuid, appid, call_status, caller_number, hangup_reason, recorded, received_at)"
                        + " VALUES (?, '2222223', 'answered', '914461234567', 'recv_bye', FALSE, CURRENT_TIMESTAMP)"}) {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setString(1, before);
                    ps.executeUpdate();
                }
            }
        }
        String after = UUID.randomUUID().toString();
        try (RunningService s = RunningService.builder().database(db).property("data.dir", data.toString()).build()) {
            JsonNode old = s.cdr(before);
            assertEquals("914461234567", old.get("from").asText(), old.toString());
            assertEquals("recv_bye", old.get("hangup_reason").asText());

            assertEquals(200, s.postWebhook(answered(after)).status());
            RunningService.Response repeat = s.postWebhook(answered(after));
            assertTrue(repeat.body().contains("duplicate"), repeat.body());
            assertEquals("914461234569", s.cdr(after).get("from").asText());
        }
        try (Connection c = DriverManager.getConnection(db.url(), db.username(), db.password());
             Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM cdr c JOIN notification n ON n.id = c.notification_id"
                    + " AND n.cmiuuid = c.cmiuuid AND n.kind = 'incoming-answered-cdr'")) {
                rs.next();
                assertEquals(2, rs.getInt(1), "each CDR row keyed by its own notification");
            }
            if (db.url().startsWith("jdbc:h2:")) {
                // found through notification's unique (cmiuuid, kind), then cdr's primary key: no scan
                try (ResultSet rs = st.executeQuery("EXPLAIN " + CdrQueries.FIND.replace("?", "'" + before + "'"))) {
                    rs.next();
                    String plan = rs.getString(1);
                    assertTrue(plan.contains("NOTIFICATION_CMIUUID_KIND_KEY") && !plan.contains("tableScan"), plan);
                }
            }
            boolean refused;
            try {
                st.executeUpdate("INSERT INTO cdr (notification_id, cmiuuid, recorded, received_at)"
                        + " VALUES (999999999, 'no-notification', FALSE, CURRENT_TIMESTAMP)");
                refused = false;
            } catch (java.sql.SQLException e) {
                refused = true;
            }
            assertTrue(refused, "a CDR row needs its notification");
            try (ResultSet rs = c.getMetaData().getIndexInfo(c.getCatalog(), c.getSchema(),
                    db.url().startsWith("jdbc:h2:") ? "CDR" : "cdr", false, false)) {
                while (rs.next()) {
                    String column = rs.getString("COLUMN_NAME");
                    assertFalse(column != null && column.equalsIgnoreCase("cmiuuid"), "an index on cdr.cmiuuid: " + rs.getString("INDEX_NAME"));
                }
            }
        }
    }

    static String answered(String cmiuuid) {
        return "{\"cmiuuid\":\"" + cmiuuid + "\",\"appid\":2222223,\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"answered\","
                + "\"from\":\"914461234569\",\"to\":\"914461234567\",\"user\":\"204_2222223\",\"answeredsec\":11,"
                + "\"time\":1700000000000,\"hangup_reason\":\"recv_bye\",\"record\":false}";
    }
}
