package io.github.telecmicdr.store;

import io.github.telecmicdr.testing.FaultyDisk;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * H2 closes itself when a write fails (a full disk, an I/O error), and stays closed for the pool's
 * connections once the disk has room again: every webhook would answer 503 for good. The service
 * says so in its liveness, so that its supervisor restarts it, and the restart finds every call
 * acknowledged before.
 */
class H2FullDiskTest {

    @Test
    void aDatabaseClosedByAFullDiskTurnsLivenessDownAndARestartReopensIt(@TempDir Path dir) throws Exception {
        Path database = dir.resolve("cdr-router");
        try (RunningService service = RunningService.builder().property("db.url", FaultyDisk.url(database)).build()) {
            assertEquals(200, store(service, "before-the-disk-filled").status());
            assertEquals(200, health(service, "/observe/health/live").status());
            FaultyDisk.fill(true);
            try {
                assertEquals(503, store(service, "while-the-disk-is-full").status());
            } finally {
                FaultyDisk.fill(false);
            }
            assertEquals(503, store(service, "once-the-disk-has-room").status(), "H2 closed itself, and stays closed");
            Response full = health(service, "/observe/health?exposureLevel=full");
            assertTrue(full.body().contains("the H2 database was closed under the service"), full.body());
            Response live = health(service, "/observe/health/live");
            assertEquals(503, live.status(), "a restart is the cure: " + live.body());
        }
        try (RunningService restarted = RunningService.builder().property("db.url", FaultyDisk.url(database)).build()) {
            assertEquals("before-the-disk-filled", restarted.cdr("before-the-disk-filled").get("cmiuuid").asText());
            assertEquals(200, store(restarted, "once-the-disk-has-room").status());
            assertEquals(200, health(restarted, "/observe/health/live").status());
        }
    }

    private static Response store(RunningService service, String cmiuuid) {
        return service.postWebhook("{\"cmiuuid\":\"" + cmiuuid + "\",\"status\":\"answered\",\"record\":false}");
    }

    private static Response health(RunningService service, String path) {
        return service.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.managementPort() + path)).GET());
    }
}
