package io.github.telecmicdr.resilience;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
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
                    + "\"user\":\"a\\\" OR 1=1 --\",\"from\":123456789012345678901234567890,\"to\":1e3,"
                    + "\"virtual_number\":1e999,\"custom\":\"" + custom + "\"}";
            assertEquals(200, s.postWebhook(body).status());
            JsonNode cdr = s.cdr(id);
            assertEquals("'; DROP TABLE cdr; --", cdr.get("team").asText());
            assertEquals("a\" OR 1=1 --", cdr.get("user").asText());
            assertEquals("123456789012345678901234567890", cdr.get("from").asText());
            assertEquals("1000", cdr.get("to").asText());
            assertEquals("1" + "0".repeat(999), cdr.get("virtual_number").asText(), "a number written out in 1000 digits still fits");
            // over 16 KiB custom has no typed column: the raw payload keeps all of it
            assertTrue(cdr.get("custom").isNull(), "custom over 16 KiB");
            JsonNode payload = JSON.readTree(s.api("/api/notifications?cmiuuid=" + id).body()).get("notifications").get(0).get("payload");
            assertEquals(custom, payload.get("custom").asText());
            assertEquals(200, s.api("/api/cdrs?limit=5").status(), "the table is still there");

            String fits = UUID.randomUUID().toString();
            String sixteenKiB = "{\\\"k\\\":\\\"" + "v".repeat(16 * 1024 - 8) + "\\\"}";
            assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + fits + "\",\"status\":\"answered\",\"custom\":\"" + sixteenKiB + "\"}").status());
            assertEquals(16 * 1024, s.cdr(fits).get("custom").asText().length(), "custom up to 16 KiB kept in its column");
        }
    }

    /**
     * A number's exponent costs nothing to send and, rounded or written out, millions of digits:
     * each of these took seconds of CPU, or ended in an OutOfMemoryError and a 500.
     */
    @Test
    void numbersWithHugeExponentsAreRefusedNamingTheField() {
        int logMark = LogCapture.get().mark();
        try (RunningService s = RunningService.onH2()) {
            String[][] posts = {
                    {"{\"cmiuuid\":\"a\",\"time\":1e4000000}", "time"},
                    {"{\"cmiuuid\":\"a\",\"time\":\"1e16000000\"}", "time"},
                    {"{\"cmiuuid\":\"a\",\"end_time\":1e-4000000}", "end_time"},
                    {"{\"cmiuuid\":\"a\",\"answeredsec\":1E+2147483647}", "answeredsec"},
                    {"{\"cmiuuid\":\"a\",\"start_time\":10E-2147483648}", "start_time"},
                    {"{\"cmiuuid\":\"a\",\"from\":1e300000000}", "from"},
                    {"{\"cmiuuid\":\"a\",\"to\":-4.2e-2000000000}", "to"},
                    {"{\"cmiuuid\":\"a\",\"virtual_number\":1e1000}", "virtual_number"},
                    {"{\"cmiuuid\":\"a\",\"unknown_field\":1E+2147483648}", "unknown_field"},
                    {"{\"cmiuuid\":\"a\",\"billedsec\":1" + "0".repeat(1000) + "}", "billedsec"},
            };
            for (String[] c : posts) {
                long started = System.nanoTime();
                Response r = s.postWebhook(c[0]);
                System.out.printf("POST %.60s -> %d in %d ms%n", c[0], r.status(), (System.nanoTime() - started) / 1_000_000);
                assertEquals(400, r.status(), c[0] + " -> " + r.body());
                assertTrue(r.body().contains("\"field\":\"" + c[1] + "\""), c[0] + " -> " + r.body());
            }
            for (String[] c : new String[][] {{"cmiuuid=a&time=1e16000000", "time"}, {"cmiuuid=a&waitedsec=1e16000000", "waitedsec"},
                    {"cmiuuid=a&answer_time=1E-2147483647", "answer_time"}, {"cmiuuid=a&duration=9e999999999", "duration"}}) {
                long started = System.nanoTime();
                Response r = s.getWebhook(c[0]);
                System.out.printf("GET %s -> %d in %d ms%n", c[0], r.status(), (System.nanoTime() - started) / 1_000_000);
                assertEquals(400, r.status(), c[0] + " -> " + r.body());
                assertTrue(r.body().contains("\"field\":\"" + c[1] + "\""), c[0] + " -> " + r.body());
            }
        }
        assertEquals(List.of(), LogCapture.get().troubleSince(logMark), "errors or exceptions in the log");
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
        try (RunningService s = RunningService.builder().property("webhook.request-timeout-ms", "5000").build()) {
            // the socket waits up to 60 s: an answer at all means the server ended the request itself; 5 s (not
            // less) so that the request after it is never cut off on a busy machine
            Response r = s.raw("POST " + s.webhookPath() + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 100\r\n\r\n", "{\"cmiuuid\":".getBytes(StandardCharsets.UTF_8));
            assertEquals(408, r.status(), r.body());
            assertEquals("application/problem+json", r.contentType());
            assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + UUID.randomUUID() + "\"}").status(), "others still served");
        }
    }
}
