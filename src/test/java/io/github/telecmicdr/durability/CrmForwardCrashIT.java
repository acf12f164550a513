package io.github.telecmicdr.durability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.ChildService;
import io.github.telecmicdr.testing.StandardWebhooks;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CRM forward is at-least-once: the packaged jar is killed with kill -9 while its requests are
 * at the CRM (which goes on to process them and answer 200 to nobody), and the restarted service,
 * once the crashed leases expire, sends each call again with the same Idempotency-Key and body, by
 * which the CRM drops the repeat. Counted and printed.
 */
class CrmForwardCrashIT {

    static final String WEBHOOK_TOKEN = "it-webhook-token-crm-51d0";
    static final String API_TOKEN = "it-api-token-crm-a7e3";
    static final String CRM_TOKEN = "it-crm-token-0c4b9e";
    static final String SIGNING_SECRET = "whsec_" + java.util.Base64.getEncoder().encodeToString("it-crm-signing-key-2f8d6a".getBytes());
    static final String CALLS = "/crm/calls";
    static final int CALL_COUNT = 3;
    static final ObjectMapper JSON = new ObjectMapper();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    static String cdr(String id) {
        return "{\"cmiuuid\":\"" + id + "\",\"appid\":2222223,\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"answered\","
                + "\"from\":\"919876543210\",\"to\":\"02240001234\",\"answeredsec\":11,\"time\":1634720920615,"
                + "\"hangup_reason\":\"sent_bye\",\"record\":false}";
    }

    int postWebhook(ChildService child, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + child.port() + "/webhooks/telecmi/" + WEBHOOK_TOKEN))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    JsonNode crmForward(ChildService child, String id) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + child.port() + "/api/cdrs/" + id))
                    .header("Authorization", "Bearer " + API_TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString());
            for (JsonNode d : JSON.readTree(r.body()).get("deliveries")) {
                if (d.get("kind").asText().equals("crm-forward")) {
                    return d;
                }
            }
            return null;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    List<LoggedRequest> requestsOf(WireMockServer crm, String id) {
        return crm.findAll(postRequestedFor(urlPathEqualTo(CALLS)).withRequestBody(matchingJsonPath("$.cmiuuid", equalTo(id))));
    }

    @Test
    void aForwardCutOffByKillMinus9IsSentAgainWithTheSameIdempotencyKey() throws Exception {
        WireMockServer crm = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        crm.start();
        try {
            // the CRM takes its time: the service is killed while it holds the requests
            crm.stubFor(post(urlPathEqualTo(CALLS)).willReturn(aResponse().withStatus(200).withFixedDelay(3000)));
            Path data = Files.createTempDirectory("cdr-router-crm-crash");
            Map<String, String> env = new HashMap<>();
            env.put("TELECMI_WEBHOOK_TOKEN", WEBHOOK_TOKEN);
            env.put("API_TOKEN", API_TOKEN);
            env.put("DATA_DIR", data.toString());
            env.put("DB_URL", "jdbc:h2:file:" + data.resolve("cdr-router") + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE");
            env.put("CRM_URL", "http://127.0.0.1:" + crm.port() + CALLS);
            env.put("CRM_AUTHORIZATION", "Bearer " + CRM_TOKEN);
            env.put("CRM_SIGNING_SECRET", SIGNING_SECRET);
            env.put("DELIVERY_POLL_INTERVAL_MS", "100");
            env.put("DELIVERY_BACKOFF_INITIAL", "200ms");
            env.put("DELIVERY_BACKOFF_MAX", "1s");
            // the crashed claims are taken again 5 s after they were made. Longer than an attempt can take
            // (crm.timeout-ms 4 s, the CRM's 3 s): with a lease shorter than the CRM's answer, the running
            // instance itself would take the claim again and send the call a second time before the crash
            env.put("DELIVERY_LEASE", "5s");
            env.put("CRM_TIMEOUT_MS", "4000");

            List<String> ids = new ArrayList<>();
            ChildService child = ChildService.start(env);
            String firstOutput;
            try {
                for (int i = 0; i < CALL_COUNT; i++) {
                    String id = UUID.randomUUID().toString();
                    ids.add(id);
                    assertEquals(200, postWebhook(child, cdr(id)));
                }
                Await.until(Duration.ofSeconds(60), () -> ids.stream().allMatch(id -> !requestsOf(crm, id).isEmpty()),
                        ok -> ok, "every forward at the CRM, its answer 3 s off");
            } finally {
                firstOutput = child.output();
                child.kill();
            }
            // from now on the CRM answers at once; the journal keeps what it received before the crash
            crm.stubFor(post(urlPathEqualTo(CALLS)).willReturn(aResponse().withStatus(200)));

            try (ChildService again = child.restart(env)) {
                int repeats = 0;
                for (String id : ids) {
                    JsonNode d = Await.until(Duration.ofSeconds(60), () -> crmForward(again, id),
                            x -> x != null && x.get("state").asText().equals("done"), "the forward of " + id + " taken again and done");
                    assertEquals(2, d.get("attempts").asInt(), "the attempt cut off by the kill, and the one after the restart");

                    List<LoggedRequest> requests = requestsOf(crm, id);
                    assertTrue(requests.size() >= 2, "sent again after the crash: " + requests.size());
                    String key = "incoming-answered-cdr:" + id;
                    for (LoggedRequest r : requests) {
                        assertEquals(key, r.getHeader("Idempotency-Key"), "one key for every attempt");
                        assertEquals(key, r.getHeader("webhook-id"));
                        assertArrayEquals(requests.get(0).getBody(), r.getBody(), "the same body on every attempt");
                        assertTrue(StandardWebhooks.verifies(r.getHeader("webhook-id"), r.getHeader("webhook-timestamp"),
                                r.getHeader("webhook-signature"), r.getBody(), StandardWebhooks.key(SIGNING_SECRET)), "signed");
                    }
                    repeats += requests.size() - 1;
                    System.out.println("crash IT: the CRM received " + requests.size() + " requests with Idempotency-Key " + key);
                }
                System.out.println("crash IT: " + CALL_COUNT + " calls cut off by kill -9 at the CRM, " + repeats
                        + " repeats after the restart (at-least-once; the CRM drops them by Idempotency-Key)");
                for (String output : List.of(firstOutput, again.output())) {
                    assertFalse(output.contains(CRM_TOKEN) || output.contains(SIGNING_SECRET), "a CRM secret in the log");
                }
            }
        } finally {
            crm.stop();
        }
    }
}
