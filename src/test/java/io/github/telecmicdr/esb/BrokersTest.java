package io.github.telecmicdr.esb;

import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedArtemis;
import io.github.telecmicdr.testing.EmbeddedArtemis.Received;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Camel's jms (Artemis client, CORE) and amqp (Qpid JMS) components, connected by {@link Brokers}
 * from the esb.* settings, publishing to a real Artemis with both acceptors.
 */
class BrokersTest {

    /** Artemis' duplicate-detection property; camel-jms passes a header of this name through unchanged. */
    private static final String DUPLICATE_ID = "_AMQ_DUPL_ID";
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static EmbeddedArtemis artemis;
    private static CamelContext camel;
    private static ProducerTemplate producer;

    @BeforeAll
    static void start() {
        artemis = EmbeddedArtemis.started();
        camel = new DefaultCamelContext();
        Brokers.configure(camel, Map.of("esb.broker-url", artemis.coreUrl(), "esb.amqp-url", artemis.amqpUrl())::get);
        camel.start();
        producer = camel.createProducerTemplate();
    }

    @AfterAll
    static void stop() {
        if (camel != null) {
            camel.stop();
        }
        if (artemis != null) {
            artemis.close();
        }
    }

    @Test
    void jmsQueueReachesACoreConsumerWithItsHeaders() {
        producer.sendBodyAndHeader("jms:queue:smoke.jms", "{\"id\":\"a\"}", "ce_type", "com.telecmi.test");

        List<Received> received = artemis.receiveCore("smoke.jms", 1, WAIT);
        assertEquals("{\"id\":\"a\"}", received.get(0).body());
        assertEquals("com.telecmi.test", received.get(0).properties().get("ce_type"));
    }

    @Test
    void amqpQueueReachesAnAmqpConsumer() {
        producer.sendBodyAndHeader("amqp:queue:smoke.amqp", "{\"id\":\"b\"}", "ce_type", "com.telecmi.test");

        List<Received> received = artemis.receiveAmqp("smoke.amqp", 1, WAIT);
        assertEquals("{\"id\":\"b\"}", received.get(0).body());
        assertEquals("com.telecmi.test", received.get(0).properties().get("ce_type"));
    }

    @Test
    void topicsReachSubscribersOverTheOtherProtocol() {
        String fromJms = artemis.subscribe("smoke.topic.jms", "reader");
        String fromAmqp = artemis.subscribe("smoke.topic.amqp", "reader");

        producer.sendBody("jms:topic:smoke.topic.jms", "via core");
        producer.sendBody("amqp:topic:smoke.topic.amqp", "via amqp");

        assertEquals("via core", artemis.receiveAmqp(fromJms, 1, WAIT).get(0).body());
        assertEquals("via amqp", artemis.receiveCore(fromAmqp, 1, WAIT).get(0).body());
    }

    @Test
    void theSameDuplicateIdSentTwiceIsKeptOnceOverCore() {
        producer.sendBodyAndHeader("jms:queue:smoke.dup.jms", "first", DUPLICATE_ID, "incoming-answered-cdr:c-1");
        producer.sendBodyAndHeader("jms:queue:smoke.dup.jms", "again", DUPLICATE_ID, "incoming-answered-cdr:c-1");
        producer.sendBodyAndHeader("jms:queue:smoke.dup.jms", "other", DUPLICATE_ID, "incoming-answered-cdr:c-2");

        // in the order sent: a kept repeat would be the second message. (Not the queue's message
        // count: Artemis may answer the send before it adds the message to the queue, and a count
        // read right after the sends once said 1.)
        assertEquals(List.of("first", "other"), artemis.receiveCore("smoke.dup.jms", 2, WAIT).stream().map(Received::body).toList());
    }

    @Test
    void theSameDuplicateIdSentTwiceIsKeptOnceOverAmqp() {
        producer.sendBodyAndHeader("amqp:queue:smoke.dup.amqp", "first", DUPLICATE_ID, "incoming-answered-cdr:c-1");
        producer.sendBodyAndHeader("amqp:queue:smoke.dup.amqp", "again", DUPLICATE_ID, "incoming-answered-cdr:c-1");
        producer.sendBodyAndHeader("amqp:queue:smoke.dup.amqp", "other", DUPLICATE_ID, "incoming-answered-cdr:c-2");

        assertEquals(List.of("first", "other"), artemis.receiveAmqp("smoke.dup.amqp", 2, WAIT).stream().map(Received::body).toList());
    }

    @Test
    void aSendRetriedAfterABrokerOutageArrivesAndNothingAcceptedBeforeIsLost() {
        producer.sendBody("jms:queue:smoke.outage", "before");
        producer.sendBody("amqp:queue:smoke.outage", "before, over amqp");

        artemis.stop();
        try {
            assertThrows(CamelExecutionException.class, () -> producer.sendBody("jms:queue:smoke.outage", "during"));
            assertThrows(CamelExecutionException.class, () -> producer.sendBody("amqp:queue:smoke.outage", "during"));
        } finally {
            artemis.start();
        }

        // as the delivery engine would: try again until the broker takes it, same duplicate id each time
        for (String uri : List.of("jms:queue:smoke.outage", "amqp:queue:smoke.outage")) {
            Await.until(WAIT, () -> {
                producer.sendBodyAndHeader(uri, "after, " + uri, DUPLICATE_ID, "after:" + uri);
                return true;
            }, sent -> sent, "a send to " + uri + " after the outage");
        }
        assertEquals(List.of("before", "before, over amqp", "after, jms:queue:smoke.outage", "after, amqp:queue:smoke.outage"),
                artemis.receiveCore("smoke.outage", 4, WAIT).stream().map(Received::body).toList());
    }
}
