package io.github.telecmicdr.testing;

import java.time.Duration;
import java.util.function.Supplier;

/** Polls until a condition holds (no fixed sleeps), failing with the last observation. */
public final class Await {

    private Await() {
    }

    public static <T> T until(Duration timeout, Supplier<T> observe, java.util.function.Predicate<T> done, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        T last = observe.get();
        while (!done.test(last)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what + "; last seen: " + last);
            }
            RunningService.sleep(50);
            last = observe.get();
        }
        return last;
    }
}
