package io.github.telecmicdr.esb;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedArtemis;
import io.github.telecmicdr.testing.EmbeddedArtemis.Received;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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
 * The service publishing to a real ActiveMQ Artemis: over CORE (jms:) to a topic read by a JMS
 * subscriber, over AMQP 1.0 (amqp:) to a queue read by an AMQP consumer; the event field by field,
 * esb.kinds, nothing of the exchange as message properties, and a broker stopped under load that
 * gets every event exactly once when it is back.
 */
class EsbPublishArtemisTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8";

    private static EmbeddedArtemis artemis;

    @BeforeAll
    static void startBroker() {
        artemis = EmbeddedArtemis.started();
    }

    @AfterAll
    static void stopBroker() {
        if (artemis != null) {
            artemis.close();
        }
    }

    private static RunningService.Builder service(String esbUri) {
        return RunningService.builder().property("esb.uri", esbUri)
                .property("esb.broker-url", artemis.coreUrl()).property("esb.amqp-url", artemis.amqpUrl())
                // quick retries for the test
                .property("delivery.poll-interval-ms", "100").property("delivery.backoff-initial", "200ms")
                .property("delivery.backoff-max", "1s");
    }

    @Test
    void everyKindReachesACoreJmsSubscriberAsACloudEvent() {
        String subscription = artemis.subscribe("telecmi.calls", "erp");
        String answered = UUID.randomUUID().toString();
        String missed = UUID.randomUUID().toString();
        String live = UUID.randomUUID().toString();
        int mark = LogCapture.get().mark();
        try (RunningService s = service("jms:topic:telecmi.calls").build()) {
            assertEquals(200, s.postWebhook(answeredCdr(answered)).status());
            assertEquals(200, s.postWebhook(missedCall(missed)).status());
            assertEquals(200, s.postWebhook(liveEvent(live, "waiting")).status());

            Map<String, Received> bySubject = bySubject(artemis.receiveCore(subscription, 3, WAIT));
            assertEvent(parse(bySubject.get(answered).body()), "incoming-answered-cdr", answered);
            assertEvent(parse(bySubject.get(missed).body()), "incoming-missed-cdr", missed);
            assertEvent(parse(bySubject.get(live).body()), "live-event-waiting", live);
            assertOnlyOurProperties(bySubject.get(answered), "incoming-answered-cdr:" + answered);
            assertOnlyOurProperties(bySubject.get(live), "live-event-waiting:" + live);
        }
        // Artemis counts an acknowledged message off the queue a moment after the consumer's ack
        Await.until(WAIT, () -> artemis.messageCount(subscription), n -> n == 0, "nothing published twice");
        // started, published and stopped without a word of warning (a deprecated simple operator in the route was one)
        List<String> logged = LogCapture.get().lines();
        assertEquals(List.of(), logged.subList(mark, logged.size()).stream()
                .filter(line -> line.startsWith("WARN") || line.startsWith("ERROR")).toList());
    }

    @Test
    void theKindsInEsbKindsReachAnAmqpConsumer() {
        String answered = UUID.randomUUID().toString();
        String missed = UUID.randomUUID().toString();
        String live = UUID.randomUUID().toString();
        try (RunningService s = service("amqp:queue:telecmi.calls.amqp")
                .property("esb.kinds", "incoming-answered-cdr,incoming-missed-cdr").build()) {
            assertEquals(200, s.postWebhook(liveEvent(live, "started")).status());
            assertEquals(200, s.postWebhook(answeredCdr(answered)).status());
            assertEquals(200, s.postWebhook(missedCall(missed)).status());

            Map<String, Received> bySubject = bySubject(artemis.receiveAmqp("telecmi.calls.amqp", 2, WAIT));
            assertEvent(parse(bySubject.get(answered).body()), "incoming-answered-cdr", answered);
            assertEvent(parse(bySubject.get(missed).body()), "incoming-missed-cdr", missed);
            assertOnlyOurProperties(bySubject.get(missed), "incoming-missed-cdr:" + missed);
            // the live event is stored, and no esb-publish is planned for it
            assertTrue(s.api("/api/notifications?cmiuuid=" + live).body().contains("live-event-started"));
            assertEquals(Set.of(answered, missed), deliveries(path -> s.api(path).body(), "kind=esb-publish").stream()
                    .map(d -> d.get("cmiuuid").asText()).collect(Collectors.toSet()));
        }
        Await.until(WAIT, () -> artemis.messageCount("telecmi.calls.amqp"), n -> n == 0, "nothing published for the live event");
    }

    @Test
    void aBrokerStoppedUnderLoadGetsEveryEventExactlyOnceWhenItIsBack() throws Exception {
        String subscription = artemis.subscribe("telecmi.outage", "erp");
        int calls = 200;
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
            ids.add(UUID.randomUUID().toString());
        }
        ExecutorService telecmi = Executors.newFixedThreadPool(8);
        // the short test backoffs spend the default 10 attempts in seconds; an outage must not fail a delivery here
        try (RunningService s = service("jms:topic:telecmi.outage").property("delivery.esb-publish.max-attempts", "1000").build()) {
            Function<List<String>, List<Future<Integer>>> post = batch -> batch.stream()
                    .map(id -> telecmi.submit(() -> s.postWebhook(answeredCdr(id)).status())).toList();
            List<Future<Integer>> answers = new ArrayList<>(post.apply(ids.subList(0, calls / 2)));
            // stopped mid-way: some events on the broker, others being published
            Await.until(WAIT, () -> artemis.messageCount(subscription), n -> n >= 20, "the first events on the broker");
            artemis.stop();
            try {
                answers.addAll(post.apply(ids.subList(calls / 2, calls)));
                for (Future<Integer> answer : answers) {
                    assertEquals(200, answer.get(), "storing is not publishing: the webhook answers while the broker is away");
                }
                Await.until(WAIT, () -> deliveries(path -> s.api(path).body(), "kind=esb-publish&state=pending").stream()
                        .filter(d -> d.get("attempts").asInt() > 0).count(), n -> n > 0, "publishing to fail while the broker is away");
            } finally {
                artemis.start();
            }

            List<JsonNode> done = Await.until(WAIT, () -> deliveries(path -> s.api(path).body(), "kind=esb-publish&state=done"),
                    d -> d.size() == calls, "every event published once the broker is back");
            long retried = done.stream().filter(d -> d.get("attempts").asInt() > 1).count();
            System.out.printf("Artemis stopped under load: %d calls, %d events published after failed attempts%n", calls, retried);
            assertTrue(retried > 0, "the outage was felt");
        } finally {
            telecmi.shutdownNow();
        }
        // every delivery done, so every send was acknowledged; Artemis may answer a send a moment
        // before the message is on the queue, so the count is awaited, then must be exact
        Await.until(WAIT, () -> artemis.messageCount(subscription), n -> n >= calls, "every event on the broker");
        assertEquals(calls, artemis.messageCount(subscription), "exactly one copy of each event");
        Map<String, Long> copies = new TreeMap<>(artemis.receiveCore(subscription, calls, WAIT).stream()
                .collect(Collectors.groupingBy(m -> parse(m.body()).get("subject").asText(), Collectors.counting())));
        assertEquals(new TreeMap<>(ids.stream().collect(Collectors.toMap(id -> id, id -> 1L))), copies);
    }

    private static Map<String, Received> bySubject(List<Received> received) {
        return received.stream().collect(Collectors.toMap(m -> parse(m.body()).get("subject").asText(), m -> m));
    }

    /**
     * The duplicate id and the content type, nothing of the exchange (Camel's, the delivery's, the
     * webhook's headers); the JMS-defined JMSX properties the broker adds itself are not ours.
     */
    private static void assertOnlyOurProperties(Received message, String eventId) {
        Map<String, Object> properties = new TreeMap<>(message.properties());
        properties.keySet().removeIf(name -> name.startsWith("JMSX"));
        assertEquals(Map.of("_AMQ_DUPL_ID", eventId, "content_type", CONTENT_TYPE), properties);
    }
}
