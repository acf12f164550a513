package io.github.telecmicdr.operations;

import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Below disk.min-free-bytes the service is not ready and the webhook asks TeleCMI to retry later. */
class DiskSpaceTest {

    @Test
    void aNearlyFullDiskAnswers503AndStoresNothing() {
        // more free space than any disk has: the data folder's disk is "nearly full"
        try (RunningService s = RunningService.builder().property("disk.min-free-bytes", String.valueOf(Long.MAX_VALUE / 2)).build()) {
            String id = UUID.randomUUID().toString();
            Response r = s.postWebhook("{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\"}");
            assertEquals(503, r.status(), r.body());
            assertEquals("30", r.header("Retry-After"));
            assertTrue(r.body().contains("disk"), r.body());
            assertEquals(404, s.api("/api/cdrs/" + id).status(), "nothing was stored");

            Response ready = s.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.managementPort() + "/observe/health/ready")).GET());
            assertEquals(503, ready.status(), ready.body());
            Response full = s.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.managementPort()
                    + "/observe/health?exposureLevel=full")).GET());
            assertTrue(full.body().contains("below disk.min-free-bytes"), full.body());
        }
        try (RunningService s = RunningService.onH2()) {
            assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + UUID.randomUUID() + "\"}").status(), "the default leaves room");
        }
    }
}
