package io.github.telecmicdr.reconcile;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** When a window is due again: about once an interval, and 1, 2, 4, then 8 intervals after failures. */
class ReconcileCadenceTest {

    @Test
    void backoffDoublesUpToEightIntervalsLessTheSlackOfALateTick() {
        Reconciliation r = reconciliation(Duration.ofMinutes(15));
        assertEquals(Duration.ofSeconds(30), r.slack(), "a quarter interval, at most 30 s");
        assertEquals(Duration.ofMinutes(15).minusSeconds(30), r.backoff(1));
        assertEquals(Duration.ofMinutes(30).minusSeconds(30), r.backoff(2));
        assertEquals(Duration.ofMinutes(60).minusSeconds(30), r.backoff(3));
        assertEquals(Duration.ofMinutes(120).minusSeconds(30), r.backoff(4));
        assertEquals(Duration.ofMinutes(120).minusSeconds(30), r.backoff(9), "no further than 8 intervals");
        assertEquals(Duration.ofMillis(125), reconciliation(Duration.ofMillis(500)).slack());
    }

    private static Reconciliation reconciliation(Duration interval) {
        return new Reconciliation(null, new ObjectMapper(), Clock.systemUTC(), null, new Reconciliation.Settings("1", "s", interval,
                Duration.ofMinutes(10), Duration.ofMinutes(2), Duration.ofHours(24), 20, Duration.ofMinutes(2), Duration.ofDays(90)),
                s -> s);
    }
}
