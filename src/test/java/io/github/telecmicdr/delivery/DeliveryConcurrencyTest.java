package io.github.telecmicdr.delivery;

import com.sun.net.httpserver.HttpServer;
import io.github.telecmicdr.testing.Await;
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
        HttpServer telecmi = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        telecmi.setExecutor(Executors.newCachedThreadPool());
        telecmi.createContext("/v2/play", exchange -> {
            most.accumulateAndGet(holding.incrementAndGet(), Math::max);
            try {
                Thread.sleep(300);
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
}
