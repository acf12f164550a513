package io.github.telecmicdr.crm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.MappingBuilder;
import com.github.tomakehurst.wiremock.http.HttpHeader;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.StandardWebhooks;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CRM forward against a real HTTP server standing in for the CRM (WireMock): the exact request
 * of an answered and a missed call, its signature checked by a verifier written here (not ours),
 * what each answer of the CRM does to the delivery, a CRM that is down for a while, a call TeleCMI
 * sends twice, and what crm.url and crm.kinds plan.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CrmForwardTest {

    static final String CRM_TOKEN = "crm-token-4f1e9a7b2c5d";
    static final String AUTHORIZATION = "Bearer " + CRM_TOKEN;
    static final byte[] SIGNING_KEY = "crm-forward-test-key-0123456789ab".getBytes(StandardCharsets.UTF_8);
    static final String SIGNING_SECRET = "whsec_" + Base64.getEncoder().encodeToString(SIGNING_KEY);
    static final String PUBLIC_BASE_URL = "https://cdr.example.com/router/";
    static final String CALLS = "/crm/calls";
    static final ObjectMapper JSON = new ObjectMapper();
    /** What Apache HttpClient adds to any request; everything else on the wire must be ours. */
    static final Set<String> TRANSPORT_HEADERS = Set.of("host", "content-length", "connection", "user-agent", "accept-encoding");
    static final Set<String> BODY_FIELDS = Set.of("kind", "cmiuuid", "appid", "type", "direction", "status", "from", "to", "virtual_number",
            "user", "team", "answeredsec", "hangup_reason", "record", "filename", "conversation_uuid", "ivr_name", "custom", "call_time",
            "received_at", "recording_skipped", "source", "from_e164", "to_e164", "virtual_number_e164", "recording_url");

    WireMockServer crm;
    RunningService service;

    @BeforeAll
    void start() {
        LogCapture.get();
        // a fixed port: the CRM is stopped and started again on it (crmDownForAWhile...)
        crm = new WireMockServer(options().bindAddress("127.0.0.1").port(RunningService.freePort()));
        crm.start();
        crm.stubFor(post(urlPathEqualTo(CALLS)).willReturn(aResponse().withStatus(200)));
        // the recorded call's download goes here too, never to TeleCMI
        crm.stubFor(get(urlPathEqualTo("/v2/play")).willReturn(aResponse().withStatus(200).withHeader("Content-Type", "audio/mpeg")
                .withBody(new byte[] {'I', 'D', '3', 4, 0, 0, 0, 0, 0, 0})));
        service = quick(RunningService.builder(), crm)
                .property("crm.url", "http://127.0.0.1:" + crm.port() + CALLS)
                .property("crm.authorization", AUTHORIZATION)
                .property("crm.signing-secret", SIGNING_SECRET)
                .property("public.base-url", PUBLIC_BASE_URL)
                .build();
    }

    @AfterAll
    void stop() {
        try {
            if (service != null) {
                service.close();
            }
        } finally {
            crm.stop();
        }
        for (String secret : List.of(CRM_TOKEN, SIGNING_SECRET, Base64.getEncoder().encodeToString(SIGNING_KEY))) {
            assertTrue(LogCapture.get().linesContaining(secret).isEmpty(), "a CRM secret in the log");
        }
    }

    static RunningService.Builder quick(RunningService.Builder builder, WireMockServer telecmi) {
        return builder.property("telecmi.api-base-url", "http://127.0.0.1:" + telecmi.port())
                .property("telecmi.appid", "2222223")
                .property("telecmi.secret", "telecmi-secret-crm-test")
                .property("delivery.poll-interval-ms", "100")
                .property("delivery.backoff-initial", "200ms")
                // above the Retry-After: 1 below, which is waited only up to backoff-max
                .property("delivery.backoff-max", "2s")
                // long enough that a busy machine never cuts an answer off (a spurious retry breaks exact counts)
                .property("crm.timeout-ms", "5000");
    }

    // ---- what TeleCMI sends ----

    static String answered(String id, String from, String to, String virtualNumber, boolean recorded) {
        return "{\"cmiuuid\":\"" + id + "\",\"appid\":2222223,\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"answered\","
                + "\"from\":" + from + ",\"to\":" + to + ",\"virtual_number\":" + virtualNumber + ",\"user\":\"agent7@2222223\","
                + "\"team\":\"Sales\",\"answeredsec\":42,\"time\":1634720920615,\"hangup_reason\":\"sent_bye\",\"record\":" + recorded
                + ",\"filename\":\"" + id + ".mp3\",\"conversation_uuid\":\"conv-" + id + "\",\"ivr_name\":\"Main menu\","
                + "\"custom\":\"{\\\"lead\\\":17}\"}";
    }

    static String answered(String id) {
        return answered(id, "\"919876543210\"", "\"02240001234\"", "\"447911123456\"", false);
    }

    static String missed(String id, String from, String to, String virtualNumber) {
        return "{\"cmiuuid\":\"" + id + "\",\"appid\":2222223,\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"missed\","
                + "\"from\":" + from + ",\"to\":" + to + ",\"virtual_number\":" + virtualNumber + ",\"waitedsec\":12,"
                + "\"voicemail\":\"false\",\"hangup_reason\":\"recv_cancel\",\"time\":1700000000000}";
    }

    static String id() {
        return UUID.randomUUID().toString();
    }

    // ---- what the CRM and the API saw ----

    /** The CRM's requests for the call, in the order it received them. */
    List<LoggedRequest> requestsOf(WireMockServer server, String cmiuuid) {
        List<LoggedRequest> all = new ArrayList<>(server.findAll(postRequestedFor(urlPathEqualTo(CALLS))
                .withRequestBody(matchingJsonPath("$.cmiuuid", equalTo(cmiuuid)))));
        all.sort(Comparator.comparing(LoggedRequest::getLoggedDate));
        return all;
    }

    List<LoggedRequest> requestsOf(String cmiuuid) {
        return requestsOf(crm, cmiuuid);
    }

    /** The call's crm-forward deliveries, whatever its notification kind (the API's list; /api/cdrs shows answered CDRs only). */
    static List<JsonNode> crmDeliveries(RunningService s, String cmiuuid) {
        RunningService.Response r = s.api("/api/deliveries?kind=crm-forward&limit=500");
        assertEquals(200, r.status(), r.body());
        List<JsonNode> found = new ArrayList<>();
        try {
            for (JsonNode d : JSON.readTree(r.body()).get("deliveries")) {
                if (d.get("cmiuuid").asText().equals(cmiuuid)) {
                    found.add(d);
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return found;
    }

    static JsonNode awaitDone(RunningService s, String cmiuuid) {
        return Await.until(Duration.ofSeconds(60), () -> crmDeliveries(s, cmiuuid),
                l -> l.size() == 1 && l.get(0).get("state").asText().equals("done"), "the crm-forward of " + cmiuuid + " done").get(0);
    }

    static JsonNode body(LoggedRequest r) throws Exception {
        return JSON.readTree(r.getBody());
    }

    /** Signed as a receiver checks it ({@link StandardWebhooks}, not our {@link WebhookSignature}), within its replay window. */
    static void assertSigned(LoggedRequest r, byte[] key) {
        String timestamp = r.getHeader("webhook-timestamp");
        assertTrue(timestamp.matches("[0-9]{10}"), "Unix seconds: " + timestamp);
        // the receiver's replay window (5 minutes in the specification's libraries)
        assertTrue(Math.abs(Instant.now().getEpochSecond() - Long.parseLong(timestamp)) < 300, timestamp);
        assertEquals(r.getHeader("Idempotency-Key"), r.getHeader("webhook-id"));
        assertTrue(StandardWebhooks.verifies(r.getHeader("webhook-id"), timestamp, r.getHeader("webhook-signature"), r.getBody(), key),
                "the signature verifies over the bytes received: " + r.getHeader("webhook-signature"));
        byte[] tampered = r.getBody().clone();
        tampered[tampered.length / 2] ^= 1;
        assertFalse(StandardWebhooks.verifies(r.getHeader("webhook-id"), timestamp, r.getHeader("webhook-signature"), tampered, key),
                "the verifier rejects a changed body");
    }

    /** Every header on the wire is ours or the HTTP client's: no Camel header, no header of the exchange. */
    static void assertOnlyOurHeaders(LoggedRequest r, Set<String> ours) {
        Set<String> names = new TreeSet<>();
        for (HttpHeader h : r.getHeaders().all()) {
            names.add(h.key().toLowerCase());
        }
        Set<String> unexpected = new TreeSet<>(names);
        unexpected.removeAll(TRANSPORT_HEADERS);
        unexpected.removeAll(ours);
        assertTrue(unexpected.isEmpty(), "headers that are neither ours nor the HTTP client's: " + unexpected + " in\n" + r.getHeaders());
        assertTrue(names.containsAll(ours), "missing some of " + ours + " in\n" + r.getHeaders());
    }

    // ---- the request ----

    @Test
    void anAnsweredCallIsPostedAsTheReadApiShowsItSignedWithItsIdempotencyKey() throws Exception {
        String recordedCall = id();
        String plainCall = id();
        assertEquals(200, service.postWebhook(answered(recordedCall, "\"919876543210\"", "\"02240001234\"", "\"447911123456\"", true)).status());
        assertEquals(200, service.postWebhook(answered(plainCall, "12345", "\"+44 20 7946 0958\"", "\"09876543210\"", false)).status());
        JsonNode delivery = awaitDone(service, recordedCall);
        assertEquals(1, delivery.get("attempts").asInt());
        assertEquals("incoming-answered-cdr", delivery.get("notification_kind").asText());
        awaitDone(service, plainCall);

        List<LoggedRequest> requests = requestsOf(recordedCall);
        assertEquals(1, requests.size());
        LoggedRequest r = requests.get(0);
        System.out.println("CRM request headers as received:\n" + r.getHeaders().toString().replace(CRM_TOKEN, "<crm token>"));
        assertEquals("POST", r.getMethod().getName());
        assertEquals(CALLS, r.getUrl());
        assertEquals("application/json", r.getHeader("Content-Type"), "exactly, no charset appended");
        assertEquals("incoming-answered-cdr:" + recordedCall, r.getHeader("Idempotency-Key"));
        assertEquals(AUTHORIZATION, r.getHeader("Authorization"));
        assertOnlyOurHeaders(r, Set.of("content-type", "idempotency-key", "authorization", "webhook-id", "webhook-timestamp", "webhook-signature"));
        assertSigned(r, SIGNING_KEY);

        JsonNode call = body(r);
        System.out.println("CRM body of an answered, recorded call:\n" + call.toPrettyString());
        assertEquals(BODY_FIELDS, fieldNames(call));
        assertEquals("incoming-answered-cdr", call.get("kind").asText());
        assertEquals("+919876543210", call.get("from_e164").asText(), "an Indian mobile in bare digits with its country code");
        assertEquals("+912240001234", call.get("to_e164").asText(), "an Indian landline with its trunk 0");
        assertEquals("+447911123456", call.get("virtual_number_e164").asText(), "a UK number in bare digits");
        assertEquals("https://cdr.example.com/router/recordings/" + recordedCall, call.get("recording_url").asText(),
                "ours under public.base-url, never TeleCMI's");
        // the call as the read API shows it: the same names, the same values
        JsonNode api = service.cdr(recordedCall);
        Iterator<Map.Entry<String, JsonNode>> fields = api.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            if (!f.getKey().equals("deliveries") && !f.getKey().equals("recording")) {
                assertEquals(f.getValue(), call.get(f.getKey()), f.getKey());
            }
        }
        assertEquals(42, call.get("answeredsec").asInt());
        assertEquals("{\"lead\":17}", call.get("custom").asText());
        assertEquals("2021-10-20T09:08:40.615Z", call.get("call_time").asText());

        JsonNode plain = body(requestsOf(plainCall).get(0));
        assertEquals("12345", plain.get("from").asText());
        assertTrue(plain.get("from_e164").isNull(), "not a valid number: null");
        assertEquals("+442079460958", plain.get("to_e164").asText(), "a UK number written internationally");
        assertEquals("+919876543210", plain.get("virtual_number_e164").asText(), "an Indian mobile with its trunk 0");
        assertFalse(plain.get("record").asBoolean());
        assertTrue(plain.get("recording_url").isNull(), "not recorded: null");

        // recorded, but under a file name that is never fetched: no recording of ours to point at
        String skipped = id();
        assertEquals(200, service.postWebhook(answered(skipped, "\"919876543210\"", "\"02240001234\"", "null", true)
                .replace(skipped + ".mp3", "../" + skipped + ".mp3")).status());
        awaitDone(service, skipped);
        JsonNode skippedCall = body(requestsOf(skipped).get(0));
        assertTrue(skippedCall.get("record").asBoolean() && !skippedCall.get("recording_skipped").isNull(), skippedCall.toString());
        assertTrue(skippedCall.get("recording_url").isNull(), "a skipped recording: null");
        assertTrue(skippedCall.get("virtual_number").isNull() && skippedCall.get("virtual_number_e164").isNull(), skippedCall.toString());
    }

    @Test
    void aMissedCallIsPostedWithItsKindAndTheSameFieldNames() throws Exception {
        String id = id();
        assertEquals(200, service.postWebhook(missed(id, "\"not a number\"", "\"02240001234\"", "\"+44 20 7946 0958\"")).status());
        JsonNode delivery = awaitDone(service, id);
        assertEquals("incoming-missed-cdr", delivery.get("notification_kind").asText());

        LoggedRequest r = requestsOf(id).get(0);
        assertEquals("application/json", r.getHeader("Content-Type"));
        assertEquals("incoming-missed-cdr:" + id, r.getHeader("Idempotency-Key"), "the notification kind, not the delivery kind");
        assertEquals(AUTHORIZATION, r.getHeader("Authorization"));
        assertOnlyOurHeaders(r, Set.of("content-type", "idempotency-key", "authorization", "webhook-id", "webhook-timestamp", "webhook-signature"));
        assertSigned(r, SIGNING_KEY);

        JsonNode call = body(r);
        System.out.println("CRM body of a missed call:\n" + call.toPrettyString());
        assertEquals(BODY_FIELDS, fieldNames(call), "every field present, absent ones null");
        assertEquals("incoming-missed-cdr", call.get("kind").asText());
        assertEquals(id, call.get("cmiuuid").asText());
        assertEquals("missed", call.get("status").asText());
        assertEquals("recv_cancel", call.get("hangup_reason").asText());
        assertEquals("2023-11-14T22:13:20Z", call.get("call_time").asText());
        assertTrue(call.get("answeredsec").isNull() && call.get("user").isNull() && call.get("filename").isNull(), call.toString());
        assertTrue(call.get("from_e164").isNull(), "not a number: null");
        assertEquals("+912240001234", call.get("to_e164").asText());
        assertEquals("+442079460958", call.get("virtual_number_e164").asText());
        assertTrue(call.get("recording_url").isNull());
    }

    static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new TreeSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    // ---- the answers ----

    /** The CRM's first answer for this call, then 200. */
    void firstAnswer(String id, com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder first) {
        MappingBuilder call = post(urlPathEqualTo(CALLS)).withRequestBody(matchingJsonPath("$.cmiuuid", equalTo(id)));
        crm.stubFor(call.inScenario(id).whenScenarioStateIs(Scenario.STARTED).willReturn(first).willSetStateTo("up"));
        crm.stubFor(post(urlPathEqualTo(CALLS)).withRequestBody(matchingJsonPath("$.cmiuuid", equalTo(id)))
                .inScenario(id).whenScenarioStateIs("up").willReturn(aResponse().withStatus(200)));
    }

    @Test
    void aCookieTheCrmSetsIsNotSentBack() {
        String id = id();
        firstAnswer(id, aResponse().withStatus(503).withHeader("Set-Cookie", "lb=node-7; Path=/").withBody("busy"));
        assertEquals(200, service.postWebhook(answered(id)).status());
        assertEquals(2, awaitDone(service, id).get("attempts").asInt());
        List<LoggedRequest> requests = requestsOf(id);
        assertEquals(2, requests.size());
        assertNull(requests.get(1).getHeader("Cookie"), "the second forward carries the CRM's cookie");
    }

    /**
     * Camel configures to: http and to: https as two components: the CRM's URL (and a destination a
     * user adds) is https in production, and it must not retry by itself or wait without bound.
     */
    @Test
    void httpsEndpointsAreConfiguredAsHttpOnesAre() {
        for (String scheme : List.of("http", "https")) {
            org.apache.camel.component.http.HttpComponent http = service.camelContext().getComponent(scheme,
                    org.apache.camel.component.http.HttpComponent.class);
            assertTrue(http.isAutomaticRetriesDisabled(), scheme + ": the HTTP client retries by itself");
            assertTrue(http.isCookieManagementDisabled(), scheme + ": cookies kept");
            assertEquals(10_000, http.getConnectTimeout(), scheme);
            assertEquals(60_000, http.getResponseTimeout(), scheme);
            assertEquals(60_000, http.getSoTimeout(), scheme);
        }
    }

    @Test
    void busyAnswersAreRetriedNoSoonerThanRetryAfterWithTheSameIdempotencyKey() throws Exception {
        for (int status : new int[] {503, 429}) {
            String id = id();
            firstAnswer(id, aResponse().withStatus(status).withHeader("Retry-After", "1").withBody("slow down"));
            assertEquals(200, service.postWebhook(answered(id)).status());
            JsonNode delivery = awaitDone(service, id);
            assertEquals(2, delivery.get("attempts").asInt(), status + " then 200");

            List<LoggedRequest> requests = requestsOf(id);
            assertEquals(2, requests.size(), "one retry after " + status);
            LoggedRequest first = requests.get(0);
            LoggedRequest second = requests.get(1);
            assertEquals("incoming-answered-cdr:" + id, first.getHeader("Idempotency-Key"));
            assertEquals(first.getHeader("Idempotency-Key"), second.getHeader("Idempotency-Key"), "the same key on every attempt");
            assertEquals(first.getHeader("webhook-id"), second.getHeader("webhook-id"));
            assertEquals(first.getBodyAsString(), second.getBodyAsString(), "the same body on every attempt");
            assertSigned(first, SIGNING_KEY);
            assertSigned(second, SIGNING_KEY);
            long waited = second.getLoggedDate().getTime() - first.getLoggedDate().getTime();
            System.out.println("after " + status + " with Retry-After: 1 the second attempt came " + waited + " ms after the first");
            // a lower bound only: the backoff alone would have retried after 100-200 ms
            assertTrue(waited >= 950, "Retry-After: 1 honoured after " + status + ": " + waited + " ms");
        }
    }

    @Test
    void aClientErrorFailsAtOnceWithTheAnswerInTheApiAndNoSecret() throws Exception {
        String id = id();
        // the CRM echoes the Authorization it got, as careless error pages do
        crm.stubFor(post(urlPathEqualTo(CALLS)).withRequestBody(matchingJsonPath("$.cmiuuid", equalTo(id)))
                .willReturn(aResponse().withStatus(400).withHeader("Content-Type", "application/json").withTransformers("response-template")
                        .withBody("{\"error\":\"invalid field 'to' (credentials {{request.headers.Authorization}})\",\n\"detail\":\""
                                + "x".repeat(300) + "\"}")));
        assertEquals(200, service.postWebhook(answered(id)).status());
        JsonNode delivery = service.awaitFinished(id, "crm-forward");
        assertEquals("failed", delivery.get("state").asText(), delivery.toString());
        assertEquals(1, delivery.get("attempts").asInt(), "not retried");
        assertEquals(1, requestsOf(id).size());
        assertTrue(requestsOf(id).get(0).getHeader("Authorization").equals(AUTHORIZATION));
        String error = delivery.get("last_error").asText();
        System.out.println("last_error after a 400: " + error);
        assertTrue(error.startsWith("CRM answered 400: {\"error\":\"invalid field 'to' (credentials "), error);
        assertFalse(error.contains(CRM_TOKEN), "the crm.authorization value in the stored error: " + error);
        assertTrue(error.contains("****"), "redacted where it was: " + error);
        String excerpt = error.substring("CRM answered 400: ".length());
        assertTrue(excerpt.endsWith("…") && excerpt.length() <= 201, "the first 200 characters: " + excerpt.length());
        assertFalse(error.contains("\n"), "one line");
        assertFalse(service.api("/api/cdrs/" + id).body().contains(CRM_TOKEN));
    }

    @Test
    void anyTwoHundredAndAConflictAreDone() {
        // 409: the CRM has the call already (it saw the Idempotency-Key before)
        for (int status : new int[] {202, 204, 409}) {
            String id = id();
            crm.stubFor(post(urlPathEqualTo(CALLS)).withRequestBody(matchingJsonPath("$.cmiuuid", equalTo(id)))
                    .willReturn(status == 204 ? aResponse().withStatus(204)
                            : aResponse().withStatus(status).withBody("{\"error\":\"duplicate Idempotency-Key\"}")));
            assertEquals(200, service.postWebhook(answered(id)).status());
            JsonNode delivery = service.awaitFinished(id, "crm-forward");
            assertEquals("done", delivery.get("state").asText(), status + ": " + delivery);
            assertEquals(1, delivery.get("attempts").asInt());
            assertEquals(1, requestsOf(id).size());
        }
    }

    @Test
    void aRedirectIsNotFollowed() {
        String id = id();
        String elsewhere = "/crm/elsewhere-" + id;
        crm.stubFor(post(urlPathEqualTo(elsewhere)).willReturn(aResponse().withStatus(200)));
        crm.stubFor(post(urlPathEqualTo(CALLS)).withRequestBody(matchingJsonPath("$.cmiuuid", equalTo(id)))
                .willReturn(aResponse().withStatus(302).withHeader("Location", "http://127.0.0.1:" + crm.port() + elsewhere)));
        assertEquals(200, service.postWebhook(answered(id)).status());
        JsonNode delivery = service.awaitFinished(id, "crm-forward");
        assertEquals("failed", delivery.get("state").asText(), delivery.toString());
        assertEquals(1, delivery.get("attempts").asInt());
        assertTrue(delivery.get("last_error").asText().startsWith("CRM answered 302"), delivery.toString());
        assertEquals(1, requestsOf(id).size());
        assertEquals(0, crm.findAll(anyRequestedFor(urlPathEqualTo(elsewhere))).size(), "the Location was never requested");
    }

    // ---- outages and repeats ----

    @Test
    void aCrmDownForAWhileGetsEveryCallOnceItIsBack() throws Exception {
        List<String> ids = new ArrayList<>();
        crm.stop();
        try {
            for (int i = 0; i < 3; i++) {
                String answeredCall = id();
                String missedCall = id();
                ids.add(answeredCall);
                ids.add(missedCall);
                assertEquals(200, service.postWebhook(answered(answeredCall)).status());
                assertEquals(200, service.postWebhook(missed(missedCall, "\"919876543210\"", "\"02240001234\"", "null")).status());
            }
            // each was tried and refused at least twice while the CRM was down
            for (String id : ids) {
                JsonNode d = Await.until(Duration.ofSeconds(60), () -> crmDeliveries(service, id),
                        l -> l.size() == 1 && l.get(0).get("attempts").asInt() >= 2 && l.get(0).get("state").asText().equals("pending"),
                        "the forward of " + id + " retried while the CRM is down").get(0);
                assertFalse(d.get("last_error").isNull(), d.toString());
            }
            System.out.println("last_error while the CRM was down: " + crmDeliveries(service, ids.get(0)).get(0).get("last_error"));
        } finally {
            crm.start();
        }
        for (String id : ids) {
            JsonNode d = awaitDone(service, id);
            assertTrue(d.get("attempts").asInt() >= 3, d.toString());
            assertEquals(1, requestsOf(id).size(), "one request per successful answer for " + id);
        }
    }

    @Test
    void aCallTelecmiSendsTwiceReachesTheCrmOnce() throws Exception {
        String id = id();
        assertEquals(200, service.postWebhook(answered(id)).status());
        RunningService.Response again = service.postWebhook(answered(id));
        assertEquals(200, again.status());
        assertTrue(again.body().contains("\"duplicate\""), again.body());
        String later = id();
        assertEquals(200, service.postWebhook(answered(later)).status());
        awaitDone(service, id);
        // once a later call is done, the poller has passed over everything due before it
        awaitDone(service, later);
        assertEquals(1, crmDeliveries(service, id).size(), "the repeat planned nothing");
        assertEquals(1, requestsOf(id).size(), "the CRM got the call once");
    }

    @Test
    void onlyTheKindsInCrmKindsAreForwarded() throws Exception {
        String id = id();
        // a live event and the user-missed leg of a call: not in the default crm.kinds
        assertEquals(200, service.postWebhook("{\"type\":\"event\",\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"direction\":\"inbound\","
                + "\"from\":\"919876543210\",\"to\":\"02240001234\"}").status());
        assertEquals(200, service.postWebhook("{\"cmiuuid\":\"" + id + "\",\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"missed\","
                + "\"leg\":\"b\",\"hangup_reason\":\"recv_cancel\",\"from\":\"919876543210\"}").status());
        // planned in the webhook's own transaction: what the answer acknowledged is all there is
        assertEquals(0, crmDeliveries(service, id).size());
        String later = id();
        assertEquals(200, service.postWebhook(answered(later)).status());
        awaitDone(service, later);
        assertEquals(0, requestsOf(id).size());
    }

    // ---- other configurations ----

    @Test
    void noCrmUrlPlansNothing() throws Exception {
        try (RunningService s = quick(RunningService.builder(), crm).build()) {
            String answeredCall = id();
            String missedCall = id();
            assertEquals(200, s.postWebhook(answered(answeredCall)).status());
            assertEquals(200, s.postWebhook(missed(missedCall, "\"919876543210\"", "\"02240001234\"", "null")).status());
            assertEquals(0, crmDeliveries(s, answeredCall).size());
            assertEquals(0, crmDeliveries(s, missedCall).size());
            assertEquals("[]", JSON.readTree(s.api("/api/deliveries?kind=crm-forward").body()).get("deliveries").toString());
        }
    }

    /**
     * crm.kinds naming a missed call and a live event, a raw signing secret, no Authorization, and
     * a short crm.timeout-ms: a live event and the missed CDR of one call are two forwards with two
     * keys; an answer slower than the timeout is retried.
     */
    @Test
    void crmKindsRawSecretAndTimeout() throws Exception {
        String rawSecret = "raw-signing-secret-8d7c6b";
        WireMockServer other = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        other.start();
        // a crm.url with a query of its own (an Azure Functions ?code=): sent exactly as written
        String query = "code=abc%2F123-_.&x=1";
        try (RunningService s = quick(RunningService.builder(), other)
                .property("crm.url", "http://127.0.0.1:" + other.port() + CALLS + "?" + query)
                .property("crm.kinds", "incoming-missed-cdr,live-event-answered")
                .property("crm.signing-secret", rawSecret)
                .property("crm.timeout-ms", "1000")
                .build()) {
            String id = id();
            String answeredCall = id();
            other.stubFor(post(urlPathEqualTo(CALLS)).willReturn(aResponse().withStatus(200)));
            // the missed CDR's first answer comes after the timeout
            other.stubFor(post(urlPathEqualTo(CALLS)).withRequestBody(matchingJsonPath("$.kind", equalTo("incoming-missed-cdr")))
                    .inScenario("slow").whenScenarioStateIs(Scenario.STARTED)
                    .willReturn(aResponse().withStatus(200).withFixedDelay(3000)).willSetStateTo("quick"));
            other.stubFor(post(urlPathEqualTo(CALLS)).withRequestBody(matchingJsonPath("$.kind", equalTo("incoming-missed-cdr")))
                    .inScenario("slow").whenScenarioStateIs("quick").willReturn(aResponse().withStatus(200)));

            assertEquals(200, s.postWebhook(answered(answeredCall)).status());
            assertEquals(200, s.postWebhook("{\"type\":\"event\",\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"direction\":\"inbound\","
                    + "\"from\":\"919876543210\",\"to\":\"02240001234\"}").status());
            assertEquals(200, s.postWebhook(missed(id, "\"919876543210\"", "\"02240001234\"", "\"447911123456\"")).status());
            assertEquals(0, crmDeliveries(s, answeredCall).size(), "an answered call is not in these crm.kinds");

            List<JsonNode> deliveries = Await.until(Duration.ofSeconds(60), () -> crmDeliveries(s, id),
                    l -> l.size() == 2 && l.stream().allMatch(d -> d.get("state").asText().equals("done")), "both forwards done");
            JsonNode missedDelivery = deliveries.stream().filter(d -> d.get("notification_kind").asText().equals("incoming-missed-cdr"))
                    .findFirst().orElseThrow();
            assertEquals(2, missedDelivery.get("attempts").asInt(), "the timed-out attempt and the one answered in time");

            List<LoggedRequest> requests = requestsOf(other, id);
            assertEquals(3, requests.size(), "the live event once, the missed CDR twice");
            Set<String> keys = new TreeSet<>();
            for (LoggedRequest r : requests) {
                keys.add(r.getHeader("Idempotency-Key"));
                assertEquals(CALLS + "?" + query, r.getUrl(), "the CRM's query as written, nothing added");
                assertNull(r.getHeader("Authorization"), "no crm.authorization, no header");
                assertOnlyOurHeaders(r, Set.of("content-type", "idempotency-key", "webhook-id", "webhook-timestamp", "webhook-signature"));
                assertSigned(r, rawSecret.getBytes(StandardCharsets.UTF_8));
            }
            assertEquals(Set.of("incoming-missed-cdr:" + id, "live-event-answered:" + id), keys);
            JsonNode event = requests.stream().filter(r -> r.getHeader("Idempotency-Key").startsWith("live-event")).map(r -> {
                try {
                    return body(r);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }).findFirst().orElseThrow();
            assertEquals("live-event-answered", event.get("kind").asText());
            assertEquals("event", event.get("type").asText());
            assertEquals(BODY_FIELDS, fieldNames(event));
            assertEquals("+919876543210", event.get("from_e164").asText());
        } finally {
            other.stop();
        }
        assertTrue(LogCapture.get().linesContaining(rawSecret).isEmpty(), "the signing secret in the log");
    }
}
