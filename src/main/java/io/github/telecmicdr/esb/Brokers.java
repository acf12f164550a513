package io.github.telecmicdr.esb;

import jakarta.jms.ConnectionFactory;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.apache.camel.CamelContext;
import org.apache.camel.RuntimeCamelException;
import org.apache.camel.component.amqp.AMQPComponent;
import org.apache.camel.component.jms.JmsComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.qpid.jms.JmsConnectionFactory;
import org.springframework.jms.connection.CachingConnectionFactory;

import java.util.function.Function;

/**
 * Connects Camel's {@code jms} component to ActiveMQ Artemis (its Jakarta client, CORE protocol)
 * and its {@code amqp} component to any AMQP 1.0 broker (Qpid JMS), from the {@code esb.*}
 * properties; each only when its URL is set. Kafka needs nothing here: camel-kafka reads
 * {@code camel.component.kafka.*} itself.
 */
public final class Brokers {

    /**
     * Sessions kept open per broker: enough for the publishing threads to send at once without
     * opening a session per message; more are opened and closed as needed.
     */
    private static final int CACHED_SESSIONS = 10;
    /** A send, a request or a connection to an AMQP broker fails the attempt after this long (well within delivery.lease). */
    static final long AMQP_TIMEOUT_MS = 30_000;

    private Brokers() {
    }

    /** @param property a setting by its key, null or blank when unset */
    public static void configure(CamelContext context, Function<String, String> property) {
        String brokerUrl = setting(property, "esb.broker-url");
        if (brokerUrl != null) {
            ActiveMQConnectionFactory artemis = new ActiveMQConnectionFactory(brokerUrl,
                    setting(property, "esb.broker-username"), secret(property, "esb.broker-password"));
            context.getComponent("jms", JmsComponent.class).setConnectionFactory(shared(context, artemis));
        }
        String amqpUrl = setting(property, "esb.amqp-url");
        if (amqpUrl != null) {
            // no topic prefix (camel-amqp's own factory would add "topic://", an address ActiveMQ Classic wants
            // and Artemis takes literally): Qpid marks a topic as such on the link, and Artemis routes it multicast
            JmsConnectionFactory qpid = new JmsConnectionFactory(setting(property, "esb.amqp-username"),
                    secret(property, "esb.amqp-password"), amqpUrl);
            // Qpid waits for a broker's settlement forever by default: a broker that takes a message and
            // never confirms it (an address full and blocking) would hold a delivery worker past its lease
            qpid.setSendTimeout(AMQP_TIMEOUT_MS);
            qpid.setRequestTimeout(AMQP_TIMEOUT_MS);
            qpid.setConnectTimeout(AMQP_TIMEOUT_MS);
            context.getComponent("amqp", AMQPComponent.class).setConnectionFactory(shared(context, qpid));
        }
    }

    /**
     * One connection per broker, its sessions and producers reused: camel-jms alone would connect
     * for every message. A connection the broker drops (an outage) is replaced at the next send,
     * so a delivery retried after the outage goes through.
     */
    private static ConnectionFactory shared(CamelContext context, ConnectionFactory factory) {
        CachingConnectionFactory shared = new CachingConnectionFactory(factory);
        shared.setSessionCacheSize(CACHED_SESSIONS);
        shared.setReconnectOnException(true);
        try {
            context.addService(new ServiceSupport() {
                @Override
                protected void doStop() {
                    shared.destroy();
                }
            });
        } catch (Exception e) {
            throw RuntimeCamelException.wrapRuntimeCamelException(e);
        }
        return shared;
    }

    private static String setting(Function<String, String> property, String key) {
        String value = property.apply(key);
        return value == null || value.isBlank() ? null : value.trim();
    }

    /** A password as given: blanks around it may be part of it. */
    private static String secret(Function<String, String> property, String key) {
        String value = property.apply(key);
        return value == null || value.isEmpty() ? null : value;
    }
}
