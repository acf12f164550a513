package io.github.telecmicdr.recording;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.RunningService;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.UUID;

import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static io.github.telecmicdr.recording.RecordingDownloadTest.cdr;
import static io.github.telecmicdr.recording.RecordingDownloadTest.mp3;
import static io.github.telecmicdr.recording.RecordingDownloadTest.sha256;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * V3 on a database that already holds recordings, on H2 and on PostgreSQL: each recording learns
 * its TeleCMI file name from its CDR, so a later CDR naming that file shares it instead of asking
 * TeleCMI again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RecordingFilesMigrationTest {

    WireMockServer telecmi;

    @BeforeAll
    void start() {
        telecmi = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        telecmi.start();
    }

    @AfterAll
    void stop() {
        telecmi.stop();
    }

    @Test
    void onH2() throws Exception {
        Path data = Files.createTempDirectory("cdr-router-v3");
        upgradeWithAStoredRecording(data, EmbeddedDatabases.h2In(data), "2.1", "classpath:db/migration", "classpath:db/h2");
    }

    @Test
    void onPostgres() throws Exception {
        upgradeWithAStoredRecording(Files.createTempDirectory("cdr-router-v3"), EmbeddedDatabases.newPostgresDatabase(), "2", "classpath:db/migration");
    }

    /** @param lastBeforeV3 the last migration before V3 on this database (H2 has its own 2.1) */
    void upgradeWithAStoredRecording(Path data, EmbeddedDatabases.Jdbc db, String lastBeforeV3, String... migrations) throws Exception {
        // a database as the version before V3 left it, with one downloaded recording
        Flyway.configure().dataSource(db.url(), db.username(), db.password()).locations(migrations).target(lastBeforeV3).load().migrate();
        String before = UUID.randomUUID().toString();
        String file = UUID.randomUUID() + ".mp3";
        byte[] audio = mp3(10_000);
        Path stored = Files.createDirectories(data.resolve("recordings/2021/10/20")).resolve(before + ".mp3");
        Files.write(stored, audio);
        try (Connection c = DriverManager.getConnection(db.url(), db.username(), db.password())) {
            String[] inserts = {
                "INSERT INTO notification (kind, cmiuuid, appid, http_method, received_at, raw_payload)"
                        + " VALUES ('incoming-answered-cdr', ?, '2222223', 'POST', CURRENT_TIMESTAMP, '{}')",
                "INSERT INTO cdr (cmiuuid, appid, call_status, recorded, recording_filename, received_at)"
                        + " VALUES (?, '2222223', 'answered', TRUE, '" + file + "', CURRENT_TIMESTAMP)",
                "INSERT INTO delivery (cmiuuid, kind, state, attempts, next_attempt_at, created_at, completed_at)"
                        + " VALUES (?, 'recording-download', 'done', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                "INSERT INTO recording (cmiuuid, delivery_id, file_path, content_type, size_bytes, sha256, stored_at)"
                        + " SELECT cmiuuid, id, '2021/10/20/" + before + ".mp3', 'audio/mpeg', " + audio.length + ", '" + sha256(audio) + "',"
                        + " CURRENT_TIMESTAMP FROM delivery WHERE cmiuuid = ?"};
            for (String sql : inserts) {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setString(1, before);
                    ps.executeUpdate();
                }
            }
        }

        telecmi.resetAll();
        try (RunningService service = RunningService.builder()
                .database(db)
                .property("data.dir", data.toString())
                .property("telecmi.api-base-url", "http://127.0.0.1:" + telecmi.port())
                .property("telecmi.appid", RecordingDownloadTest.APPID)
                .property("telecmi.secret", RecordingDownloadTest.SECRET)
                .property("delivery.poll-interval-ms", "100")
                .build()) {
            String after = UUID.randomUUID().toString();
            service.postWebhook(cdr(after, "true", "\"" + file + "\""));
            JsonNode d = service.awaitFinished(after, "recording-download");
            assertEquals("done", d.get("state").asText(), d.toString());
            assertEquals(sha256(audio), service.cdr(after).get("recording").get("sha256").asText());
            assertEquals(0, telecmi.findAll(getRequestedFor(urlPathEqualTo("/v2/play"))).size(), "the stored file is shared, not fetched");
        }
    }
}
