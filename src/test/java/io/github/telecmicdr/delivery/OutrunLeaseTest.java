package io.github.telecmicdr.delivery;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.operations.CdrMetrics;
import io.github.telecmicdr.store.Database;
import io.github.telecmicdr.testing.StoredCalls;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An attempt that outruns its lease is claimed again, by this instance too (a lease names the
 * instance, and no instance renews one). From then on only the later attempt's outcome counts,
 * whichever of the two ends first.
 */
class OutrunLeaseTest {

    private static final Duration LEASE = Duration.ofMillis(300);

    @Test
    void theEarlierAttemptsFailureDoesNotUndoTheLaterAttemptsSuccess() throws Exception {
        withTwoAttempts((db, deliveries, attempts) -> {
            deliveries.fail(attempts[0], new RuntimeException("read timed out"), 5, Duration.ofDays(1));
            assertEquals("in_progress/2", state(db), "the later attempt still holds the delivery");
            deliveries.complete(attempts[1]);
            assertEquals("done/2", state(db));
        });
    }

    @Test
    void theEarlierAttemptsSuccessDoesNotEndTheLaterAttempt() throws Exception {
        withTwoAttempts((db, deliveries, attempts) -> {
            deliveries.complete(attempts[0]);
            assertEquals("in_progress/2", state(db), "the later attempt still holds the delivery");
            deliveries.fail(attempts[1], new PermanentFailure("SMTP answered 550: no such user"), 5, Duration.ofDays(1));
            assertEquals("failed/2", state(db));
        });
    }

    @Test
    void aRetryThroughTheApiDoesNotHandTheDeliveryBackToAnEarlierClaim() throws Exception {
        withTwoAttempts((db, deliveries, attempts) -> {
            deliveries.fail(attempts[1], new PermanentFailure("SMTP answered 550: no such user"), 5, Duration.ofDays(1));
            deliveries.retry(String.valueOf(attempts[1].id()));
            List<Delivery> afterTheRetry = deliveries.claim(Delivery.ALERT_EMAIL, 1);
            assertEquals(1, afterTheRetry.get(0).attempts(), "attempts count again from the retry: the first claim's number");
            deliveries.complete(attempts[0]);
            assertEquals("in_progress/1", state(db), "the first claim, still at work all along, no longer holds the delivery");
            deliveries.complete(afterTheRetry.get(0));
            assertEquals("done/1", state(db));
        });
    }

    /** What a test does with the two attempts of one delivery. */
    private interface TwoAttempts {
        void run(HikariDataSource db, Deliveries deliveries, Delivery[] attempts) throws Exception;
    }

    private static void withTwoAttempts(TwoAttempts test) throws Exception {
        try (HikariDataSource db = database()) {
            Deliveries deliveries = deliveries(db);
            deliveries.start();
            try {
                test.run(db, deliveries, twoAttemptsOfOneDelivery(db, deliveries));
            } finally {
                deliveries.stop();
            }
        }
    }

    /** Attempt 1 claimed, its lease run out while it is still at work, attempt 2 claimed by the same instance. */
    private static Delivery[] twoAttemptsOfOneDelivery(HikariDataSource db, Deliveries deliveries) throws Exception {
        Database.inTransaction(db, c -> {
            StoredCalls.insertWithDueAlert(c, List.of("outrun-1"));
            return null;
        });
        Delivery first = deliveries.claim(Delivery.ALERT_EMAIL, 1).get(0);
        Thread.sleep(LEASE.toMillis() * 2);
        List<Delivery> again = deliveries.claim(Delivery.ALERT_EMAIL, 1);
        assertEquals(1, again.size(), "claimed again once the lease ran out");
        assertEquals(2, again.get(0).attempts());
        return new Delivery[] {first, again.get(0)};
    }

    private static HikariDataSource database() {
        return Database.open("jdbc:h2:mem:outrun-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "", 4, 5000);
    }

    private static Deliveries deliveries(HikariDataSource db) {
        Clock clock = Clock.systemUTC();
        return new Deliveries(db, new ObjectMapper(), clock, new Deliveries.Settings(5, Duration.ofDays(1), LEASE,
                Duration.ofSeconds(10), Duration.ofMinutes(30), 20, Duration.ofSeconds(60)),
                new CdrMetrics(new SimpleMeterRegistry(), db, clock), List.of(), () -> false);
    }

    private static String state(HikariDataSource db) throws Exception {
        try (Connection c = db.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT state || '/' || attempts FROM delivery")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
