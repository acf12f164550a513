package io.github.telecmicdr.delivery;

import java.time.Duration;

/**
 * A delivery attempt the destination asked us to repeat, and maybe when: a 429 or 503 with a
 * {@code Retry-After}, for instance. Retried like any other exception, but no sooner than
 * {@link #after()} when the destination said so.
 */
public class RetryLater extends RuntimeException {

    private final Duration after;

    /** @param after how long the destination asked us to wait, never negative; {@code null} when it did not say */
    public RetryLater(String message, Duration after) {
        super(message, null, false, false);
        if (after != null && after.isNegative()) {
            throw new IllegalArgumentException("a wait cannot be negative: " + after);
        }
        this.after = after;
    }

    /**
     * How long the destination asked us to wait, or {@code null}: then the kind's own backoff decides.
     * It may be far longer than the backoff ever waits (a {@code Retry-After} of years is legal): the
     * engine caps it before adding it to a time.
     */
    public Duration after() {
        return after;
    }
}
