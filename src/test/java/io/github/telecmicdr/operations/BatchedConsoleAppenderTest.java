package io.github.telecmicdr.operations;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.LoggingEvent;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every line reaches stdout, in each thread's order, however small the queue; the rest on stop. */
class BatchedConsoleAppenderTest {

    static final int THREADS = 4;
    static final int LINES = 5_000;

    @Test
    void noLineIsDroppedAndEachThreadsLinesKeepTheirOrder() throws Exception {
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        // the service's own context (its MDC adapter), with this appender attached to no logger
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        BatchedConsoleAppender appender = new BatchedConsoleAppender();
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            PatternLayoutEncoder encoder = new PatternLayoutEncoder();
            encoder.setContext(context);
            encoder.setPattern("%replace(%msg){'[\\x00-\\x1F]+', '?'}%n");
            encoder.start();
            appender.setContext(context);
            appender.setEncoder(encoder);
            // far fewer places than lines: the callers wait for the writer instead of losing lines
            appender.setQueueSize(64);
            appender.setFlushIntervalMs(5);
            appender.start();
            assertTrue(appender.isStarted());

            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                Thread logging = new Thread(() -> {
                    for (int i = 0; i < LINES; i++) {
                        appender.doAppend(new LoggingEvent("test", context.getLogger("test"), Level.INFO,
                                "t" + thread + " line " + i + (i == 7 ? "\nforged line" : ""), null, null));
                    }
                });
                logging.start();
                threads.add(logging);
            }
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(30));
            }
            appender.stop();
        } finally {
            System.setOut(stdout);
        }
        // (the service's own console appender writes to System.out too: its lines are not ours)
        List<String> lines = captured.toString(StandardCharsets.UTF_8).lines().filter(l -> l.matches("t\\d line .*")).toList();
        assertEquals(THREADS * LINES, lines.size(), "every line, once");
        for (int t = 0; t < THREADS; t++) {
            String prefix = "t" + t + " line ";
            List<String> own = lines.stream().filter(l -> l.startsWith(prefix)).toList();
            for (int i = 0; i < LINES; i++) {
                assertEquals(prefix + i + (i == 7 ? "?forged line" : ""), own.get(i));
            }
        }
    }

    @Test
    void anInterruptedThreadsLinesAreKeptAndItStaysInterrupted() throws Exception {
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        BatchedConsoleAppender appender = new BatchedConsoleAppender();
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            PatternLayoutEncoder encoder = new PatternLayoutEncoder();
            encoder.setContext(context);
            encoder.setPattern("%msg%n");
            encoder.start();
            appender.setContext(context);
            appender.setEncoder(encoder);
            // one place: the second line finds the queue full, on a thread that is interrupted
            appender.setQueueSize(1);
            appender.setFlushIntervalMs(20);
            appender.start();
            Thread logging = new Thread(() -> {
                Thread.currentThread().interrupt();
                for (int i = 0; i < 5; i++) {
                    appender.doAppend(new LoggingEvent("test", context.getLogger("test"), Level.INFO, "interrupted line " + i, null, null));
                }
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            });
            logging.start();
            logging.join(30_000);
            appender.stop();
        } finally {
            System.setOut(stdout);
        }
        List<String> lines = captured.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("interrupted line ")).toList();
        assertEquals(List.of("interrupted line 0", "interrupted line 1", "interrupted line 2", "interrupted line 3", "interrupted line 4"), lines);
        assertTrue(stillInterrupted.get(), "the caller's interrupt is kept");
    }
}
