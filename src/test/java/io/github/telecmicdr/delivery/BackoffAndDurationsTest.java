package io.github.telecmicdr.delivery;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.crm.CrmAnswers;
import io.github.telecmicdr.operations.CdrMetrics;
import io.github.telecmicdr.store.Database;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.UUID;

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
    void aRetryAfterLongerThanTheCapWaitsTheCap() {
        Duration max = Duration.ofMinutes(30);
        Clock clock = Clock.systemUTC();
        try (HikariDataSource db = Database.open("jdbc:h2:mem:retry-after-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 2, 5000)) {
            Deliveries deliveries = new Deliveries(db, new ObjectMapper(), clock, new Deliveries.Settings(5, Duration.ofDays(1),
                    Duration.ofMinutes(2), Duration.ofSeconds(10), max, 20, Duration.ofSeconds(60)),
                    new CdrMetrics(new SimpleMeterRegistry(), db, clock), List.of(), () -> false);
            try {
                // the largest Retry-After a CRM may send (18 digits): its milliseconds do not fit a long
                Duration asked = CrmAnswers.retryAfter("999999999999999999", Instant.now());
                assertEquals(max, deliveries.retryIn(1, new RetryLater("CRM answered 429", asked)));
                assertEquals(max, deliveries.retryIn(1, new RetryLater("CRM answered 503", max)));
                Duration twenty = deliveries.retryIn(1, new RetryLater("CRM answered 429", Duration.ofMinutes(20)));
                assertTrue(twenty.compareTo(Duration.ofMinutes(20)) >= 0 && twenty.compareTo(Duration.ofMinutes(22)) <= 0, twenty.toString());
            } finally {
                deliveries.stop();
            }
        }
    }

    /**
     * The README promises attempts until delivery.max-age: with the shipped settings the attempts must
     * outlast it even when every wait draws the shortest jitter, for every kind that overrides them.
     */
    @Test
    void theShippedSettingsRetryUntilMaxAgeNotFewerAttempts() throws Exception {
        java.util.Properties shipped = new java.util.Properties();
        try (java.io.Reader in = java.nio.file.Files.newBufferedReader(java.nio.file.Path.of("application.properties"))) {
            shipped.load(in);
        }
        Duration initial = Durations.parse("delivery.backoff-initial", shipped.getProperty("delivery.backoff-initial"));
        Duration max = Durations.parse("delivery.backoff-max", shipped.getProperty("delivery.backoff-max"));
        Random shortest = new Random() {
            @Override
            public long nextLong(long bound) {
                return 0;
            }
        };
        for (String kind : List.of("alert-email", "recording-download", "crm-forward", "esb-publish")) {
            int attempts = Integer.parseInt(shipped.getProperty("delivery." + kind + ".max-attempts", shipped.getProperty("delivery.max-attempts")));
            Duration maxAge = Durations.parse("max-age", shipped.getProperty("delivery." + kind + ".max-age", shipped.getProperty("delivery.max-age")));
            Duration waited = Duration.ZERO;
            for (int attempt = 1; attempt < attempts; attempt++) {
                waited = waited.plus(Deliveries.backoff(attempt, initial, max, shortest));
            }
            assertTrue(waited.compareTo(maxAge) > 0, kind + ": " + attempts + " attempts end after " + waited + ", before max-age " + maxAge);
        }
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
