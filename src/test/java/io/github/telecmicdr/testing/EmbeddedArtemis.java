package io.github.telecmicdr.testing;

import jakarta.jms.Connection;
import jakarta.jms.ConnectionFactory;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.apache.activemq.artemis.api.core.RoutingType;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.ActiveMQServers;
import org.apache.activemq.artemis.core.server.JournalType;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;
import org.apache.qpid.jms.JmsConnectionFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A real ActiveMQ Artemis broker in the test JVM: a CORE acceptor (the Artemis JMS client) and an
 * AMQP 1.0 acceptor (Qpid JMS), each on its own free port, security off, messages persisted in a
 * temporary journal so {@link #stop()} and {@link #start()} (same ports) play a broker outage
 * without losing what it had accepted.
 */
public final class EmbeddedArtemis implements AutoCloseable {

    /** One message as a consumer saw it: the text body and every property (application properties for AMQP). */
    public record Received(String body, Map<String, Object> properties) {
    }

    static {
        QuietBrokers.apply();
    }

    private final int corePort = RunningService.freePort();
    private final int amqpPort = RunningService.freePort();
    private final Path journal;
    private final ActiveMQServer server;

    private EmbeddedArtemis() throws Exception {
        journal = Files.createTempDirectory("artemis-");
        ConfigurationImpl configuration = new ConfigurationImpl();
        configuration.setName("test-artemis");
        configuration.setSecurityEnabled(false);
        configuration.setJMXManagementEnabled(false);
        configuration.setPersistenceEnabled(true);
        // NIO: no native libaio; no fsync per write: an outage here is a clean stop, never a power cut
        configuration.setJournalType(JournalType.NIO);
        configuration.setJournalDatasync(false);
        configuration.setJournalFileSize(1024 * 1024);
        configuration.setJournalMinFiles(2);
        configuration.setJournalPoolFiles(2);
        configuration.setJournalDirectory(journal.resolve("journal").toString());
        configuration.setBindingsDirectory(journal.resolve("bindings").toString());
        configuration.setLargeMessagesDirectory(journal.resolve("large-messages").toString());
        configuration.setPagingDirectory(journal.resolve("paging").toString());
        // a nearly full CI disk or a starved 2-core machine must not block producers or halt the broker
        configuration.setMaxDiskUsage(100);
        configuration.setCriticalAnalyzer(false);
        // as a stock broker.xml has them (and without the broker's warning for every new queue)
        configuration.addAddressSetting("#", new AddressSettings().setDeadLetterAddress(SimpleString.of("DLQ"))
                .setExpiryAddress(SimpleString.of("ExpiryQueue")));
        configuration.addAcceptorConfiguration("core", "tcp://127.0.0.1:" + corePort + "?protocols=CORE");
        configuration.addAcceptorConfiguration("amqp", "tcp://127.0.0.1:" + amqpPort + "?protocols=AMQP");
        server = ActiveMQServers.newActiveMQServer(configuration);
        start();
    }

    /** A started broker on fresh ports with an empty journal. */
    public static EmbeddedArtemis started() {
        try {
            return new EmbeddedArtemis();
        } catch (Exception e) {
            throw new IllegalStateException("the embedded Artemis did not start", e);
        }
    }

    /** For the Artemis JMS client ({@code esb.broker-url}). */
    public String coreUrl() {
        return "tcp://127.0.0.1:" + corePort;
    }

    /** For Qpid JMS ({@code esb.amqp-url}). */
    public String amqpUrl() {
        return "amqp://127.0.0.1:" + amqpPort;
    }

    public ActiveMQServer server() {
        return server;
    }

    /** Starts the broker again on the same ports, with what its journal holds. */
    public void start() {
        try {
            server.start();
            Await.until(Duration.ofSeconds(30), server::isActive, active -> active, "Artemis to be active");
        } catch (Exception e) {
            throw new IllegalStateException("the embedded Artemis did not start", e);
        }
    }

    /** Stops the broker (clients see their connections drop); the journal stays for {@link #start()}. */
    public void stop() {
        try {
            server.stop();
        } catch (Exception e) {
            throw new IllegalStateException("the embedded Artemis did not stop", e);
        }
    }

    /**
     * A durable subscription on a topic (a multicast address), made before anything is published so
     * nothing sent to the topic is missed, across restarts too; read it with
     * {@link #receiveCore}/{@link #receiveAmqp} by the name this returns.
     */
    public String subscribe(String topic, String subscriber) {
        // queue names are broker-wide: one subscriber name may read several topics
        String queue = topic + "." + subscriber;
        try {
            server.createQueue(QueueConfiguration.of(queue).setAddress(topic).setRoutingType(RoutingType.MULTICAST)
                    .setDurable(true), true);
        } catch (Exception e) {
            throw new IllegalStateException("could not subscribe " + subscriber + " to " + topic, e);
        }
        // the fully qualified queue name: both JMS clients read a subscription queue by it
        return topic + "::" + queue;
    }

    /** Messages waiting on a queue, counted by the broker (duplicates it dropped are not there). */
    public long messageCount(String queue) {
        Queue found = server.locateQueue(queue.contains("::") ? queue.substring(queue.indexOf("::") + 2) : queue);
        return found == null ? 0 : found.getMessageCount();
    }

    /** Takes exactly {@code count} messages off a queue with the Artemis JMS client over CORE. */
    public List<Received> receiveCore(String queue, int count, Duration timeout) {
        return receive(new org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory(coreUrl()), queue, count, timeout);
    }

    /** Takes exactly {@code count} messages off a queue with Qpid JMS over AMQP 1.0. */
    public List<Received> receiveAmqp(String queue, int count, Duration timeout) {
        return receive(new JmsConnectionFactory(amqpUrl()), queue, count, timeout);
    }

    private static List<Received> receive(ConnectionFactory factory, String queue, int count, Duration timeout) {
        List<Received> received = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Connection connection = factory.createConnection()) {
            connection.start();
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageConsumer consumer = session.createConsumer(session.createQueue(queue));
            while (received.size() < count) {
                long left = Duration.ofNanos(deadline - System.nanoTime()).toMillis();
                Message message = left > 0 ? consumer.receive(left) : null;
                if (message == null) {
                    throw new AssertionError("received " + received.size() + " of " + count + " messages from " + queue
                            + " within " + timeout + ": " + received);
                }
                received.add(new Received(message instanceof TextMessage text ? text.getText() : message.getBody(String.class),
                        properties(message)));
            }
        } catch (JMSException e) {
            throw new IllegalStateException("could not read " + queue, e);
        }
        return received;
    }

    private static Map<String, Object> properties(Message message) throws JMSException {
        Map<String, Object> properties = new LinkedHashMap<>();
        for (Enumeration<?> names = message.getPropertyNames(); names.hasMoreElements(); ) {
            String name = (String) names.nextElement();
            properties.put(name, message.getObjectProperty(name));
        }
        return Collections.unmodifiableMap(properties);
    }

    @Override
    public void close() {
        stop();
        try (var files = Files.walk(journal)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
