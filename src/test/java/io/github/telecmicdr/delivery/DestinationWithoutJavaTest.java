package io.github.telecmicdr.delivery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A destination added without Java, as the README's "Add a destination" shows: one route file in a
 * routes folder of its own (it posts each call to an HTTP endpoint, here WireMock) and two
 * properties (that folder, and the kind in delivery.destinations). Calls of two kinds, a first
 * answer of 500: each call is delivered, the failed one after a retry.
 */
class DestinationWithoutJavaTest {

    static final String ROUTE = """
            - route:
                id: call-webhook
                description: Posts each call to the team's endpoint
                routeConfigurationId: delivery-attempts
                from:
                  uri: delivery:call-webhook
                  steps:
                    - marshal:
                        json:
                          library: Jackson
                    - removeHeaders:
                        pattern: "*"
                    - setHeader:
                        name: Content-Type
                        constant: application/json
                    - to:
                        uri: http://127.0.0.1:PORT/calls
            """;

    @Test
    void aRouteFileAndTwoPropertiesMakeADestination() throws Exception {
        WireMockServer team = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        team.start();
        Path routes = Files.createTempDirectory("team-routes");
        Files.writeString(routes.resolve("call-webhook.camel.yaml"), ROUTE.replace("PORT", String.valueOf(team.port())));
        String answered = UUID.randomUUID().toString();
        String missed = UUID.randomUUID().toString();
        team.stubFor(post(urlPathEqualTo("/calls")).willReturn(aResponse().withStatus(200)));
        // the answered call's first attempt fails (500: Apache HttpClient would itself retry a 503): it is retried
        team.stubFor(post(urlPathEqualTo("/calls")).withRequestBody(matchingJsonPath("$.cmiuuid", equalTo(answered)))
                .inScenario("retry").whenScenarioStateIs(Scenario.STARTED).willReturn(aResponse().withStatus(500)).willSetStateTo("up"));
        team.stubFor(post(urlPathEqualTo("/calls")).withRequestBody(matchingJsonPath("$.cmiuuid", equalTo(answered)))
                .inScenario("retry").whenScenarioStateIs("up").willReturn(aResponse().withStatus(200)));
        int mark = LogCapture.get().mark();
        try (RunningService s = RunningService.builder()
                .property("camel.main.routes-include-pattern", "file:routes/*.camel.yaml,file:" + routes + "/*.camel.yaml")
                .property("delivery.destinations", "call-webhook")
                // quick retries for the test
                .property("delivery.poll-interval-ms", "100").property("delivery.backoff-initial", "200ms")
                .build()) {
            assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + answered + "\",\"status\":\"answered\",\"hangup_reason\":\"recv_bye\"}").status());
            assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + missed + "\",\"status\":\"missed\",\"from\":\"919876543210\","
                    + "\"to\":\"914461234567\",\"waitedsec\":12,\"voicemail\":\"false\",\"time\":1700000000000}").status());

            Await.until(Duration.ofSeconds(60), () -> s.delivery(answered, "call-webhook"),
                    d -> d != null && d.get("state").asText().equals("done"), "the answered call delivered");
            assertEquals(2, s.delivery(answered, "call-webhook").get("attempts").asInt(), "after one retry");
            Await.until(Duration.ofSeconds(60), () -> team.findAll(postRequestedFor(urlPathEqualTo("/calls"))
                    .withRequestBody(matchingJsonPath("$.cmiuuid", equalTo(missed)))).size(), n -> n == 1, "the missed call delivered");
            // the route's body is the stored notification: a missed call's fields under the read API's names
            JsonNode call = new ObjectMapper().readTree(team.findAll(postRequestedFor(urlPathEqualTo("/calls"))
                    .withRequestBody(matchingJsonPath("$.cmiuuid", equalTo(missed)))).get(0).getBodyAsString());
            assertEquals("incoming-missed-cdr", call.get("kind").asText());
            assertEquals("919876543210", call.get("from").asText());
            assertEquals("914461234567", call.get("to").asText());
            assertEquals("missed", call.get("status").asText());
            assertEquals("2023-11-14T22:13:20Z", call.get("call_time").asText());
            assertTrue(call.get("answeredsec").isNull() && call.get("recording_url").isNull() && call.has("virtual_number"), call.toString());
            String deliveries = s.api("/api/deliveries?kind=call-webhook").body();
            assertEquals(2, deliveries.split("\"state\":\"done\"", -1).length - 1, deliveries);
            assertEquals(List.of(), LogCapture.get().since(mark).stream().filter(l -> l.contains("no route works them")).toList(),
                    "every kind planned, the shipped ones included, has its route");
        } finally {
            team.stop();
        }
    }

    @Test
    void aDestinationPlannedWithoutARouteThatWorksItIsNamedAtStart() {
        int mark = LogCapture.get().mark();
        // a typo in the kind, or a route file not copied: nothing works deliveries of that kind
        java.nio.file.Path data;
        try (RunningService s = RunningService.builder().property("delivery.destinations", "call-webhok").build()) {
            data = s.dataDir();
            String id = UUID.randomUUID().toString();
            assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\"}").status());
            assertEquals("pending", s.delivery(id, "call-webhok").get("state").asText(), "planned and kept");
            List<String> named = LogCapture.get().since(mark).stream().filter(l -> l.contains("no route works them")).toList();
            assertEquals(1, named.size(), named.toString());
            assertTrue(named.get(0).contains("Deliveries of kind 'call-webhok' are planned"), named.get(0));
        }
        // the destination dropped from the configuration: what it left pending is named at the next start
        int again = LogCapture.get().mark();
        try (RunningService s = RunningService.builder().property("data.dir", data.toString()).build()) {
            List<String> left = io.github.telecmicdr.testing.Await.until(java.time.Duration.ofSeconds(30), () -> LogCapture.get().since(again)
                    .stream().filter(l -> l.contains("no route works the kind any more")).toList(), l -> !l.isEmpty(), "the line once started");
            assertEquals(1, left.size(), left.toString());
            assertTrue(left.get(0).contains("1 deliveries of kind 'call-webhok' have not ended"), left.get(0));
        }
    }
}
