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
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The delivery gauges read the delivery table: unfinished deliveries at every read, done ones (most
 * of the table) only as often as counting them allows, and nothing they do not know.
 */
class DeliveryGaugesTest {

    /** A clock the test moves; counting done deliveries "takes" {@code doneCountTakes} ms on it. */
    static final class TestClock extends Clock {
        final AtomicLong millis = new AtomicLong(Instant.parse("2026-11-29T10:00:00Z").toEpochMilli());

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
    void doneDeliveriesAreCountedAgainOnlyAfterTwentyTimesTheirLastCountAndUnknownFiguresAreNaN(@TempDir Path data) throws Exception {
        EmbeddedDatabases.Jdbc h2 = EmbeddedDatabases.h2In(data);
        TestClock clock = new TestClock();
        long doneCountTakes = 500;
        boolean[] away = {false};
        try (HikariDataSource db = Database.open(h2.url(), h2.username(), h2.password(), 2, 5000)) {
            // the database as the metrics see it: counting done deliveries takes 500 ms on the test's clock
            DataSource slowDone = (DataSource) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {DataSource.class},
                    (proxy, method, args) -> {
                        if (away[0] && method.getName().equals("getConnection")) {
                            throw new SQLException("the database is away");
                        }
                        Object result = invoke(db, method, args);
                        return result instanceof Connection c ? countingDoneTakes(c, clock, doneCountTakes) : result;
                    });
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            CdrMetrics metrics = new CdrMetrics(registry, slowDone, clock);
            metrics.measure("alert-email");
            insert(db, 1, "done");
            insert(db, 2, "pending");

            assertEquals(1.0, gauge(registry, "done"));
            assertEquals(1.0, gauge(registry, "pending"));

            insert(db, 3, "done");
            insert(db, 4, "failed");
            clock.advance(2_000);
            assertEquals(1.0, gauge(registry, "done"), "2.5 s after a count that took 0.5 s: not counted again");
            assertEquals(1.0, gauge(registry, "failed"), "the unfinished states are read at every read");

            clock.advance(8_000);
            assertEquals(2.0, gauge(registry, "done"), "10.5 s after it: counted again");
            assertEquals(1.0, registry.get("cdr_router_delivery_backlog").gauge().value());

            away[0] = true;
            clock.advance(1_000);
            assertTrue(Double.isNaN(gauge(registry, "done")), "the last figures are not now's");
            assertTrue(Double.isNaN(gauge(registry, "pending")));
            assertTrue(Double.isNaN(registry.get("cdr_router_delivery_backlog").gauge().value()));
            assertTrue(Double.isNaN(registry.get("cdr_router_delivery_oldest_pending_age_seconds").gauge().value()));
            assertTrue(Double.isNaN(registry.get("cdr_router_delivery_kinds").gauge().value()));

            away[0] = false;
            clock.advance(1_000);
            assertEquals(1.0, gauge(registry, "pending"), "back with the database");
            assertEquals(2.0, gauge(registry, "done"));
        }
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

    static Connection countingDoneTakes(Connection c, TestClock clock, long ms) {
        return (Connection) Proxy.newProxyInstance(DeliveryGaugesTest.class.getClassLoader(), new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("prepareStatement") && ((String) args[0]).contains("state = 'done'")) {
                        clock.advance(ms);
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
