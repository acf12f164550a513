package io.github.telecmicdr.recording;

import io.github.telecmicdr.delivery.RetryLater;
import org.apache.hc.core5.concurrent.Cancellable;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One attempt at a recording: this instance's turn for its TeleCMI file name, and the deadline on
 * the request to TeleCMI. The HTTP timeouts only bound the wait between two bytes, so an answer
 * trickled a byte at a time (headers or body) would hold a worker for ever; at the deadline the
 * request is cancelled, which closes its connection and makes the blocked read fail at once.
 */
final class Download {

    /**
     * The attempt whose request this thread is about to send. The HTTP client runs the request on
     * the thread of the route that prepared it; {@link RecordingDownloadClient} takes the attempt
     * from here to attach the request it sends.
     */
    private static final ThreadLocal<Download> PREPARED = new ThreadLocal<>();

    private final FileNameTurns turns;
    private final FileNameTurns.Turn turn;
    private final String deadlineSetting;
    private ScheduledFuture<?> deadline;
    private Cancellable request;
    private boolean timedOut;
    private boolean finished;

    Download(FileNameTurns turns, FileNameTurns.Turn turn, String deadlineSetting) {
        this.turns = turns;
        this.turn = turn;
        this.deadlineSetting = deadlineSetting;
    }

    /** Starts the clock just before the request is sent; the request joins it when it is. */
    synchronized void prepared(ScheduledExecutorService timer, long deadlineMillis) {
        deadline = timer.schedule(this::cutOff, deadlineMillis, TimeUnit.MILLISECONDS);
        PREPARED.set(this);
    }

    /** The attempt this thread prepared, once: nothing for any other request the thread sends later. */
    static Download takePrepared() {
        Download download = PREPARED.get();
        PREPARED.remove();
        return download;
    }

    synchronized void attach(Cancellable sent) {
        request = sent;
        if (timedOut || finished) {
            sent.cancel();
        }
    }

    private synchronized void cutOff() {
        timedOut = true;
        if (request != null) {
            request.cancel();
        }
    }

    synchronized boolean timedOut() {
        return timedOut;
    }

    /** What the delivery records when the deadline cut the attempt off: it is retried later. */
    RetryLater timeoutFailure() {
        return new RetryLater("the download took longer than recordings.download-timeout (" + deadlineSetting
                + "); retried later", null);
    }

    /**
     * Cuts off whatever TeleCMI has not sent yet: the connection is closed, never drained, so an
     * answer over the size limit or never ending costs nothing more. A no-op once the body was read
     * to its end (the connection went back to the pool then).
     */
    synchronized void abandon() {
        if (request != null) {
            request.cancel();
        }
    }

    /** Ends the attempt however it went: stops the clock, abandons the request, gives the file name's turn back. */
    void finish() {
        synchronized (this) {
            if (finished) {
                return;
            }
            finished = true;
            if (deadline != null) {
                deadline.cancel(false);
            }
            abandon();
        }
        if (PREPARED.get() == this) {
            PREPARED.remove();
        }
        turns.release(turn);
    }
}
