package io.github.telecmicdr.delivery;

import com.sun.net.httpserver.HttpServer;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import org.h2.api.Trigger;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Acknowledgements first (delivery.yield-to-webhooks-above): while webhook requests queue for the
 * database, a delivery kind works one delivery at a time; once they are answered, it works its
 * concurrency again. The queue is real: an H2 trigger makes every notification insert slow, and
 * eight senders keep posting. The destination is TeleCMI's play API, played by a real HTTP server
 * that counts how many downloads it holds at once. What is asserted is that overlap, not a time.
 */
class DeliveriesYieldToWebhooksTest {

    /** Milliseconds each notification insert takes while set. */
    static volatile long slowInsertMillis;

    /** Slows notification inserts down, so that webhook requests queue for their commit. */
    public static final class SlowInsert implements Trigger {
        @Override
        public void fire(Connection conn, Object[] oldRow, Object[] newRow) throws java.sql.SQLException {
            long millis = slowInsertMillis;
            if (millis > 0) {
                try {
                    Thread.sleep(millis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Test
    void oneDeliveryAtATimeWhileWebhooksQueueThenItsConcurrency() throws Exception {
        AtomicInteger holding = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        AtomicInteger answerMillis = new AtomicInteger(1_000);
        HttpServer telecmi = DeliveryConcurrencyTest.slowTelecmi(holding, most, answerMillis::get);
        try (RunningService s = withSlowInserts(telecmi, "30s")) {
            int mark = LogCapture.get().mark();
            List<String> whileQueued;
            try (Senders ignored = new Senders(s)) {
                // planned together, due together, each download a second long: they would overlap
                whileQueued = postRecordedCalls(s, 8);
                // they go one at a time while the senders go on
                Await.until(Duration.ofSeconds(60), () -> downloadsDone(s, whileQueued), done -> done >= 2, "a few downloads while webhooks queue");
                assertEquals(1, most.get(), "downloads held at once while webhooks queued");
            }

            // no queue: the same kind works up to its concurrency again
            answerMillis.set(200);
            List<String> afterwards = postRecordedCalls(s, 12);
            Await.until(Duration.ofSeconds(60), () -> downloadsDone(s, whileQueued) + downloadsDone(s, afterwards),
                    done -> done == whileQueued.size() + afterwards.size(), "every download");
            assertTrue(most.get() > 1, "downloads held at once without a queue: " + most.get());
            List<String> said = LogCapture.get().since(mark);
            assertTrue(said.stream().anyMatch(l -> l.contains("Deliveries yield to webhooks")), "a line when deliveries start yielding");
            assertTrue(said.stream().anyMatch(l -> l.contains("Deliveries no longer yield to webhooks")), "and one when they stop");
        } finally {
            telecmi.stop(0);
        }
    }

    /**
     * A queue that lasts longer than delivery.yield-max is the steady state, not a burst: the
     * deliveries then share the CPU with the webhooks again, while they still queue.
     */
    @Test
    void aQueueLongerThanYieldMaxStopsTheYielding() throws Exception {
        AtomicInteger most = new AtomicInteger();
        HttpServer telecmi = DeliveryConcurrencyTest.slowTelecmi(new AtomicInteger(), most, () -> 1_000);
        try (RunningService s = withSlowInserts(telecmi, "1s"); Senders ignored = new Senders(s)) {
            int mark = LogCapture.get().mark();
            postRecordedCalls(s, 8);
            Await.until(Duration.ofSeconds(60), () -> LogCapture.get().since(mark), said -> said.stream()
                    .anyMatch(l -> l.contains("Deliveries stop yielding to webhooks")), "deliveries to stop yielding");
            // the webhooks still queue; the downloads overlap again
            Await.until(Duration.ofSeconds(60), most::get, held -> held > 1, "downloads to overlap while webhooks still queue");
        } finally {
            telecmi.stop(0);
        }
    }

    /**
     * The service downloading recordings from {@code telecmi} (six at once), yielding above two
     * waiting webhook requests for at most {@code yieldMax}, its notification inserts slowed down
     * by {@link SlowInsert} while {@link #slowInsertMillis} is set.
     */
    private static RunningService withSlowInserts(HttpServer telecmi, String yieldMax) throws Exception {
        RunningService s = RunningService.builder()
                .property("telecmi.api-base-url", "http://127.0.0.1:" + telecmi.getAddress().getPort())
                .property("telecmi.appid", "2222223").property("telecmi.secret", "yield-secret")
                .property("delivery.poll-interval-ms", "50")
                .property("delivery.recording-download.concurrency", "6")
                .property("delivery.yield-to-webhooks-above", "2")
                .property("delivery.yield-max", yieldMax)
                .build();
        DataSource ds = s.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE TRIGGER slow_notification_insert BEFORE INSERT ON notification FOR EACH ROW CALL \""
                    + SlowInsert.class.getName() + "\"");
        }
        return s;
    }

    /** Webhooks that queue: each insert 30 ms, eight senders posting until closed. */
    private static final class Senders implements AutoCloseable {
        private final AtomicBoolean sending = new AtomicBoolean(true);
        private final List<Thread> threads = new ArrayList<>();

        Senders(RunningService s) throws InterruptedException {
            slowInsertMillis = 30;
            for (int i = 0; i < 8; i++) {
                Thread sender = new Thread(() -> {
                    while (sending.get()) {
                        s.postWebhook("{\"cmiuuid\":\"" + UUID.randomUUID() + "\",\"status\":\"answered\",\"record\":false}");
                    }
                });
                sender.start();
                threads.add(sender);
            }
            Thread.sleep(500);
        }

        @Override
        public void close() throws InterruptedException {
            sending.set(false);
            for (Thread sender : threads) {
                sender.join(30_000);
            }
            slowInsertMillis = 0;
        }
    }

    /** Posts the calls at once, from a thread each, so that they share commits. */
    private static List<String> postRecordedCalls(RunningService s, int calls) throws InterruptedException {
        List<String> ids = new ArrayList<>();
        List<Thread> posting = new ArrayList<>();
        AtomicInteger ok = new AtomicInteger();
        for (int i = 0; i < calls; i++) {
            String id = UUID.randomUUID().toString();
            ids.add(id);
            Thread post = new Thread(() -> {
                if (s.postWebhook("{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"record\":true,\"filename\":\""
                        + id + ".mp3\"}").status() == 200) {
                    ok.incrementAndGet();
                }
            });
            post.start();
            posting.add(post);
        }
        for (Thread post : posting) {
            post.join(30_000);
        }
        assertEquals(calls, ok.get(), "every call stored");
        return ids;
    }

    private static int downloadsDone(RunningService s, List<String> ids) {
        int done = 0;
        for (String id : ids) {
            if ("done".equals(s.delivery(id, "recording-download").get("state").asText())) {
                done++;
            }
        }
        return done;
    }
}
