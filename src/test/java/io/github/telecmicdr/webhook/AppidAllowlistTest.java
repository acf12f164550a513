package io.github.telecmicdr.webhook;

import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With telecmi.allowed-appids set, deliveries naming another app are 403 and not stored; those
 * naming none (older TeleCMI payloads) are admitted on the strength of the path token.
 */
class AppidAllowlistTest {

    static RunningService service;

    @BeforeAll
    static void start() {
        service = RunningService.builder().property("telecmi.allowed-appids", "2222223, 3333334").build();
    }

    @AfterAll
    static void stop() {
        service.close();
    }

    @Test
    void onlyListedAppidsAreAccepted() {
        String ours = UUID.randomUUID().toString();
        assertEquals(200, service.postWebhook("{\"cmiuuid\":\"" + ours + "\",\"appid\":2222223,\"status\":\"answered\"}").status());
        assertEquals(200, service.postWebhook("{\"cmiuuid\":\"" + ours + "\",\"app_id\":\"3333334\",\"type\":\"event\",\"status\":\"waiting\"}").status());

        String theirs = UUID.randomUUID().toString();
        Response other = service.postWebhook("{\"cmiuuid\":\"" + theirs + "\",\"appid\":9999999,\"status\":\"answered\"}");
        assertEquals(403, other.status());
        assertTrue(other.body().contains("\"field\":\"appid\""), other.body());
        Response otherByGet = service.getWebhook("cmiuuid=" + theirs + "&app_id=9999999&status=answered");
        assertEquals(403, otherByGet.status());
        Response tooLong = service.postWebhook("{\"cmiuuid\":\"" + theirs + "\",\"appid\":\"" + "2".repeat(65) + "\"}");
        assertEquals(400, tooLong.status());
        assertTrue(tooLong.body().contains("\"field\":\"appid\""), tooLong.body());
        assertTrue(service.api("/api/notifications?cmiuuid=" + theirs).body().contains("\"notifications\":[]"));
        assertTrue(service.api("/api/notifications?cmiuuid=" + ours).body().contains("live-event-waiting"));
    }

    @Test
    void aDeliveryWithoutAppidIsAdmittedByItsToken() {
        String older = UUID.randomUUID().toString();
        Response byGet = service.getWebhook("cmiuuid=" + older + "&status=answered");
        assertEquals(200, byGet.status(), byGet.body());
        // the older shape: cmiuid, no type, no appid
        String oldest = UUID.randomUUID().toString();
        Response byPost = service.postWebhook("{\"cmiuid\":\"" + oldest + "\",\"duration\":\"12\",\"appid\":\"\"}");
        assertEquals(200, byPost.status(), byPost.body());
        assertEquals(200, service.api("/api/cdrs/" + older).status());
        assertEquals(200, service.api("/api/cdrs/" + oldest).status());
    }
}
