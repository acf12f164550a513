package io.github.telecmicdr.durability;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.telecmicdr.esb.EsbEvents;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.ChildService;
import io.github.telecmicdr.testing.EmbeddedArtemis;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.EmbeddedKafka;
import io.github.telecmicdr.testing.LogCapture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
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
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The jar publishing to the ESB (the brokers run in this JVM) is killed with SIGKILL under a
 * concurrent load of answered CDRs, and restarted on the same data with a 2 s lease, so what the
 * kill left claimed is published again. Every acknowledged notification is then on the broker, and
 * nothing is there that was not stored: on Artemis exactly once (its duplicate detection drops a
 * re-publish by {@code _AMQ_DUPL_ID}), on Kafka at least once (repeats counted and reported).
 */
class EsbPublishCrashIT {

    static final String TOKEN = "esb-crash-webhook-token-9f1e";
    static final String API = "esb-crash-api-token-2b7c";
    static final Duration WAIT = Duration.ofSeconds(120);
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void artemisHasEveryAcknowledgedNotificationExactlyOnceAfterAKill() throws Exception {
        try (EmbeddedArtemis artemis = EmbeddedArtemis.started()) {
            String subscription = artemis.subscribe("telecmi.calls", "erp");
            int mark = LogCapture.get().mark();
            Map<String, String> env = env("jms:topic:telecmi.calls");
            env.put("ESB_BROKER_URL", artemis.coreUrl());
            try (Crashed run = killedUnderLoad(env)) {
                long republished = awaitEveryPublish(run);
                // every delivery done: every send was acknowledged by the broker, which may add a
                // message to the queue a moment after answering its send, so the count is awaited
                long onBroker = Await.until(WAIT, () -> artemis.messageCount(subscription), n -> n >= run.acknowledged.size(),
                        "an event on the broker for every acknowledged notification");
                Map<String, Long> copies = artemis.receiveCore(subscription, Math.toIntExact(onBroker), WAIT).stream()
                        .collect(Collectors.groupingBy(m -> EsbEvents.parse(m.body()).get("id").asText(), Collectors.counting()));
                // the broker's own word for each re-publish it dropped by its duplicate id
                List<String> logged = LogCapture.get().lines();
                long dropped = logged.subList(mark, logged.size()).stream().filter(line -> line.contains("AMQ222059")).count();
                System.out.printf("ESB publish to Artemis killed under load: %d acknowledged, %d events on the broker,"
                        + " %d deliveries attempted again after the kill, %d re-publishes dropped as duplicates%n",
                        run.acknowledged.size(), onBroker, republished, dropped);
                assertPublished(run, copies.keySet());
                assertEquals(Map.of(), copies.entrySet().stream().filter(e -> e.getValue() > 1)
                        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)), "events on Artemis more than once");
            }
        }
    }

    @Test
    void kafkaHasEveryAcknowledgedNotificationAtLeastOnceAfterAKill() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.started()) {
            kafka.createTopic("telecmi-calls", 3);
            Map<String, String> env = env("kafka:telecmi-calls");
            env.put("CAMEL_COMPONENT_KAFKA_BROKERS", kafka.bootstrapServers());
            try (Crashed run = killedUnderLoad(env)) {
                long republished = awaitEveryPublish(run);
                List<ConsumerRecord<String, String>> records = kafka.records("telecmi-calls");
                Map<String, Long> copies = records.stream()
                        .collect(Collectors.groupingBy(r -> EsbEvents.parse(r.value()).get("id").asText(), Collectors.counting()));
                long repeated = copies.values().stream().filter(n -> n > 1).count();
                System.out.printf("ESB publish to Kafka killed under load: %d acknowledged, %d records, %d events more than once"
                        + " (at least once: consumers drop repeats by id), %d deliveries attempted again after the kill%n",
                        run.acknowledged.size(), records.size(), repeated, republished);
                assertPublished(run, copies.keySet());
                assertTrue(records.stream().allMatch(r -> r.key().equals(EsbEvents.parse(r.value()).get("subject").asText())),
                        "every record keyed by its cmiuuid");
            }
        }
    }

    Map<String, String> env(String esbUri) throws IOException {
        Path data = Files.createTempDirectory("cdr-router-esb-crash");
        Map<String, String> env = new HashMap<>();
        env.put("TELECMI_WEBHOOK_TOKEN", TOKEN);
        env.put("API_TOKEN", API);
        env.put("DATA_DIR", data.toString());
        env.put("DB_URL", EmbeddedDatabases.h2In(data).url());
        env.put("ESB_URI", esbUri);
        env.put("DELIVERY_POLL_INTERVAL_MS", "100");
        // what the kill leaves claimed is taken again 2 s after the restart
        env.put("DELIVERY_LEASE", "2s");
        env.put("DELIVERY_BACKOFF_INITIAL", "200ms");
        env.put("DELIVERY_BACKOFF_MAX", "1s");
        return env;
    }

    /** The service restarted after a kill -9 under load, and the CDRs it had acknowledged (answered 200). */
    record Crashed(ChildService service, Set<String> acknowledged) implements AutoCloseable {
        @Override
        public void close() {
            service.close();
        }
    }

    /**
     * Posts unique answered CDRs from six threads, kills the service once it has acknowledged a
     * hundred and is publishing them (at a random moment after that), and starts it again on the same data.
     */
    Crashed killedUnderLoad(Map<String, String> env) throws Exception {
        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        ChildService child = ChildService.start(env);
        AtomicBoolean loading = new AtomicBoolean(true);
        ExecutorService telecmi = Executors.newFixedThreadPool(6);
        try {
            for (int t = 0; t < 6; t++) {
                telecmi.submit(() -> {
                    while (loading.get()) {
                        String id = UUID.randomUUID().toString();
                        try {
                            if (post(child, EsbEvents.answeredCdr(id)) == 200) {
                                acknowledged.add(id);
                            }
                        } catch (IOException e) {
                            // cut off by the kill: never acknowledged
                        }
                    }
                    return null;
                });
            }
            Await.until(WAIT, acknowledged::size, n -> n >= 100, "the load to flow");
            Await.until(WAIT, () -> deliveries(child, "kind=esb-publish&state=done").size(), n -> n >= 20, "publishing to flow");
            Thread.sleep(new Random().nextInt(2000));
        } finally {
            // also when the load never flowed: no child outlives the test
            child.kill();
            loading.set(false);
            telecmi.shutdown();
            assertTrue(telecmi.awaitTermination(60, TimeUnit.SECONDS));
        }
        return new Crashed(child.restart(env), acknowledged);
    }

    /** Waits until every planned esb-publish is done; returns how many took more than one attempt. */
    long awaitEveryPublish(Crashed run) {
        List<JsonNode> all = Await.until(WAIT, () -> deliveries(run.service(), "kind=esb-publish"),
                d -> d.stream().allMatch(x -> x.get("state").asText().equals("done")), "every esb-publish done after the restart");
        Set<String> planned = all.stream().map(d -> d.get("cmiuuid").asText()).collect(Collectors.toSet());
        Set<String> unplanned = new HashSet<>(run.acknowledged());
        unplanned.removeAll(planned);
        assertEquals(Set.of(), unplanned, "acknowledged CDRs without an esb-publish");
        return all.stream().filter(d -> d.get("attempts").asInt() > 1).count();
    }

    /** Every acknowledged CDR's event published; every event published is of a stored CDR. */
    void assertPublished(Crashed run, Set<String> eventIds) {
        Set<String> published = eventIds.stream().map(id -> id.substring("incoming-answered-cdr:".length())).collect(Collectors.toSet());
        Set<String> missing = new HashSet<>(run.acknowledged());
        missing.removeAll(published);
        assertEquals(Set.of(), missing, "acknowledged notifications not published");
        for (String cmiuuid : published) {
            assertEquals(200, get(run.service(), "/api/cdrs/" + cmiuuid).statusCode(), "published " + cmiuuid + ", not stored");
        }
    }

    int post(ChildService child, String body) throws IOException {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + child.port() + "/webhooks/telecmi/" + TOKEN))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    List<JsonNode> deliveries(ChildService child, String query) {
        return EsbEvents.deliveries(path -> get(child, path).body(), query);
    }

    HttpResponse<String> get(ChildService child, String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + child.port() + path))
                    .header("Authorization", "Bearer " + API).timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
