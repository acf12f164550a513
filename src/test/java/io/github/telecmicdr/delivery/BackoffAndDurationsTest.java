package io.github.telecmicdr.delivery;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How long a failed delivery waits, and durations as the settings write them. */
class BackoffAndDurationsTest {

    @Test
    void backoffDoublesWithJitterUpToItsCap() {
        Duration initial = Duration.ofSeconds(10);
        Duration max = Duration.ofMinutes(30);
        Random random = new Random(7);
        for (int attempt = 1; attempt <= 40; attempt++) {
            long exp = Math.min(max.toMillis(), initial.toMillis() << Math.min(attempt - 1, 30));
            for (int i = 0; i < 50; i++) {
                long waited = Deliveries.backoff(attempt, initial, max, random).toMillis();
                assertTrue(waited >= exp / 2 && waited <= exp, "attempt " + attempt + ": " + waited + " ms, not in [" + exp / 2 + ", " + exp + "]");
            }
        }
        assertEquals(Duration.ZERO, Deliveries.backoff(1, Duration.ZERO, max, random));
    }

    @Test
    void durationsAsSettingsWriteThem() {
        assertEquals(Duration.ofMillis(500), Durations.parse("k", "500ms"));
        assertEquals(Duration.ofSeconds(30), Durations.parse("k", " 30s "));
        assertEquals(Duration.ofMinutes(5), Durations.parse("k", "5m"));
        assertEquals(Duration.ofHours(24), Durations.parse("k", "24H"));
        assertEquals(Duration.ofDays(90), Durations.parse("k", "90d"));
        assertEquals(Duration.ZERO, Durations.parse("k", "0"));
        // ISO-8601, as other tools and manifests write durations
        assertEquals(Duration.ofMinutes(15), Durations.parse("k", "PT15M"));
        assertEquals(Duration.ZERO, Durations.parse("k", "PT0S"));
        assertEquals(Duration.ofDays(1), Durations.parse("k", "P1D"));
        assertEquals(Duration.ofMillis(1500), Durations.parse("k", " pt1.5s "));
        for (String bad : new String[] {"", "5", "-1s", "1.5h", "5 minutes", "PT", "P", "PT-5M", "-PT5M", "PT5X", null}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse("delivery.max-age", bad), String.valueOf(bad));
            assertTrue(e.getMessage().startsWith("delivery.max-age must be a duration"), e.getMessage());
        }
    }
}
