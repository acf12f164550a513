package io.github.telecmicdr.webhook;

import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** With telecmi.allowed-appids set, deliveries for other apps (or none) are 403 and not stored. */
class AppidAllowlistTest {

    @Test
    void onlyListedAppidsAreAccepted() {
        try (RunningService service = RunningService.builder().property("telecmi.allowed-appids", "2222223, 3333334").build()) {
            String ours = UUID.randomUUID().toString();
            assertEquals(200, service.postWebhook("{\"cmiuuid\":\"" + ours + "\",\"appid\":2222223,\"status\":\"answered\"}").status());
            assertEquals(200, service.postWebhook("{\"cmiuuid\":\"" + ours + "\",\"app_id\":\"3333334\",\"type\":\"event\",\"status\":\"waiting\"}").status());

            String theirs = UUID.randomUUID().toString();
            Response other = service.postWebhook("{\"cmiuuid\":\"" + theirs + "\",\"appid\":9999999,\"status\":\"answered\"}");
            assertEquals(403, other.status());
            assertTrue(other.body().contains("\"field\":\"appid\""), other.body());
            Response none = service.getWebhook("cmiuuid=" + theirs + "&status=answered");
            assertEquals(403, none.status());
            assertTrue(service.api("/api/notifications?cmiuuid=" + theirs).body().contains("\"notifications\":[]"));
            assertTrue(service.api("/api/notifications?cmiuuid=" + ours).body().contains("live-event-waiting"));
        }
    }
}
