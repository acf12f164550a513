package io.github.telecmicdr.operations;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.util.List;
import java.util.UUID;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No configured secret (webhook token, API token, TeleCMI secret, SMTP password) ever reaches the
 * log. Runs last: it drives every scenario that could leak one (wrong tokens, broken requests,
 * SMTP that refuses, TeleCMI that refuses, times out or answers garbage) with all four secrets
 * configured, then reads everything this test JVM logged, its own run and every test before it.
 */
@Order(Integer.MAX_VALUE)
class SecretsNeverLoggedTest {

    static final String WEBHOOK_TOKEN = "leak-check-webhook-token-0f3a9";
    static final String API_TOKEN = "leak-check-api-token-b71c2";
    static final String TELECMI_SECRET = "leak-check-telecmi-secret-88d1e";
    static final String SMTP_PASSWORD = "leak-check-smtp-password-4c6f0";

    @Test
    void noSecretInTheLogOfTheWholeSuite() throws Exception {
        LogCapture.get();
        GreenMail smtp = new GreenMail(new ServerSetup(RunningService.freePort(), "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        smtp.start();
        WireMockServer telecmi = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        telecmi.start();
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).willReturn(aResponse().withStatus(200)
                .withBody("{\"code\":407,\"error\":true,\"msg\":\"Authentication Failed\"}")));
        try (RunningService s = RunningService.builder()
                .property("telecmi.webhook.token", WEBHOOK_TOKEN)
                .property("api.token", API_TOKEN)
                .property("telecmi.appid", "2222223")
                .property("telecmi.secret", TELECMI_SECRET)
                .property("telecmi.api-base-url", "http://127.0.0.1:" + telecmi.port())
                .property("mail.smtp.host", "127.0.0.1")
                .property("mail.smtp.port", String.valueOf(RunningService.freePort()))
                .property("mail.smtp.username", "router")
                .property("mail.smtp.password", SMTP_PASSWORD)
                .property("delivery.poll-interval-ms", "100")
                .property("delivery.max-attempts", "2")
                .property("delivery.backoff-initial", "100ms")
                .build()) {
            String id = UUID.randomUUID().toString();
            String cdr = "{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"hangup_reason\":\"recv_cancel\",\"record\":true,\"filename\":\"" + id + ".mp3\"}";
            String base = "/webhooks/telecmi/" + WEBHOOK_TOKEN;
            s.send(HttpRequest.newBuilder(s.uri(base)).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(cdr)));
            s.send(HttpRequest.newBuilder(s.uri(base)).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{bad")));
            s.send(HttpRequest.newBuilder(s.uri(base)).header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString("x")));
            s.raw("GET " + base + "?cmiuuid=x&team=%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", null);
            s.raw("GET " + base + "/extra/" + WEBHOOK_TOKEN + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", null);
            s.send(HttpRequest.newBuilder(s.uri("/webhooks/telecmi/" + WEBHOOK_TOKEN.substring(3))).GET());
            s.send(HttpRequest.newBuilder(s.uri("/api/cdrs/" + id)).header("Authorization", "Bearer " + API_TOKEN + "x").GET());
            var recording = s.send(HttpRequest.newBuilder(s.uri("/api/cdrs/" + id)).header("Authorization", "Bearer " + API_TOKEN).GET());
            assertEquals(200, recording.status());
            // SMTP refuses (nothing listens), TeleCMI refuses the secret: both end failed, with errors stored
            io.github.telecmicdr.testing.Await.until(java.time.Duration.ofSeconds(20),
                    () -> s.send(HttpRequest.newBuilder(s.uri("/api/cdrs/" + id)).header("Authorization", "Bearer " + API_TOKEN).GET()).body(),
                    body -> body.split("\"state\":\"failed\"", -1).length == 3, "both deliveries to fail");
            String answer = s.send(HttpRequest.newBuilder(s.uri("/api/cdrs/" + id)).header("Authorization", "Bearer " + API_TOKEN).GET()).body();
            for (String secret : List.of(WEBHOOK_TOKEN, API_TOKEN, TELECMI_SECRET, SMTP_PASSWORD)) {
                assertFalse(answer.contains(secret), "a secret in an API answer");
            }
        } finally {
            telecmi.stop();
            smtp.stop();
        }
        // the first start without configured tokens generates both: the log says where they are, not what
        String generatedWebhookToken;
        String generatedApiToken;
        try (RunningService s = RunningService.builder().property("telecmi.webhook.token", "").property("api.token", "").build()) {
            generatedWebhookToken = java.nio.file.Files.readString(s.dataDir().resolve("webhook-token")).trim();
            generatedApiToken = java.nio.file.Files.readString(s.dataDir().resolve("api-token")).trim();
            String base = "/webhooks/telecmi/" + generatedWebhookToken;
            assertEquals(200, s.send(HttpRequest.newBuilder(s.uri(base)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"cmiuuid\":\"" + UUID.randomUUID() + "\"}"))).status());
            s.raw("GET " + base + "?cmiuuid=x&team=%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", null);
            s.send(HttpRequest.newBuilder(s.uri("/api/cdrs/x")).header("Authorization", "Bearer " + generatedApiToken).GET());
            assertTrue(LogCapture.get().lines().stream().anyMatch(l -> l.contains("Generated a webhook token, kept in "
                    + s.dataDir().resolve("webhook-token").toAbsolutePath())), "the log says where the token is");
        }
        List<String> lines = LogCapture.get().lines();
        assertTrue(lines.size() > 20, "the log was captured");
        for (String secret : List.of(WEBHOOK_TOKEN, API_TOKEN, TELECMI_SECRET, SMTP_PASSWORD, RunningService.WEBHOOK_TOKEN,
                RunningService.API_TOKEN, "telecmi-secret-9f8e7d6c5b", "smtp-secret-password-4711", generatedWebhookToken, generatedApiToken)) {
            List<String> leaks = LogCapture.get().linesContaining(secret);
            assertTrue(leaks.isEmpty(), "secret in the log: " + leaks);
        }
    }
}
