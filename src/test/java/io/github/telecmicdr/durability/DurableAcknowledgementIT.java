package io.github.telecmicdr.durability;

import io.github.telecmicdr.testing.ChildService;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A 200 means the CDR is on disk: the jar is killed with SIGKILL while CDRs are being posted,
 * restarted on the same data folder, and every acknowledged CDR is read back. The service is
 * configured only through environment variables, which this also proves work.
 */
class DurableAcknowledgementIT {

    static final String WEBHOOK_TOKEN = "it-webhook-token-5f1c2a";
    static final String API_TOKEN = "it-api-token-83be07";
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void everyAcknowledgedCdrSurvivesKillMinus9() throws Exception {
        Path data = Files.createTempDirectory("cdr-router-kill9");
        killUnderLoadAndReadBack(data, EmbeddedDatabases.h2In(data).url());
    }

    /** A URL as a user types it, without our settings: the service adds them (H2's default loses ~6%). */
    @Test
    void everyAcknowledgedCdrSurvivesKillMinus9WithAUserStyleUrl() throws Exception {
        Path data = Files.createTempDirectory("cdr-router-kill9-user-url");
        killUnderLoadAndReadBack(data, "jdbc:h2:file:" + data.resolve("db"));
    }

    @Test
    void aUrlThatDelaysWritesStopsTheStartNamingDbUrl() throws Exception {
        Path data = Files.createTempDirectory("cdr-router-write-delay");
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> ChildService.start(Map.of(
                "DATA_DIR", data.toString(), "DB_URL", "jdbc:h2:file:" + data.resolve("db") + ";WRITE_DELAY=500")));
        assertTrue(refused.getMessage().contains("the service exited with"), refused.getMessage());
        assertTrue(refused.getMessage().contains("db.url sets WRITE_DELAY=500"), refused.getMessage());
    }

    private void killUnderLoadAndReadBack(Path data, String dbUrl) throws Exception {
        Map<String, String> env = Map.of(
                "TELECMI_WEBHOOK_TOKEN", WEBHOOK_TOKEN,
                "API_TOKEN", API_TOKEN,
                "DATA_DIR", data.toString(),
                "DB_URL", dbUrl);
        ChildService child = ChildService.start(env);
        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        String seed = Files.readString(Path.of("samples/incoming-answered-cdr.json"));
        AtomicBoolean killed = new AtomicBoolean();
        CountDownLatch enough = new CountDownLatch(300);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        for (int t = 0; t < 8; t++) {
            pool.submit(() -> {
                while (!killed.get()) {
                    String id = UUID.randomUUID().toString();
                    try {
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + child.port()
                                        + "/webhooks/telecmi/" + WEBHOOK_TOKEN)).header("Content-Type", "application/json")
                                // longer than the service's own commit bound (15 s): a slow answer still counts
                                .timeout(Duration.ofSeconds(30))
                                .POST(HttpRequest.BodyPublishers.ofString(seed.replace("16132200-57fa-47b5-888d-4ab5b7e631ee", id))).build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() == 200 && r.body().contains("\"stored\"")) {
                            acknowledged.add(id);
                            enough.countDown();
                        }
                    } catch (Exception e) {
                        // the kill cuts requests off mid-way: those were never acknowledged
                    }
                }
                return null;
            });
        }
        assertTrue(enough.await(180, TimeUnit.SECONDS), "the service did not acknowledge 300 CDRs in time");
        // killed while the eight clients are still posting
        child.kill();
        killed.set(true);
        pool.shutdown();
        assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS));

        try (ChildService again = child.restart(env)) {
            List<String> missing = new ArrayList<>();
            for (String id : acknowledged) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + again.port() + "/api/cdrs/" + id))
                        .header("Authorization", "Bearer " + API_TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    missing.add(id);
                }
            }
            assertEquals(0, missing.size(), missing.size() + " of " + acknowledged.size()
                    + " acknowledged CDRs were lost, e.g. " + missing.subList(0, Math.min(3, missing.size())));
            assertFalse(child.output().contains(WEBHOOK_TOKEN), "webhook token in the log");
            assertFalse(child.output().contains(API_TOKEN), "API token in the log");
            assertFalse(again.output().contains(WEBHOOK_TOKEN), "webhook token in the log");
        }
    }

    @Test
    void firstRunGeneratesATokenShowsItOnceAndKeepsIt() throws Exception {
        Path data = Files.createTempDirectory("cdr-router-first-run");
        Map<String, String> env = Map.of(
                "DATA_DIR", data.toString(),
                "DB_URL", EmbeddedDatabases.h2In(data).url());
        String token;
        ChildService first = ChildService.start(env);
        try {
            token = Files.readString(data.resolve("webhook-token")).trim();
            assertTrue(token.length() >= 40, "a strong token");
            assertTrue(first.output().contains("Generated a webhook token, kept in " + data.resolve("webhook-token").toAbsolutePath()),
                    "the first start says where the token is:\n" + first.output());
            assertFalse(first.output().contains(token), "and never what it is");
            assertTrue(Files.readString(data.resolve("api-token")).trim().length() >= 40);
            assertEquals(401, post(first.port(), "not-the-token").statusCode());
            assertEquals(200, post(first.port(), token).statusCode());
        } finally {
            first.close();
        }
        try (ChildService second = first.restart(env)) {
            assertEquals(200, post(second.port(), token).statusCode(), "the kept token still works");
            assertFalse(second.output().contains(token), "shown only on the start that generated it");
        }
    }

    private HttpResponse<String> post(int port, String token) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/webhooks/telecmi/" + token))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"cmiuuid\":\"" + UUID.randomUUID() + "\",\"status\":\"answered\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
