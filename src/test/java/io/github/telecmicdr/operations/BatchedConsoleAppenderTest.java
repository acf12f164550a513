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
        // the service's own context (its MDC adapter), with this appender attached to no logger
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        String output = stdoutOf(() -> {
            // far fewer places than lines: the callers wait for the writer instead of losing lines
            BatchedConsoleAppender appender = started(context, "%replace(%msg){'[\\x00-\\x1F]+', '?'}%n", 64, 5);
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
        });
        // (the service's own console appender writes to System.out too: its lines are not ours)
        List<String> lines = output.lines().filter(l -> l.matches("t\\d line .*")).toList();
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
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        String output = stdoutOf(() -> {
            // one place: the second line finds the queue full, on a thread that is interrupted
            BatchedConsoleAppender appender = started(context, "%msg%n", 1, 20);
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
        });
        List<String> lines = output.lines().filter(l -> l.startsWith("interrupted line ")).toList();
        assertEquals(List.of("interrupted line 0", "interrupted line 1", "interrupted line 2", "interrupted line 3", "interrupted line 4"), lines);
        assertTrue(stillInterrupted.get(), "the caller's interrupt is kept");
    }

    /** An appender writing lines of this pattern, started (on whatever System.out is now). */
    private static BatchedConsoleAppender started(LoggerContext context, String pattern, int queueSize, long flushIntervalMs) {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(pattern);
        encoder.start();
        BatchedConsoleAppender appender = new BatchedConsoleAppender();
        appender.setContext(context);
        appender.setEncoder(encoder);
        appender.setQueueSize(queueSize);
        appender.setFlushIntervalMs(flushIntervalMs);
        appender.start();
        return appender;
    }

    interface Work {
        void run() throws Exception;
    }

    /** What reached System.out while the work ran; System.out is put back after. */
    private static String stdoutOf(Work work) throws Exception {
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            work.run();
        } finally {
            System.setOut(stdout);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
