package io.github.telecmicdr.resilience;

import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A normal stop (what SIGTERM does) while TeleCMI keeps posting: every answer is 200 (stored) or
 * 503 with Retry-After and a problem (come back), never a 404 from a router whose routes are gone
 * or a 500 from a route being stopped; once the port is closed, connections are refused. (A request
 * already past the edge when the stop began may meet Camel's own 503, without a body.)
 */
class StopUnderLoadTest {

    @Test
    void aStopUnderLoadAnswersOnly200Or503UntilThePortCloses() throws Exception {
        RunningService service = RunningService.builder().build();
        Map<String, Integer> answers = new ConcurrentHashMap<>();
        Map<Integer, String> examples = new ConcurrentHashMap<>();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicBoolean stopping = new AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger caughtAtTheEdge = new java.util.concurrent.atomic.AtomicInteger();
        ExecutorService load = Executors.newFixedThreadPool(8);
        for (int t = 0; t < 8; t++) {
            boolean get = t % 2 == 0;
            load.submit(() -> {
                while (running.get()) {
                    String id = UUID.randomUUID().toString();
                    try {
                        Response r = get ? service.getWebhook("cmiuuid=" + id + "&status=answered&hangup_reason=recv_cancel")
                                : service.postWebhook("{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"hangup_reason\":\"recv_cancel\"}");
                        answers.put(id, r.status());
                        boolean comeBack = r.status() == 503 && "30".equals(r.header("Retry-After"))
                                && "application/problem+json".equals(r.contentType());
                        // Camel's own 503 (no body): only a request already past the edge when the stop began,
                        // so at most one per sender, and only once the stop has begun
                        boolean pastTheEdge = r.status() == 503 && r.body().isEmpty() && stopping.get();
                        if (pastTheEdge) {
                            caughtAtTheEdge.incrementAndGet();
                        }
                        examples.putIfAbsent(comeBack ? 2503 : pastTheEdge ? 1503 : r.status(),
                                r.status() + " " + r.contentType() + " " + r.headers().keySet() + " " + r.body());
                    } catch (UncheckedIOException refused) {
                        // the port is closed: the service has stopped
                    }
                }
                return null;
            });
        }
        io.github.telecmicdr.testing.Await.until(java.time.Duration.ofSeconds(60), answers::size, n -> n >= 300, "answers before the stop");
        stopping.set(true);
        service.close();
        running.set(false);
        load.shutdown();
        assertTrue(load.awaitTermination(60, TimeUnit.SECONDS));
        examples.remove(200);
        examples.remove(1503);
        assertTrue(examples.remove(2503) != null, "no request was told the service is stopping");
        assertEquals(Map.of(), examples, "answers other than 200 and 503");
        assertTrue(caughtAtTheEdge.get() <= 8, "Camel's own 503 to more than one request per sender: " + caughtAtTheEdge.get());
        assertTrue(answers.values().stream().filter(s -> s == 200).count() >= 300, "stored before the stop");
    }
}
