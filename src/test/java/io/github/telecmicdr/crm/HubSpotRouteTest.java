package io.github.telecmicdr.crm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.client.MappingBuilder;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * routes/examples/hubspot-calls.camel.yaml as a user turns it on (README, "HubSpot"): the example
 * added to the routes include pattern, hubspot-calls in delivery.destinations, a token. WireMock
 * stands in for HubSpot's API: the request it receives is compared whole, body and headers.
 */
class HubSpotRouteTest {

    static final String TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555";
    static final String CALLS = "/crm/v3/objects/calls";
    /** What an HTTP client adds by itself; anything else HubSpot receives, the route sent. */
    static final Set<String> TRANSPORT_HEADERS = Set.of("host", "content-length", "connection", "user-agent", "accept-encoding",
            "transfer-encoding");

    static WireMockServer hubspot;
    static RunningService service;

    @BeforeAll
    static void start() {
        hubspot = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        hubspot.start();
        hubspot.stubFor(post(urlEqualTo(CALLS)).willReturn(aResponse().withStatus(201)
                .withHeader("Content-Type", "application/json").withBody("{\"id\":\"512\",\"properties\":{}}")));
        service = RunningService.builder()
                .property("camel.main.routes-include-pattern", "file:routes/*.camel.yaml,file:routes/examples/hubspot-calls.camel.yaml")
                .property("delivery.destinations", "hubspot-calls")
                .property("hubspot.token", TOKEN)
                .property("hubspot.base-url", hubspot.baseUrl())
                // HubSpot plays recordings from https URLs only: the route sends none otherwise
                .property("public.base-url", "https://calls.example.com")
                // the recording download of the answered call goes here, not to TeleCMI
                .property("telecmi.api-base-url", hubspot.baseUrl())
                // quick retries for the test
                .property("delivery.poll-interval-ms", "100").property("delivery.backoff-initial", "200ms")
                .build();
    }

    @AfterAll
    static void stop() {
        try {
            if (service != null) {
                service.close();
            }
        } finally {
            hubspot.stop();
        }
    }

    @Test
    void anAnsweredRecordedCallIsLoggedAsACompletedCallWithItsRecording() {
        String cmiuuid = UUID.randomUUID().toString();
        assertEquals(200, service.postWebhook("""
                {"cmiuuid":"%s","appid":2222223,"type":"cdr","direction":"inbound","status":"answered",
                 "from":"919876543210","to":"02240001234","virtual_number":440000000000,"time":1700000000615,
                 "answeredsec":11,"user":"204_2222223","team":"Sales_2222223","hangup_reason":"recv_bye","record":true,
                 "filename":"1634720915260737218351_2222223.mp3","conversation_uuid":"%s","ivr_name":"salesivr"}
                """.formatted(cmiuuid, cmiuuid)).status());

        LoggedRequest request = onlyRequestFor(cmiuuid);
        assertBody("""
                {"properties":{
                  "hs_timestamp":"2023-11-14T22:13:20.615Z",
                  "hs_call_direction":"INBOUND",
                  "hs_call_status":"COMPLETED",
                  "hs_call_duration":11000,
                  "hs_call_from_number":"+919876543210",
                  "hs_call_to_number":"+912240001234",
                  "hs_call_recording_url":"https://calls.example.com/recordings/%s",
                  "hs_call_title":"Call from +919876543210",
                  "hs_call_body":"TeleCMI call %s (incoming-answered-cdr); agent 204_2222223; team Sales_2222223; the caller hung up; IVR salesivr"
                }}""".formatted(cmiuuid, cmiuuid), request, "the whole body HubSpot receives");
        assertHeaders(request);
        assertEquals("done", finished(cmiuuid).get("state").asText());
    }

    @Test
    void aMissedCallIsLoggedAsNoAnswerWithTheNumbersAsTheyCanBeRead() {
        String cmiuuid = UUID.randomUUID().toString();
        // a national number with its trunk 0, and an extension that is no phone number: sent as TeleCMI wrote it
        assertEquals(200, service.postWebhook("""
                {"cmiuuid":"%s","status":"missed","from":"09876543210","to":"1234","waitedsec":12,
                 "voicemail":"false","time":1700000000000}
                """.formatted(cmiuuid)).status());

        LoggedRequest request = onlyRequestFor(cmiuuid);
        assertBody("""
                {"properties":{
                  "hs_timestamp":"2023-11-14T22:13:20Z",
                  "hs_call_direction":"INBOUND",
                  "hs_call_status":"NO_ANSWER",
                  "hs_call_duration":0,
                  "hs_call_from_number":"+919876543210",
                  "hs_call_to_number":"1234",
                  "hs_call_title":"Missed call from +919876543210",
                  "hs_call_body":"TeleCMI call %s (incoming-missed-cdr)"
                }}""".formatted(cmiuuid), request, "the whole body HubSpot receives");
        assertHeaders(request);
        assertEquals("done", finished(cmiuuid).get("state").asText());
    }

    @Test
    void aCallRateLimitedByHubSpotIsPostedAgainAfterItsRetryAfter() {
        String cmiuuid = UUID.randomUUID().toString();
        Supplier<MappingBuilder> thisCall = () -> post(urlEqualTo(CALLS))
                .withRequestBody(matchingJsonPath("$.properties.hs_call_body", containing(cmiuuid)));
        hubspot.stubFor(thisCall.get().inScenario("rate limit " + cmiuuid).whenScenarioStateIs(Scenario.STARTED)
                .willReturn(aResponse().withStatus(429).withHeader("Retry-After", "2")
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"status\":\"error\",\"message\":\"You have reached your secondly limit.\",\"errorType\":\"RATE_LIMIT\"}"))
                .willSetStateTo("served"));
        hubspot.stubFor(thisCall.get().inScenario("rate limit " + cmiuuid).whenScenarioStateIs("served")
                .willReturn(aResponse().withStatus(201).withBody("{\"id\":\"513\"}")));

        assertEquals(200, service.postWebhook("""
                {"cmiuuid":"%s","status":"answered","from":"919876543210","to":"02240001234","time":1700000000000,
                 "answeredsec":3,"hangup_reason":"sent_bye"}
                """.formatted(cmiuuid)).status());

        JsonNode delivery = finished(cmiuuid);
        assertEquals("done", delivery.get("state").asText(), delivery.toString());
        assertEquals(2, delivery.get("attempts").asInt(), "one 429, then 201");
        List<LoggedRequest> requests = requestsFor(cmiuuid);
        assertEquals(2, requests.size());
        assertEquals(requests.get(0).getBodyAsString(), requests.get(1).getBodyAsString(), "the same call both times");
        long waitedMs = requests.get(1).getLoggedDate().getTime() - requests.get(0).getLoggedDate().getTime();
        // the engine's own backoff here is 200 ms: only HubSpot's Retry-After makes it wait 2 s
        assertTrue(waitedMs >= 1_900, "posted again after " + waitedMs + " ms, before Retry-After: 2");
    }

    @Test
    void withoutATokenACallFailsAtOnceSayingWhatToSet() {
        String cmiuuid = UUID.randomUUID().toString();
        try (RunningService noToken = RunningService.builder()
                .property("camel.main.routes-include-pattern", "file:routes/*.camel.yaml,file:routes/examples/hubspot-calls.camel.yaml")
                .property("delivery.destinations", "hubspot-calls")
                .property("hubspot.base-url", hubspot.baseUrl())
                .property("delivery.poll-interval-ms", "100")
                .build()) {
            assertEquals(200, noToken.postWebhook("{\"cmiuuid\":\"" + cmiuuid + "\",\"status\":\"missed\",\"from\":\"919876543210\"}").status());
            JsonNode delivery = Await.until(Duration.ofSeconds(60),
                    () -> readTree(noToken.api("/api/deliveries?kind=hubspot-calls&state=failed").body()).get("deliveries"),
                    failed -> failed.size() == 1, "the call's delivery to fail").get(0);
            assertEquals(cmiuuid, delivery.get("cmiuuid").asText());
            assertEquals(1, delivery.get("attempts").asInt(), "not retried: nothing changes until the token is set");
            assertTrue(delivery.get("last_error").asText().contains("hubspot.token is not set"), delivery.toString());
            assertEquals(List.of(), requestsFor(cmiuuid), "HubSpot is not asked");
        }
    }

    @Test
    void theTokenNeverReachesAStoredErrorEvenWhenHubSpotEchoesIt() {
        String cmiuuid = UUID.randomUUID().toString();
        hubspot.stubFor(post(urlEqualTo(CALLS)).withRequestBody(matchingJsonPath("$.properties.hs_call_body", containing(cmiuuid)))
                .willReturn(aResponse().withStatus(401).withBody("{\"status\":\"error\",\"message\":\"The token " + TOKEN + " is expired\"}")));
        assertEquals(200, service.postWebhook("{\"cmiuuid\":\"" + cmiuuid + "\",\"status\":\"missed\",\"from\":\"919876543210\"}").status());

        JsonNode delivery = finished(cmiuuid);
        assertEquals("failed", delivery.get("state").asText(), delivery.toString());
        assertTrue(delivery.toString().contains("CRM answered 401"), delivery.toString());
        assertFalse(delivery.toString().contains(TOKEN), delivery.toString());
        assertFalse(service.api("/api/deliveries?kind=hubspot-calls&state=failed").body().contains(TOKEN));
    }

    /**
     * The call's hubspot-calls delivery once done or failed, as the deliveries API shows it (the CDR
     * API shows answered CDRs only).
     */
    private static JsonNode finished(String cmiuuid) {
        return Await.until(Duration.ofSeconds(60), () -> {
            JsonNode page = readTree(service.api("/api/deliveries?kind=hubspot-calls&limit=100").body());
            for (JsonNode d : page.get("deliveries")) {
                if (d.get("cmiuuid").asText().equals(cmiuuid)) {
                    return d;
                }
            }
            return null;
        }, d -> d != null && Set.of("done", "failed").contains(d.get("state").asText()), "hubspot-calls of " + cmiuuid + " to finish");
    }

    private static JsonNode readTree(String json) {
        try {
            return new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The one request HubSpot received for the call, once it has. */
    private static LoggedRequest onlyRequestFor(String cmiuuid) {
        Await.until(Duration.ofSeconds(60), () -> requestsFor(cmiuuid).size(), n -> n >= 1, "HubSpot to receive " + cmiuuid);
        List<LoggedRequest> requests = requestsFor(cmiuuid);
        assertEquals(1, requests.size(), "one request for " + cmiuuid);
        return requests.get(0);
    }

    private static List<LoggedRequest> requestsFor(String cmiuuid) {
        return hubspot.findAll(postRequestedFor(urlEqualTo(CALLS))
                .withRequestBody(matchingJsonPath("$.properties.hs_call_body", containing(cmiuuid))));
    }

    private static void assertBody(String expectedJson, LoggedRequest request, String what) {
        // exact: no property missing, none extra, no null left in
        assertTrue(equalToJson(expectedJson).match(request.getBodyAsString()).isExactMatch(),
                what + ": expected " + expectedJson + "\nbut HubSpot received " + request.getBodyAsString());
    }

    private static void assertHeaders(LoggedRequest request) {
        assertEquals("Bearer " + TOKEN, request.getHeader("Authorization"));
        assertTrue(equalTo("application/json").match(request.getHeader("Content-Type")).isExactMatch(), request.getHeader("Content-Type"));
        Set<String> sent = request.getHeaders().keys().stream().map(h -> h.toLowerCase(Locale.ROOT))
                .filter(h -> !TRANSPORT_HEADERS.contains(h)).collect(Collectors.toCollection(java.util.TreeSet::new));
        assertEquals(Set.of("authorization", "content-type"), sent, "nothing of the exchange travels as a header");
    }
}
