package io.github.telecmicdr.durability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.ChildService;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.RunningService;
import jakarta.mail.internet.MimeMessage;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Deliveries across crashes, small heaps and several instances, with the packaged jar as child
 * processes: a kill -9 between claim and completion, a 50 MB recording under -Xmx64m, and two
 * instances sharing one PostgreSQL that must run every delivery exactly once.
 */
class DeliveryCrashAndScaleIT {

    static final String WEBHOOK_TOKEN = "it-webhook-token-77a1";
    static final String API_TOKEN = "it-api-token-3c9d";
    static final String SECRET = "it-telecmi-secret-5e2b";
    static final ObjectMapper JSON = new ObjectMapper();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    static byte[] mp3(int size) {
        byte[] audio = new byte[size];
        new java.util.Random(42).nextBytes(audio);
        audio[0] = 'I';
        audio[1] = 'D';
        audio[2] = '3';
        return audio;
    }

    static String cdr(String id, String hangupReason) {
        return "{\"cmiuuid\":\"" + id + "\",\"appid\":2222223,\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"answered\","
                + "\"from\":440000000002,\"to\":440000000001,\"answeredsec\":11,\"time\":1634720920615,\"hangup_reason\":\""
                + hangupReason + "\",\"record\":true,\"filename\":\"" + id + ".mp3\",\"team\":\"Sales\"}";
    }

    Map<String, String> env(Path data, WireMockServer telecmi) {
        Map<String, String> env = new HashMap<>();
        env.put("TELECMI_WEBHOOK_TOKEN", WEBHOOK_TOKEN);
        env.put("API_TOKEN", API_TOKEN);
        env.put("DATA_DIR", data.toString());
        env.put("DB_URL", EmbeddedDatabases.h2In(data).url());
        env.put("TELECMI_API_BASE_URL", "http://127.0.0.1:" + telecmi.port());
        env.put("TELECMI_APPID", "2222223");
        env.put("TELECMI_SECRET", SECRET);
        env.put("DELIVERY_POLL_INTERVAL_MS", "100");
        env.put("DELIVERY_BACKOFF_INITIAL", "200ms");
        env.put("DELIVERY_BACKOFF_MAX", "1s");
        return env;
    }

    int post(ChildService child, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + child.port() + "/webhooks/telecmi/" + WEBHOOK_TOKEN))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    JsonNode delivery(ChildService child, String id, String kind) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + child.port() + "/api/cdrs/" + id))
                    .header("Authorization", "Bearer " + API_TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString());
            for (JsonNode d : JSON.readTree(r.body()).get("deliveries")) {
                if (d.get("kind").asText().equals(kind)) {
                    return d;
                }
            }
            return null;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aDownloadCutOffByKillMinus9IsTakenAgainAndDoneOnce() throws Exception {
        WireMockServer telecmi = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        telecmi.start();
        try {
            String id = UUID.randomUUID().toString();
            telecmi.stubFor(get(urlPathEqualTo("/v2/play")).willReturn(aResponse().withStatus(200).withBody(mp3(20_000)).withFixedDelay(20_000)));
            Path data = Files.createTempDirectory("cdr-router-crash");
            Map<String, String> env = env(data, telecmi);
            env.put("DELIVERY_LEASE", "2s");
            ChildService child = ChildService.start(env);
            assertEquals(200, post(child, cdr(id, "recv_bye")));
            // the download is claimed and under way: TeleCMI has the request, the answer is 20 s off
            Await.until(Duration.ofSeconds(60), () -> telecmi.findAll(getRequestedFor(urlPathEqualTo("/v2/play"))).size(),
                    n -> n >= 1, "the download to start");
            child.kill();

            telecmi.resetAll();
            telecmi.stubFor(get(urlPathEqualTo("/v2/play")).willReturn(aResponse().withStatus(200).withBody(mp3(20_000))));
            try (ChildService again = child.restart(env)) {
                JsonNode d = Await.until(Duration.ofSeconds(60), () -> delivery(again, id, "recording-download"),
                        x -> x.get("state").asText().equals("done"), "the download to be taken again after the lease");
                assertEquals(2, d.get("attempts").asInt(), "the cut-off attempt and the one that finished");
                assertEquals(1, telecmi.findAll(getRequestedFor(urlPathEqualTo("/v2/play"))).size(), "fetched once after the restart");
                try (var files = Files.walk(data.resolve("recordings"))) {
                    assertEquals(1, files.filter(p -> p.toString().endsWith(".mp3")).count(), "one recording file");
                }
                assertFalse(again.output().contains(SECRET), "the TeleCMI secret in the log");
            }
        } finally {
            telecmi.stop();
        }
    }

    @Test
    void a50MegabyteRecordingDownloadsUnderA64MegabyteHeap() throws Exception {
        WireMockServer telecmi = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        telecmi.start();
        try {
            byte[] audio = mp3(50 * 1024 * 1024);
            telecmi.stubFor(get(urlPathEqualTo("/v2/play")).willReturn(aResponse().withStatus(200)
                    .withHeader("Content-Type", "audio/mpeg").withBody(audio)));
            Path data = Files.createTempDirectory("cdr-router-big");
            try (ChildService child = ChildService.start(env(data, telecmi), "-Xmx64m")) {
                String id = UUID.randomUUID().toString();
                assertEquals(200, post(child, cdr(id, "recv_bye")));
                JsonNode d = Await.until(Duration.ofSeconds(120), () -> delivery(child, id, "recording-download"),
                        x -> !x.get("state").asText().equals("pending") && !x.get("state").asText().equals("in_progress"), "the download");
                assertEquals("done", d.get("state").asText(), d.toString() + "\n" + child.output());
                Path file = data.resolve("recordings/2021/10/20/" + id + ".mp3");
                assertEquals(audio.length, Files.size(file));
                assertEquals(hex(MessageDigest.getInstance("SHA-256").digest(audio)), hex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file))));
                assertFalse(child.output().contains("OutOfMemoryError"));
            }
        } finally {
            telecmi.stop();
        }
    }

    @Test
    void twoInstancesOnOnePostgresRunEveryDeliveryExactlyOnce() throws Exception {
        GreenMail smtp = new GreenMail(new ServerSetup(RunningService.freePort(), "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        smtp.start();
        WireMockServer telecmi = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        telecmi.start();
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).willReturn(aResponse().withStatus(200).withBody(mp3(2000))));
        EmbeddedDatabases.Jdbc pg = EmbeddedDatabases.newPostgresDatabase();
        List<ChildService> instances = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                Map<String, String> env = env(Files.createTempDirectory("cdr-router-pg-" + i), telecmi);
                env.put("DB_URL", pg.url());
                env.put("DB_USERNAME", pg.username());
                env.put("DB_PASSWORD", pg.password());
                env.put("MAIL_SMTP_HOST", "127.0.0.1");
                env.put("MAIL_SMTP_PORT", String.valueOf(smtp.getSmtp().getPort()));
                env.put("DELIVERY_BATCH_SIZE", "5");
                instances.add(ChildService.start(env));
            }
            List<String> ids = new ArrayList<>();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<Integer>> posted = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                String id = UUID.randomUUID().toString();
                ids.add(id);
                ChildService target = instances.get(i % 2);
                posted.add(pool.submit(() -> post(target, cdr(id, "recv_cancel"))));
            }
            for (Future<Integer> f : posted) {
                assertEquals(200, f.get());
            }
            pool.shutdown();
            for (String id : ids) {
                for (String kind : new String[] {"alert-email", "recording-download"}) {
                    Await.until(Duration.ofSeconds(60), () -> delivery(instances.get(0), id, kind),
                            d -> d.get("state").asText().equals("done"), kind + " of " + id);
                }
            }
            smtp.waitForIncomingEmail(5000, 200);
            MimeMessage[] mails = smtp.getReceivedMessages();
            Set<String> messageIds = new HashSet<>();
            for (MimeMessage m : mails) {
                messageIds.add(m.getMessageID());
            }
            assertEquals(200, messageIds.size(), "every alert sent");
            assertEquals(200, mails.length, "no alert sent twice");
            assertEquals(200, telecmi.findAll(getRequestedFor(urlPathEqualTo("/v2/play"))).size(), "no recording fetched twice");
            int attempts = 0;
            for (String id : ids) {
                attempts += delivery(instances.get(1), id, "alert-email").get("attempts").asInt();
            }
            assertEquals(200, attempts, "each alert attempted once");
            assertTrue(instances.get(0).output().contains("done") && instances.get(1).output().contains("done"), "both instances worked");
        } finally {
            instances.forEach(ChildService::close);
            telecmi.stop();
            smtp.stop();
        }
    }

    static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }
}
