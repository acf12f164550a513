package io.github.telecmicdr.esb;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedKafka;
import io.github.telecmicdr.testing.RunningService;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import java.util.stream.Collectors;

import static io.github.telecmicdr.esb.EsbEvents.answeredCdr;
import static io.github.telecmicdr.esb.EsbEvents.assertEvent;
import static io.github.telecmicdr.esb.EsbEvents.deliveries;
import static io.github.telecmicdr.esb.EsbEvents.liveEvent;
import static io.github.telecmicdr.esb.EsbEvents.missedCall;
import static io.github.telecmicdr.esb.EsbEvents.parse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The service publishing to a real single-node KRaft Kafka ({@code kafka:telecmi-calls}, three
 * partitions): each event a record keyed by the cmiuuid, so one call's events share a partition;
 * Kafka stopped under load and started again, every event arrives (at least once: duplicates are
 * counted and reported, a missing event fails).
 */
class EsbPublishKafkaTest {

    private static final String TOPIC = "telecmi-calls";
    private static final Duration WAIT = Duration.ofSeconds(90);

    private static EmbeddedKafka kafka;
    private static RunningService service;

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.started();
        kafka.createTopic(TOPIC, 3);
        service = RunningService.builder().property("esb.uri", "kafka:" + TOPIC)
                .property("camel.component.kafka.brokers", kafka.bootstrapServers())
                // quick retries for the test; the short backoffs would spend the default 10 attempts within the outage
                .property("delivery.poll-interval-ms", "100").property("delivery.backoff-initial", "200ms")
                .property("delivery.backoff-max", "1s").property("delivery.esb-publish.max-attempts", "1000")
                // a send while Kafka is away fails within seconds and the delivery is retried, as it is after the
                // shipped 10 s / 30 s in a longer outage
                .property("camel.component.kafka.max-block-ms", "2000").property("camel.component.kafka.request-timeout-ms", "4000")
                .property("camel.component.kafka.delivery-timeout-ms", "5000")
                .build();
    }

    @AfterAll
    static void stop() {
        if (service != null) {
            service.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void eachEventIsARecordKeyedByItsCallAndOneCallKeepsToOnePartition() {
        String call = UUID.randomUUID().toString();
        String other = UUID.randomUUID().toString();
        assertEquals(200, service.postWebhook(liveEvent(call, "started")).status());
        assertEquals(200, service.postWebhook(liveEvent(call, "answered")).status());
        assertEquals(200, service.postWebhook(answeredCdr(call)).status());
        assertEquals(200, service.postWebhook(missedCall(other)).status());

        List<ConsumerRecord<String, String>> records = Await.until(WAIT, () -> ours(Set.of(call, other)),
                r -> r.size() >= 4, "the four events on " + TOPIC);
        assertEquals(4, records.size(), "each event once");
        Map<String, ConsumerRecord<String, String>> byId = records.stream()
                .collect(Collectors.toMap(r -> parse(r.value()).get("id").asText(), r -> r));
        assertEvent(parse(byId.get("live-event-started:" + call).value()), "live-event-started", call);
        assertEvent(parse(byId.get("live-event-answered:" + call).value()), "live-event-answered", call);
        assertEvent(parse(byId.get("incoming-answered-cdr:" + call).value()), "incoming-answered-cdr", call);
        assertEvent(parse(byId.get("incoming-missed-cdr:" + other).value()), "incoming-missed-cdr", other);
        for (ConsumerRecord<String, String> record : records) {
            assertEquals(parse(record.value()).get("subject").asText(), record.key(), "the record key is the cmiuuid");
            // the structured-mode content type, and nothing of the exchange as a record header
            List<String> headers = new ArrayList<>();
            for (Header header : record.headers()) {
                headers.add(header.key() + "=" + new String(header.value(), StandardCharsets.UTF_8));
            }
            assertEquals(List.of("content-type=application/cloudevents+json; charset=UTF-8"), headers);
        }
        assertEquals(1, records.stream().filter(r -> r.key().equals(call)).map(ConsumerRecord::partition).distinct().count(),
                "one call's events in one partition");
    }

    @Test
    void kafkaStoppedUnderLoadGetsEveryEventWhenItIsBack() throws Exception {
        int calls = 200;
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
            ids.add(UUID.randomUUID().toString());
        }
        Set<String> expected = new HashSet<>(ids);
        ExecutorService telecmi = Executors.newFixedThreadPool(8);
        try {
            Function<List<String>, List<Future<Integer>>> post = batch -> batch.stream()
                    .map(id -> telecmi.submit(() -> service.postWebhook(answeredCdr(id)).status())).toList();
            List<Future<Integer>> answers = new ArrayList<>(post.apply(ids.subList(0, calls / 2)));
            // stopped mid-way: some events on Kafka, others being published
            Await.until(WAIT, () -> ours(expected).size(), n -> n >= 20, "the first events on Kafka");
            kafka.stop();
            try {
                answers.addAll(post.apply(ids.subList(calls / 2, calls)));
                for (Future<Integer> answer : answers) {
                    assertEquals(200, answer.get(), "storing is not publishing: the webhook answers while Kafka is away");
                }
                Await.until(WAIT, () -> deliveries(path -> service.api(path).body(), "kind=esb-publish&state=pending").stream()
                        .filter(d -> d.get("attempts").asInt() > 0).count(), n -> n > 0, "publishing to fail while Kafka is away");
            } finally {
                kafka.start();
            }
            List<JsonNode> done = Await.until(WAIT, () -> deliveries(path -> service.api(path).body(), "kind=esb-publish&state=done")
                    .stream().filter(d -> expected.contains(d.get("cmiuuid").asText())).toList(), d -> d.size() == calls,
                    "every event published once Kafka is back");
            long retried = done.stream().filter(d -> d.get("attempts").asInt() > 1).count();

            Map<String, Long> copies = ours(expected).stream()
                    .collect(Collectors.groupingBy(r -> parse(r.value()).get("id").asText(), Collectors.counting()));
            Set<String> missing = new HashSet<>(ids);
            missing.removeAll(copies.keySet().stream().map(id -> id.substring(id.indexOf(':') + 1)).collect(Collectors.toSet()));
            long repeated = copies.values().stream().filter(n -> n > 1).count();
            System.out.printf("Kafka stopped under load: %d calls, %d events published after failed attempts, %d events on Kafka"
                    + " more than once (at least once: a consumer drops them by id)%n", calls, retried, repeated);
            assertEquals(Set.of(), missing, "events missing on Kafka");
            assertTrue(retried > 0, "the outage was felt");
        } finally {
            telecmi.shutdownNow();
        }
    }

    /** The records on the topic of these calls. */
    private static List<ConsumerRecord<String, String>> ours(Set<String> cmiuuids) {
        return kafka.records(TOPIC).stream().filter(r -> cmiuuids.contains(r.key())).toList();
    }
}
