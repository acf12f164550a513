package io.github.telecmicdr.operations;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Nothing from a request can start a line of the log: the service's own log format (logback.xml, as
 * shipped) writes every message on one line, whatever control characters its values carry.
 */
class CleanLogsTest {

    /** The line the shipped console appender writes for this message. */
    static String written(String message) {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        BatchedConsoleAppender console = (BatchedConsoleAppender) root.getAppender("CONSOLE");
        LoggingEvent event = new LoggingEvent(CleanLogsTest.class.getName(), context.getLogger("io.github.telecmicdr.webhook"),
                Level.INFO, message, null, null);
        return new String(console.getEncoder().encode(event), StandardCharsets.UTF_8);
    }

    @Test
    void everyMessageIsOneLine() {
        for (String forged : List.of("a\nINFO forged", "a\r\nINFO forged", "a\rINFO forged", "a\u0085INFO forged",
                "a\u2028INFO forged", "a\u2029INFO forged", "a\u000bINFO forged", "a\u001b[2Kforged")) {
            String line = written(forged);
            assertEquals(1, line.lines().count(), line);
            assertTrue(line.endsWith("a?INFO forged" + System.lineSeparator()) || line.contains("a?[2Kforged"), line);
        }
        assertTrue(written("tab\tkept").contains("tab\tkept"));
    }

    @Test
    void aParameterNameWithALineBreakStaysOnItsLine() {
        try (RunningService s = RunningService.onH2()) {
            int mark = LogCapture.get().mark();
            RunningService.Response r = s.getWebhook("cmiuuid=a&x%0AINFO%20forged=1&x%0AINFO%20forged=2");
            assertEquals(400, r.status(), r.body());
            List<String> logged = LogCapture.get().since(mark).stream()
                    .filter(l -> l.contains("forged")).toList();
            assertFalse(logged.isEmpty(), "the refusal is logged");
            for (String line : logged) {
                String message = line.substring(line.indexOf(' ', line.indexOf(' ') + 1) + 1);
                assertEquals(1, written(message).lines().count(), written(message));
            }
        }
    }
}
