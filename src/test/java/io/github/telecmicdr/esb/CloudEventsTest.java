package io.github.telecmicdr.esb;

import io.github.telecmicdr.delivery.Delivery;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class CloudEventsTest {

    @Test
    void theEnvelopeOfACall() {
        Map<String, Object> call = call("2222223", "2021-10-20T09:08:40.615Z");
        Map<String, Object> event = new CloudEvents("", "").event(call, delivery("incoming-answered-cdr", "c-1"));
        assertEquals(List.of("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"), List.copyOf(event.keySet()));
        assertEquals("1.0", event.get("specversion"));
        assertEquals("incoming-answered-cdr:c-1", event.get("id"));
        assertEquals("urn:telecmi-cdr-router:2222223", event.get("source"));
        assertEquals("com.telecmi.incoming-answered-cdr", event.get("type"));
        assertEquals("c-1", event.get("subject"));
        assertEquals("2021-10-20T09:08:40.615Z", event.get("time"));
        assertEquals("application/json", event.get("datacontenttype"));
        assertSame(call, event.get("data"));
    }

    @Test
    void withoutACallTimeTheTimeItWasReceived() {
        Map<String, Object> event = new CloudEvents("", "").event(call("1", null), delivery("live-event-waiting", "c-2"));
        assertEquals("2026-11-29T08:00:00Z", event.get("time"));
        assertEquals("com.telecmi.live-event-waiting", event.get("type"));
    }

    @Test
    void sourceFromSettingOrAppid() {
        assertEquals("urn:example:pbx", new CloudEvents("urn:example:pbx", "").event(call("1", null), delivery("k", "c")).get("source"));
        // no appid on the call: telecmi.appid, else "unknown"; never a character a URI cannot hold
        assertEquals("urn:telecmi-cdr-router:777", new CloudEvents("", "777").event(call(null, null), delivery("k", "c")).get("source"));
        assertEquals("urn:telecmi-cdr-router:unknown", new CloudEvents("", "").event(call(" ", null), delivery("k", "c")).get("source"));
        assertEquals("urn:telecmi-cdr-router:a%20b%2F%C3%A9", new CloudEvents("", "").event(call("a b/é", null), delivery("k", "c")).get("source"));
    }

    private static Map<String, Object> call(String appid, String callTime) {
        Map<String, Object> call = new LinkedHashMap<>();
        call.put("kind", "incoming-answered-cdr");
        call.put("appid", appid);
        call.put("call_time", callTime);
        call.put("received_at", "2026-11-29T08:00:00Z");
        return call;
    }

    private static Delivery delivery(String notificationKind, String cmiuuid) {
        return new Delivery(1L, 2L, notificationKind, cmiuuid, "esb-publish", 1, Instant.EPOCH, Instant.EPOCH);
    }
}
