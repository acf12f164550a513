package io.github.telecmicdr.delivery;

import com.sun.net.httpserver.HttpServer;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * delivery.&lt;kind&gt;.concurrency deliveries of a kind are worked at once, so a slow destination is
 * worked in parallel. The destination here is TeleCMI's play API, played by a real HTTP server that
 * takes 300 ms per answer and counts how many requests it holds at the same time. What is asserted
 * is that overlap, not a time.
 */
class DeliveryConcurrencyTest {

    static final int CALLS = 12;

    @Test
    void oneAtATimeWhenConcurrencyIsOne() throws Exception {
        assertEquals(1, mostAtOnce(1));
    }

    @Test
    void upToConcurrencyAtOnce() throws Exception {
        int most = mostAtOnce(6);
        assertTrue(most > 1 && most <= 6, "held at once: " + most);
    }

    /** Plans CALLS recording downloads, waits until all are done, answers the most held at once. */
    private static int mostAtOnce(int concurrency) throws Exception {
        AtomicInteger holding = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        HttpServer telecmi = slowTelecmi(holding, most, 300);
        try (RunningService s = RunningService.builder()
                .property("telecmi.api-base-url", "http://127.0.0.1:" + telecmi.getAddress().getPort())
                .property("telecmi.appid", "2222223").property("telecmi.secret", "concurrency-secret")
                .property("delivery.poll-interval-ms", "100")
                .property("delivery.recording-download.concurrency", String.valueOf(concurrency))
                .build()) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < CALLS; i++) {
                String id = UUID.randomUUID().toString();
                ids.add(id);
                assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"record\":true,\"filename\":\""
                        + id + ".mp3\"}").status());
            }
            for (String id : ids) {
                assertEquals("done", Await.until(Duration.ofSeconds(120), () -> s.delivery(id, "recording-download"),
                        d -> d.get("state").asText().equals("done"), "download of " + id).get("state").asText());
            }
        } finally {
            telecmi.stop(0);
        }
        return most.get();
    }

    /** TeleCMI's play API taking {@code millis} per answer, counting the requests it holds at once. */
    private static HttpServer slowTelecmi(AtomicInteger holding, AtomicInteger most, long millis) throws java.io.IOException {
        return slowTelecmi(holding, most, () -> millis);
    }

    /** The same, taking as long per answer as {@code millis} says when the answer starts. */
    static HttpServer slowTelecmi(AtomicInteger holding, AtomicInteger most, LongSupplier millis) throws java.io.IOException {
        HttpServer telecmi = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        telecmi.setExecutor(Executors.newCachedThreadPool());
        telecmi.createContext("/v2/play", exchange -> {
            most.accumulateAndGet(holding.incrementAndGet(), Math::max);
            try {
                Thread.sleep(millis.getAsLong());
                byte[] mp3 = {'I', 'D', '3', 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
                exchange.getResponseHeaders().add("Content-Type", "audio/mpeg");
                exchange.sendResponseHeaders(200, mp3.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(mp3);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                holding.decrementAndGet();
            }
        });
        telecmi.start();
        return telecmi;
    }

    /**
     * A stop while slow deliveries are in hand waits for them (within camel.main.shutdown-timeout)
     * and records them: none is left leased for the next start to wait out.
     */
    @Test
    void aStopFinishesAndRecordsTheDeliveriesInHand() throws Exception {
        AtomicInteger holding = new AtomicInteger();
        // longer than an executor's default 10 s graceful wait, shorter than the shutdown timeout set below
        HttpServer telecmi = slowTelecmi(holding, new AtomicInteger(), 12_000);
        java.nio.file.Path data = java.nio.file.Files.createTempDirectory("cdr-router-stop");
        String url = EmbeddedDatabases.h2In(data).url();
        try {
            RunningService s = RunningService.builder()
                    .property("data.dir", data.toString()).property("db.url", url)
                    .property("telecmi.api-base-url", "http://127.0.0.1:" + telecmi.getAddress().getPort())
                    .property("telecmi.appid", "2222223").property("telecmi.secret", "stop-secret")
                    .property("delivery.poll-interval-ms", "100")
                    .property("delivery.recording-download.concurrency", "4")
                    .property("camel.main.shutdown-timeout", "30")
                    .build();
            for (int i = 0; i < 8; i++) {
                String id = UUID.randomUUID().toString();
                assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"record\":true,\"filename\":\""
                        + id + ".mp3\"}").status());
            }
            Await.until(Duration.ofSeconds(60), holding::get, n -> n >= 1, "downloads in hand");
            s.close();
            assertEquals(false, s.camelContext().getShutdownStrategy().isTimeoutOccurred(), "the stop waited out its timeout");
        } finally {
            telecmi.stop(0);
        }
        try (com.zaxxer.hikari.HikariDataSource db = io.github.telecmicdr.store.Database.open(url, "sa", "", 2, 5000);
             java.sql.Connection c = db.getConnection();
             java.sql.ResultSet rs = c.createStatement().executeQuery("SELECT state, COUNT(*) FROM delivery GROUP BY state")) {
            java.util.Map<String, Integer> states = new java.util.TreeMap<>();
            while (rs.next()) {
                states.put(rs.getString(1), rs.getInt(2));
            }
            assertEquals(null, states.get("in_progress"), "left leased: " + states);
            assertTrue(states.getOrDefault("done", 0) >= 1, "the downloads in hand were recorded: " + states);
        }
    }
}
