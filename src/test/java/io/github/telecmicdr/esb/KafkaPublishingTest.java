package io.github.telecmicdr.esb;

import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedKafka;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.component.kafka.KafkaComponent;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.component.kafka.KafkaEndpoint;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** camel-kafka publishing to a real single-node KRaft Kafka, configured as camel.component.kafka.* would. */
class KafkaPublishingTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private static EmbeddedKafka kafka;
    private static CamelContext camel;
    private static ProducerTemplate producer;

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.started();
        camel = new DefaultCamelContext();
        // camel.component.kafka.brokers
        camel.getComponent("kafka", KafkaComponent.class).getConfiguration().setBrokers(kafka.bootstrapServers());
        camel.start();
        producer = camel.createProducerTemplate();
    }

    @AfterAll
    static void stop() {
        if (camel != null) {
            camel.stop();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void camelsDefaultProducerIsIdempotentAndWaitsForAllReplicas() {
        // what the ESB publish relies on; pinned here so a Camel upgrade that changes a default shows
        Properties settings = camel.getEndpoint("kafka:telecmi-calls", KafkaEndpoint.class).getConfiguration()
                .createProducerProperties();
        assertEquals("true", String.valueOf(settings.get(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG)));
        assertEquals("all", settings.get(ProducerConfig.ACKS_CONFIG));
    }

    @Test
    void theKeyHeaderBecomesTheRecordKeyAndKeepsACallInOnePartition() {
        kafka.createTopic("smoke-keyed", 3);
        for (String event : List.of("started", "answered", "cdr")) {
            producer.sendBodyAndHeader("kafka:smoke-keyed", event, KafkaConstants.KEY, "c-7");
        }
        producer.sendBodyAndHeader("kafka:smoke-keyed", "other", KafkaConstants.KEY, "c-8");

        List<ConsumerRecord<String, String>> records = kafka.awaitRecords("smoke-keyed", 4, WAIT);
        List<ConsumerRecord<String, String>> call = records.stream().filter(r -> "c-7".equals(r.key())).toList();
        assertEquals(List.of("started", "answered", "cdr"), call.stream().map(ConsumerRecord::value).toList());
        assertEquals(1, call.stream().map(ConsumerRecord::partition).distinct().count());
        // the Camel header itself is not copied onto the record
        assertEquals(0, call.get(0).headers().toArray().length, () -> List.of(call.get(0).headers().toArray()).toString());
    }

    @Test
    void aSendRetriedAfterABrokerOutageArrivesAndNothingAcceptedBeforeIsLost() {
        kafka.createTopic("smoke-outage", 1);
        // short waits, so a send during the outage fails soon rather than after Kafka's 60 s / 120 s defaults
        String uri = "kafka:smoke-outage?maxBlockMs=5000&requestTimeoutMs=5000&deliveryTimeoutMs=5000";
        producer.sendBodyAndHeader(uri, "before", KafkaConstants.KEY, "c-1");

        kafka.stop();
        try {
            assertThrows(CamelExecutionException.class, () -> producer.sendBodyAndHeader(uri, "during", KafkaConstants.KEY, "c-1"));
        } finally {
            kafka.start();
        }

        Await.until(WAIT, () -> {
            producer.sendBodyAndHeader(uri, "after", KafkaConstants.KEY, "c-1");
            return true;
        }, sent -> sent, "a send after the outage");
        assertEquals(List.of("before", "after"), kafka.records("smoke-outage").stream().map(ConsumerRecord::value).toList());
    }
}
