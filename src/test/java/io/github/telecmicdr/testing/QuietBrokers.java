package io.github.telecmicdr.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import org.slf4j.LoggerFactory;

/**
 * The embedded brokers and their clients log every start, stop and configuration at INFO (a
 * Kafka producer alone prints a hundred lines); in tests only their warnings are worth reading.
 */
final class QuietBrokers {

    private QuietBrokers() {
    }

    static void apply() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        for (String logger : new String[] {"org.apache.activemq", "org.apache.qpid", "org.apache.kafka", "kafka", "state.change.logger",
                "org.apache.zookeeper"}) {
            context.getLogger(logger).setLevel(Level.WARN);
        }
    }
}
