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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The jar under a concurrent load of unique answered CDRs (each planned for an alert and a
 * recording) is killed with SIGKILL at a random instant, restarted on the same data, several
 * rounds. Afterwards every acknowledged CDR is stored and every planned delivery is done; emails
 * sent twice because a crash fell between sending and recording it are counted and reported.
 */
class CrashUnderLoadIT {

    static final String TOKEN = "crash-webhook-token-1a2b";
    static final String API = "crash-api-token-3c4d";
    static final int ROUNDS = 3;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
    final ObjectMapper json = new ObjectMapper();

    @ParameterizedTest(name = "on {0}")
    @ValueSource(strings = {"h2", "postgresql"})
    void killedAtRandomUnderLoadLosesNothing(String database) throws Exception {
        GreenMail smtp = new GreenMail(new ServerSetup(RunningService.freePort(), "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        smtp.start();
        WireMockServer telecmi = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        telecmi.start();
        byte[] wav = new byte[4096];
        System.arraycopy("RIFF".getBytes(), 0, wav, 0, 4);
        System.arraycopy("WAVE".getBytes(), 0, wav, 8, 4);
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).willReturn(aResponse().withStatus(200).withBody(wav).withFixedDelay(50)));
        Path data = Files.createTempDirectory("cdr-router-crash-" + database);
        Map<String, String> env = new HashMap<>();
        env.put("TELECMI_WEBHOOK_TOKEN", TOKEN);
        env.put("API_TOKEN", API);
        env.put("DATA_DIR", data.toString());
        if (database.equals("h2")) {
            env.put("DB_URL", EmbeddedDatabases.h2In(data).url());
        } else {
            EmbeddedDatabases.Jdbc pg = EmbeddedDatabases.newPostgresDatabase();
            env.put("DB_URL", pg.url());
            env.put("DB_USERNAME", pg.username());
            env.put("DB_PASSWORD", pg.password());
        }
        env.put("MAIL_SMTP_HOST", "127.0.0.1");
        env.put("MAIL_SMTP_PORT", String.valueOf(smtp.getSmtp().getPort()));
        env.put("TELECMI_API_BASE_URL", "http://127.0.0.1:" + telecmi.port());
        env.put("TELECMI_APPID", "2222223");
        env.put("TELECMI_SECRET", "crash-secret-5e6f");
        env.put("DELIVERY_POLL_INTERVAL_MS", "100");
        env.put("DELIVERY_LEASE", "3s");
        env.put("DELIVERY_BACKOFF_INITIAL", "200ms");
        env.put("DELIVERY_BACKOFF_MAX", "1s");

        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        Random random = new Random();
        ChildService child = ChildService.start(env);
        try {
            for (int round = 0; round < ROUNDS; round++) {
                ChildService current = child;
                AtomicBoolean loading = new AtomicBoolean(true);
                ExecutorService load = Executors.newFixedThreadPool(6);
                for (int t = 0; t < 6; t++) {
                    load.submit(() -> {
                        while (loading.get()) {
                            String id = UUID.randomUUID().toString();
                            try {
                                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + current.port()
                                                + "/webhooks/telecmi/" + TOKEN)).header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                                        .POST(HttpRequest.BodyPublishers.ofString("{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\","
                                                + "\"hangup_reason\":\"recv_cancel\",\"record\":true,\"filename\":\"" + id + ".wav\",\"team\":\"Sales\"}")).build(),
                                        HttpResponse.BodyHandlers.ofString());
                                if (r.statusCode() == 200) {
                                    acknowledged.add(id);
                                }
                            } catch (Exception e) {
                                // cut off by the kill: never acknowledged
                            }
                        }
                        return null;
                    });
                }
                // killed once this round's load is really flowing (a fresh JVM on a busy machine may take
                // seconds to answer its first requests), then at a random moment
                int before = acknowledged.size();
                Await.until(Duration.ofSeconds(180), acknowledged::size, n -> n >= before + 30, "load in round " + round);
                Thread.sleep(random.nextInt(3000));
                child.kill();
                loading.set(false);
                load.shutdown();
                assertTrue(load.awaitTermination(60, TimeUnit.SECONDS));
                child = child.restart(env);
            }
            ChildService last = child;
            List<String> lost = new ArrayList<>();
            for (String id : acknowledged) {
                JsonNode cdr;
                try {
                    cdr = Await.until(Duration.ofSeconds(90), () -> cdr(last, id), c -> c == null || allDone(c), "deliveries of " + id);
                } catch (AssertionError e) {
                    // what the service said about it: the CI log keeps only this message
                    throw new AssertionError(e.getMessage() + "\nthe restarted service's first warnings:\n" + warnings(last.output()), e);
                }
                if (cdr == null) {
                    lost.add(id);
                }
            }
            assertEquals(List.of(), lost.subList(0, Math.min(5, lost.size())), lost.size() + " acknowledged CDRs lost");
            smtp.waitForIncomingEmail(5000, acknowledged.size());
            Map<String, Integer> copies = new HashMap<>();
            for (MimeMessage m : smtp.getReceivedMessages()) {
                copies.merge(m.getMessageID(), 1, Integer::sum);
            }
            long alerted = acknowledged.stream().filter(id -> copies.containsKey("<" + id + ".alert@telecmi-cdr-router>")).count();
            long twice = copies.values().stream().filter(n -> n > 1).count();
            int downloads = telecmi.findAll(getRequestedFor(urlPathEqualTo("/v2/play"))).size();
            System.out.printf("crash under load on %s: %d rounds, %d acknowledged, %d alerts sent (%d of them more than once after a crash), %d downloads requested%n",
                    database, ROUNDS, acknowledged.size(), alerted, twice, downloads);
            assertEquals(acknowledged.size(), alerted, "every acknowledged CDR alerted at least once");
            assertTrue(acknowledged.size() > 50, "the load ran: " + acknowledged.size());
            last.close();
        } finally {
            child.close();
            telecmi.stop();
            smtp.stop();
        }
    }

    private static String warnings(String log) {
        return String.join("\n", log.lines().filter(l -> l.contains(" WARN ") || l.contains(" ERROR ")).limit(20).toList());
    }

    JsonNode cdr(ChildService service, String id) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.port() + "/api/cdrs/" + id))
                    .header("Authorization", "Bearer " + API).GET().build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 404 ? null : json.readTree(r.body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static boolean allDone(JsonNode cdr) {
        if (cdr.get("deliveries").size() != 2) {
            return false;
        }
        for (JsonNode d : cdr.get("deliveries")) {
            if (!d.get("state").asText().equals("done")) {
                return false;
            }
        }
        return true;
    }
}
