package io.github.telecmicdr.esb;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The notifications the ESB tests post, as TeleCMI sends them, and the CloudEvent each must become
 * on the broker, checked field by field.
 */
public final class EsbEvents {

    public static final String APPID = "2222223";
    /** 2023-11-14T22:13:20Z, the calls' time in TeleCMI's epoch milliseconds. */
    public static final long CALL_TIME_MS = 1_700_000_000_000L;
    public static final String CALL_TIME = "2023-11-14T22:13:20Z";
    /** A caller and a called number as TeleCMI writes Indian numbers: country code, no plus. */
    public static final String CALLER = "919876543210";
    public static final String CALLED = "914461234567";
    private static final ObjectMapper JSON = new ObjectMapper();

    private EsbEvents() {
    }

    /** An incoming answered CDR (not recorded and not alerted: only the ESB publish is planned for it). */
    public static String answeredCdr(String cmiuuid) {
        return "{\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"answered\",\"cmiuuid\":\"" + cmiuuid + "\",\"appid\":" + APPID
                + ",\"from\":" + CALLER + ",\"to\":" + CALLED + ",\"answeredsec\":11,\"time\":" + CALL_TIME_MS
                + ",\"hangup_reason\":\"recv_bye\",\"record\":false,\"team\":\"Sales\"}";
    }

    /** An incoming missed call. */
    public static String missedCall(String cmiuuid) {
        return "{\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"missed\",\"cmiuuid\":\"" + cmiuuid + "\",\"appid\":" + APPID
                + ",\"from\":\"" + CALLER + "\",\"to\":\"" + CALLED + "\",\"waitedsec\":12,\"time\":" + CALL_TIME_MS + "}";
    }

    /** A live event ({@code waiting}, {@code started}, {@code answered}, ...) of a call, which names its app {@code app_id}. */
    public static String liveEvent(String cmiuuid, String status) {
        return "{\"type\":\"event\",\"status\":\"" + status + "\",\"cmiuuid\":\"" + cmiuuid + "\",\"app_id\":" + APPID
                + ",\"from\":\"" + CALLER + "\",\"time\":" + CALL_TIME_MS + "}";
    }

    /**
     * Every delivery GET /api/deliveries lists for that query (e.g. {@code kind=esb-publish&state=done}), all pages.
     *
     * @param get the answer's body for a path and query, with the API token
     */
    public static List<JsonNode> deliveries(UnaryOperator<String> get, String query) {
        List<JsonNode> all = new ArrayList<>();
        String cursor = null;
        do {
            JsonNode page = parse(get.apply("/api/deliveries?limit=500&" + query + (cursor == null ? "" : "&cursor=" + cursor)));
            page.get("deliveries").forEach(all::add);
            cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
        } while (cursor != null);
        return all;
    }

    public static JsonNode parse(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A CloudEvents 1.0 event in structured JSON mode for that notification: the envelope's eight
     * attributes in order, and the call as the CRM forward sends it as its data.
     */
    public static void assertEvent(JsonNode event, String notificationKind, String cmiuuid) {
        List<String> attributes = new ArrayList<>();
        event.fieldNames().forEachRemaining(attributes::add);
        assertEquals(List.of("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"), attributes, event::toString);
        assertEquals("1.0", event.get("specversion").asText());
        assertEquals(notificationKind + ":" + cmiuuid, event.get("id").asText(), "id, the same on every attempt");
        assertEquals("urn:telecmi-cdr-router:" + APPID, event.get("source").asText());
        assertEquals("com.telecmi." + notificationKind, event.get("type").asText());
        assertEquals(cmiuuid, event.get("subject").asText());
        assertEquals(CALL_TIME, event.get("time").asText(), "the call's time");
        assertEquals("application/json", event.get("datacontenttype").asText());
        JsonNode data = event.get("data");
        assertTrue(data.isObject(), "data is the call as a JSON object, not a string: " + data);
        assertEquals(notificationKind, data.get("kind").asText());
        assertEquals(cmiuuid, data.get("cmiuuid").asText());
        assertEquals(APPID, data.get("appid").asText());
        assertEquals(notificationKind.startsWith("live-event-") ? "event" : "cdr", data.get("type").asText());
        assertEquals(CALLER, data.get("from").asText());
        assertEquals("+" + CALLER, data.get("from_e164").asText());
        assertEquals(CALL_TIME, data.get("call_time").asText());
        if (!notificationKind.startsWith("live-event-")) {
            assertEquals(CALLED, data.get("to").asText());
            assertEquals("+" + CALLED, data.get("to_e164").asText());
        }
        for (String field : List.of("status", "direction", "received_at", "virtual_number_e164", "recording_url", "answeredsec")) {
            assertTrue(data.has(field), field + " in data: " + data);
        }
    }
}
