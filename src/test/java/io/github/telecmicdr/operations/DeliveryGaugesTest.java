package io.github.telecmicdr.operations;

import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.store.Database;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.sql.DataSource;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The delivery gauges read the delivery table: unfinished deliveries at every read, done ones (most
 * of the table) only as often as counting them allows, and no count they do not know; the oldest
 * unfinished delivery's age goes on while the database is away.
 */
class DeliveryGaugesTest {

    /** A clock the test moves, from the real time (the rows' created_at is the database's). */
    static final class TestClock extends Clock {
        final AtomicLong millis = new AtomicLong(System.currentTimeMillis());

        void advance(long ms) {
            millis.addAndGet(ms);
        }

        @Override
        public long millis() {
            return millis.get();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis());
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    @Test
    void doneDeliveriesAreCountedAgainOnlyAfterTwentyTimesTheirLastCountAndUnknownCountsAreNaN(@TempDir Path data) throws Exception {
        EmbeddedDatabases.Jdbc h2 = EmbeddedDatabases.h2In(data);
        TestClock clock = new TestClock();
        AtomicInteger doneCounts = new AtomicInteger();
        boolean[] away = {false};
        boolean[] doneCountFails = {false};
        try (HikariDataSource db = Database.open(h2.url(), h2.username(), h2.password(), 2, 5000)) {
            // the database as the metrics see it: counting done deliveries takes 0.5 s, or fails when told to
            DataSource seen = (DataSource) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {DataSource.class},
                    (proxy, method, args) -> {
                        if (away[0] && method.getName().equals("getConnection")) {
                            throw new SQLException("the database is away");
                        }
                        Object result = invoke(db, method, args);
                        return result instanceof Connection c ? countingDone(c, doneCounts, doneCountFails) : result;
                    });
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            CdrMetrics metrics = new CdrMetrics(registry, seen, clock);
            metrics.measure("alert-email");
            insert(db, 1, "done");
            insert(db, 2, "pending");

            assertEquals(1.0, gauge(registry, "done"));
            assertEquals(1.0, gauge(registry, "pending"));
            assertEquals(1, doneCounts.get());

            insert(db, 3, "done");
            insert(db, 4, "failed");
            clock.advance(2_000);
            assertEquals(1.0, gauge(registry, "done"), "2 s after a count that took 0.5 s: not counted again");
            assertEquals(1.0, gauge(registry, "failed"), "the unfinished states are read at every read");
            assertEquals(1, doneCounts.get());

            clock.advance(18_000);
            assertEquals(2.0, gauge(registry, "done"), "20 s after it: counted again");
            assertEquals(2, doneCounts.get());
            assertEquals(1.0, registry.get("cdr_router_delivery_backlog").gauge().value());
            double age = oldestPendingAge(registry);
            assertTrue(age >= 15 && age < 40, "the pending delivery's age on the test's clock: " + age);

            away[0] = true;
            clock.advance(1_000);
            assertTrue(Double.isNaN(gauge(registry, "done")), "the last figures are not now's");
            assertTrue(Double.isNaN(gauge(registry, "pending")));
            assertTrue(Double.isNaN(registry.get("cdr_router_delivery_backlog").gauge().value()));
            assertTrue(Double.isNaN(registry.get("cdr_router_delivery_kinds").gauge().value()));
            clock.advance(5_000);
            assertEquals(age + 6, oldestPendingAge(registry), 0.01, "nothing finishes while the database is away: the age goes on");

            away[0] = false;
            doneCountFails[0] = true;
            clock.advance(20_000);
            assertTrue(Double.isNaN(gauge(registry, "done")), "a done count that failed");
            assertEquals(1.0, gauge(registry, "pending"), "does not hide the other states");
            assertEquals(3, doneCounts.get());
            clock.advance(1_000);
            gauge(registry, "pending");
            assertEquals(3, doneCounts.get(), "and is not tried again at the next read");
        }
    }

    /** The kind's oldest unfinished delivery's age, in seconds. */
    static double oldestPendingAge(SimpleMeterRegistry registry) {
        return registry.get("cdr_router_delivery_oldest_pending_age_seconds").tag("kind", "alert-email").gauge().value();
    }

    static double gauge(SimpleMeterRegistry registry, String state) {
        return registry.get("cdr_router_deliveries").tag("kind", "alert-email").tag("state", state).gauge().value();
    }

    static Object invoke(Object target, java.lang.reflect.Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** Counting done deliveries on this connection takes 0.5 s (or fails), and is counted. */
    static Connection countingDone(Connection c, AtomicInteger counts, boolean[] fails) {
        return (Connection) Proxy.newProxyInstance(DeliveryGaugesTest.class.getClassLoader(), new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("prepareStatement") && ((String) args[0]).contains("state = 'done'")) {
                        counts.incrementAndGet();
                        Thread.sleep(500);
                        if (fails[0]) {
                            throw new SQLException("canceling statement due to statement timeout");
                        }
                    }
                    return invoke(c, method, args);
                });
    }

    static void insert(DataSource db, long id, String state) throws SQLException {
        try (Connection c = db.getConnection(); Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO notification (id, kind, cmiuuid, http_method, received_at, raw_payload)"
                    + " VALUES (" + id + ", 'incoming-answered-cdr', 'g-" + id + "', 'POST', CURRENT_TIMESTAMP, '{}')");
            s.executeUpdate("INSERT INTO delivery (notification_id, cmiuuid, kind, state, attempts, next_attempt_at, created_at)"
                    + " VALUES (" + id + ", 'g-" + id + "', 'alert-email', '" + state + "', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)");
        }
    }
}
