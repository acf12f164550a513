package io.github.telecmicdr.resilience;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The named hostile cases (the random ones are in HostileInputPropertiesTest). */
class HostileInputTest {

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void sqlMetacharactersHugeNumbersAndLongTextAreJustData() throws Exception {
        try (RunningService s = RunningService.onH2()) {
            String id = UUID.randomUUID().toString();
            String custom = "x".repeat(900_000);
            String body = "{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"team\":\"'; DROP TABLE cdr; --\","
                    + "\"user\":\"a\\\" OR 1=1 --\",\"from\":123456789012345678901234567890,\"to\":1e3,\"custom\":\"" + custom + "\"}";
            assertEquals(200, s.postWebhook(body).status());
            JsonNode cdr = s.cdr(id);
            assertEquals("'; DROP TABLE cdr; --", cdr.get("team").asText());
            assertEquals("a\" OR 1=1 --", cdr.get("user").asText());
            assertEquals("123456789012345678901234567890", cdr.get("from").asText());
            assertEquals("1000", cdr.get("to").asText());
            assertEquals(custom.length(), cdr.get("custom").asText().length());
            assertEquals(200, s.api("/api/cdrs?limit=5").status(), "the table is still there");
        }
    }

    @Test
    void nonNumbersAreRefused() {
        try (RunningService s = RunningService.onH2()) {
            for (String token : new String[] {"NaN", "Infinity", "-Infinity", "+1", "01", "1.", ".5"}) {
                Response r = s.postWebhook("{\"cmiuuid\":\"n-1\",\"answeredsec\":" + token + "}");
                assertEquals(400, r.status(), token);
            }
            assertEquals(404, s.api("/api/cdrs/n-1").status());
        }
    }

    @Test
    void aBodyThatTricklesInIsTimedOut() {
        try (RunningService s = RunningService.builder().property("webhook.request-timeout-ms", "1000").build()) {
            // the socket waits up to 15 s: an answer at all means the server ended the request itself
            Response r = s.raw("POST " + s.webhookPath() + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 100\r\n\r\n", "{\"cmiuuid\":".getBytes(StandardCharsets.UTF_8));
            assertEquals(408, r.status(), r.body());
            assertEquals("application/problem+json", r.contentType());
            assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + UUID.randomUUID() + "\"}").status(), "others still served");
        }
    }
}
