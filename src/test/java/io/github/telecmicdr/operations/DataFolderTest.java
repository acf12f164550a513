package io.github.telecmicdr.operations;

import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The data folder (database, generated tokens, alert emails) is the service user's alone: created
 * 700, every folder in it 700 and every file 600, on a first start from nothing.
 */
class DataFolderTest {

    @Test
    void aFirstStartMakesEverythingOwnerOnly() throws Exception {
        Path data = Files.createTempDirectory("cdr-router-perms").resolve("not-yet").resolve("data");
        try (RunningService s = RunningService.builder()
                .property("data.dir", data.toString())
                .property("db.url", "jdbc:h2:file:" + data.resolve("cdr-router"))
                .property("telecmi.webhook.token", "")
                .property("api.token", "")
                .property("delivery.poll-interval-ms", "100")
                .build()) {
            String token = Files.readString(data.resolve("webhook-token")).trim();
            String id = UUID.randomUUID().toString();
            assertEquals(200, s.send(java.net.http.HttpRequest.newBuilder(s.uri("/webhooks/telecmi/" + token))
                    .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                            "{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"hangup_reason\":\"recv_cancel\"}"))).status());
            io.github.telecmicdr.testing.Await.until(java.time.Duration.ofSeconds(60),
                    () -> Files.exists(data.resolve("outbox").resolve(id + ".eml")), done -> done, "the alert in the outbox");

            List<String> wrong = new ArrayList<>();
            try (Stream<Path> all = Files.walk(data)) {
                all.forEach(p -> {
                    try {
                        String expected = Files.isDirectory(p) ? "rwx------" : "rw-------";
                        String actual = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
                        if (!expected.equals(actual)) {
                            wrong.add(data.relativize(p) + " " + actual);
                        }
                    } catch (java.io.IOException e) {
                        // a temporary file that went away while walking
                    }
                });
            }
            assertTrue(wrong.isEmpty(), "not owner-only: " + wrong);
            assertTrue(Files.exists(data.resolve("api-token")));
            assertTrue(Files.list(data).anyMatch(p -> p.getFileName().toString().endsWith(".mv.db")), "the database is there too");
        }
    }
}
