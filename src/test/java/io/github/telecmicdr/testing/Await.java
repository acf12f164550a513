package io.github.telecmicdr.testing;

import java.time.Duration;
import java.util.function.Supplier;

/** Polls until a condition holds (no fixed sleeps), failing with the last observation. */
public final class Await {

    private Await() {
    }

    public static <T> T until(Duration timeout, Supplier<T> observe, java.util.function.Predicate<T> done, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        RuntimeException failure = null;
        T last = null;
        while (true) {
            // an observation that throws (a 503 while the machine is busy, a file not there yet) is "not yet"
            try {
                last = observe.get();
                failure = null;
                if (done.test(last)) {
                    return last;
                }
            } catch (RuntimeException | AssertionError e) {
                failure = e instanceof RuntimeException r ? r : new IllegalStateException(e);
            }
            if (System.nanoTime() > deadline) {
                AssertionError timedOut = new AssertionError("timed out after " + timeout + " waiting for " + what + "; last seen: "
                        + (failure != null ? failure : last));
                if (failure != null) {
                    timedOut.initCause(failure);
                }
                throw timedOut;
            }
            RunningService.sleep(50);
        }
    }
}
