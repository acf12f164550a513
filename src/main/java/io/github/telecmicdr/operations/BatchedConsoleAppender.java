package io.github.telecmicdr.operations;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Log lines to stdout, written by one background thread in batches: every {@code flushIntervalMs}
 * it takes every line waiting and writes them with one write. Logback's AsyncAppender woke its
 * thread for each line and its console appender flushed each line with a write of its own: at a
 * few thousand webhooks a second, their one line each cost ~8% of the service's CPU
 * (bench/README.md). No line is dropped: a full queue ({@code queueSize}) slows the caller down
 * instead, a caller whose thread is interrupted still logs, and once logging stops or the JVM
 * begins to exit every line is written at once, on the caller's thread. Only a kill -9 can lose
 * the lines of the last {@code flushIntervalMs}.
 */
public final class BatchedConsoleAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {

    private Encoder<ILoggingEvent> encoder;
    private int queueSize = 16_384;
    private long flushIntervalMs = 50;
    private BlockingQueue<ILoggingEvent> queue;
    private Thread writer;
    private Thread exitHook;
    private volatile boolean running;
    /** Set when logging stops or the JVM exits: from then on each line is written as it comes. */
    private volatile boolean direct;

    public Encoder<ILoggingEvent> getEncoder() {
        return encoder;
    }

    public void setEncoder(Encoder<ILoggingEvent> encoder) {
        this.encoder = encoder;
    }

    public void setQueueSize(int queueSize) {
        this.queueSize = queueSize;
    }

    public void setFlushIntervalMs(long flushIntervalMs) {
        this.flushIntervalMs = flushIntervalMs;
    }

    @Override
    public void start() {
        if (encoder == null) {
            addError("No encoder for the appender named [" + name + "]");
            return;
        }
        if (queueSize < 1 || flushIntervalMs < 1) {
            addError("queueSize and flushIntervalMs must be at least 1");
            return;
        }
        queue = new ArrayBlockingQueue<>(queueSize);
        running = true;
        writer = new Thread(this::writeLoop, "log-writer");
        writer.setDaemon(true);
        writer.start();
        // the daemon writer ends with the JVM: what is still queued then is written by this hook
        exitHook = new Thread(() -> {
            direct = true;
            writeWaiting();
        }, "log-writer-exit");
        Runtime.getRuntime().addShutdownHook(exitHook);
        super.start();
    }

    @Override
    protected void append(ILoggingEvent event) {
        // formatted now, on the caller's thread, while its MDC and arguments are what they were
        event.prepareForDeferredProcessing();
        if (direct) {
            writeNow(event);
            return;
        }
        // the writer does not wait on the queue, so adding a line wakes no thread
        if (queue.offer(event)) {
            return;
        }
        // full: wait for room, even on a thread that is being interrupted (its line is kept)
        boolean interrupted = Thread.interrupted();
        try {
            while (true) {
                try {
                    queue.put(event);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Writes what is waiting, then this line: logging is stopping, nothing waits for the writer. */
    private synchronized void writeNow(ILoggingEvent event) {
        writeWaiting();
        write(List.of(event));
    }

    private void writeLoop() {
        while (running) {
            try {
                Thread.sleep(flushIntervalMs);
            } catch (InterruptedException e) {
                break;
            }
            try {
                writeWaiting();
            } catch (Throwable e) {
                // never leave the queue to fill up: callers would wait on it for good
                addError("Could not write log lines", e);
            }
        }
    }

    /** Writes every line waiting, in one write. */
    private synchronized void writeWaiting() {
        List<ILoggingEvent> batch = new ArrayList<>();
        queue.drainTo(batch);
        write(batch);
    }

    private void write(List<ILoggingEvent> batch) {
        if (batch.isEmpty()) {
            return;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(batch.size() * 160);
        for (ILoggingEvent event : batch) {
            try {
                bytes.writeBytes(encoder.encode(event));
            } catch (RuntimeException e) {
                addError("Could not format a log line", e);
            }
        }
        // System.out as it is now: a test runner may have replaced it
        PrintStream out = System.out;
        out.write(bytes.toByteArray(), 0, bytes.size());
        out.flush();
    }

    @Override
    public void stop() {
        if (!isStarted()) {
            return;
        }
        // lines logged from here on are written at once; those waiting are written below
        direct = true;
        running = false;
        writer.interrupt();
        try {
            writer.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writeWaiting();
        try {
            Runtime.getRuntime().removeShutdownHook(exitHook);
        } catch (IllegalStateException e) {
            // the JVM is exiting: the hook runs anyway, and finds nothing left to write
        }
        super.stop();
    }
}
