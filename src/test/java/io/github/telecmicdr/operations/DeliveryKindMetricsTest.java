package io.github.telecmicdr.operations;

import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.StoredCalls;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.net.URI;
import java.net.http.HttpRequest;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** A kind no Java names gets its delivery gauges as soon as it is in the delivery table. */
class DeliveryKindMetricsTest {

    @Test
    void aKindSeenInTheTableIsMeasured() throws Exception {
        try (RunningService s = RunningService.onH2()) {
            DataSource ds = s.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
            try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                StoredCalls.insertWithDueAlert(c, List.of("kind-1", "kind-2", "kind-3"));
                // no route works crm-forward here: what is stored stays as stored
                st.executeUpdate("INSERT INTO delivery (notification_id, cmiuuid, kind, state, attempts, next_attempt_at, created_at)"
                        + " SELECT id, cmiuuid, 'crm-forward', 'pending', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP - INTERVAL '60' SECOND"
                        + " FROM notification WHERE kind = 'incoming-answered-cdr'");
                st.executeUpdate("UPDATE delivery SET state = 'failed' WHERE kind = 'crm-forward' AND cmiuuid = 'kind-3'");
                c.commit();
            }
            List<String> expected = List.of(
                    "cdr_router_deliveries{kind=\"crm-forward\",state=\"pending\"} 2.0",
                    "cdr_router_deliveries{kind=\"crm-forward\",state=\"failed\"} 1.0",
                    "cdr_router_deliveries{kind=\"crm-forward\",state=\"done\"} 0.0",
                    "cdr_router_deliveries{kind=\"crm-forward\",state=\"in_progress\"} 0.0",
                    "cdr_router_delivery_backlog{kind=\"crm-forward\"} 2.0",
                    "cdr_router_delivery_kinds 2.0");
            String metrics = Await.until(Duration.ofSeconds(30), () -> s.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + s.managementPort() + "/observe/metrics")).GET()).body(),
                    m -> expected.stream().allMatch(m::contains), "the crm-forward series");
            String age = metrics.lines().filter(l -> l.startsWith("cdr_router_delivery_oldest_pending_age_seconds{kind=\"crm-forward\"}"))
                    .findFirst().orElseThrow(() -> new AssertionError(metrics));
            assertTrue(Double.parseDouble(age.substring(age.lastIndexOf(' ') + 1)) >= 59, age);
        }
    }
}
