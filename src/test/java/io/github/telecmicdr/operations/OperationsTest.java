package io.github.telecmicdr.operations;

import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Health and metrics live on the management port only; logs say one line per webhook. */
class OperationsTest {

    Response management(RunningService s, String path) {
        return s.send(HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + s.managementPort() + path)).GET());
    }

    @Test
    void healthAndMetricsAreOnTheManagementPortOnly() throws Exception {
        LogCapture.get();
        try (RunningService s = RunningService.builder().property("delivery.poll-interval-ms", "100").build()) {
            Response health = management(s, "/observe/health?exposureLevel=full");
            assertEquals(200, health.status());
            assertTrue(health.body().contains("\"status\":\"UP\""), health.body());
            assertTrue(health.body().contains("\"name\":\"database\""), "the database is part of health: " + health.body());
            assertTrue(health.body().contains("\"name\":\"writers\""), "the group-commit writers are part of health: " + health.body());
            assertEquals(200, management(s, "/observe/health/live").status());
            assertEquals(200, management(s, "/observe/health/ready").status());

            assertEquals(404, s.send(HttpRequest.newBuilder(s.uri("/observe/health")).GET()).status(), "not on the public port");
            assertEquals(404, s.send(HttpRequest.newBuilder(s.uri("/observe/metrics")).GET()).status(), "not on the public port");
            assertEquals(404, management(s, "/api/cdrs").status(), "the API is not on the management port");

            String id = UUID.randomUUID().toString();
            String cdr = "{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"hangup_reason\":\"recv_cancel\"}";
            s.postWebhook(cdr);
            s.postWebhook(cdr);
            s.postWebhook("{\"status\":\"answered\"}");
            s.send(HttpRequest.newBuilder(s.uri("/webhooks/telecmi/wrong")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(cdr)));
            s.awaitFinished(id, "alert-email");

            // the attempt's duration and log line follow the commit the API shows: waited for too
            // done deliveries are counted again 20 times their last count's duration after it: a slow
            // first count on a busy machine (1.5 s) puts the next 30 s later
            String metrics = Await.until(Duration.ofSeconds(60), () -> management(s, "/observe/metrics").body(),
                    m -> m.contains("cdr_router_deliveries{kind=\"alert-email\",state=\"done\"} 1.0")
                            && m.contains("cdr_router_delivery_duration_seconds_count{kind=\"alert-email\",outcome=\"done\"} 1"),
                    "the delivery gauge to catch up");
            Await.until(Duration.ofSeconds(30), () -> LogCapture.get().lines().stream()
                    .anyMatch(l -> l.contains("Delivery ") && l.contains(id) && l.contains("done")), found -> found, "the delivery's log line");
            assertTrue(metrics.contains("cdr_router_notifications_total{kind=\"incoming-answered-cdr\",outcome=\"stored\",reason=\"none\"} 1.0"), metrics);
            assertTrue(metrics.contains("cdr_router_notifications_total{kind=\"incoming-answered-cdr\",outcome=\"duplicate\",reason=\"none\"} 1.0"), metrics);
            assertTrue(metrics.contains("cdr_router_notifications_total{kind=\"unknown\",outcome=\"rejected\",reason=\"bad_request\"} 1.0"), metrics);
            assertTrue(metrics.contains("cdr_router_notifications_total{kind=\"unknown\",outcome=\"rejected\",reason=\"unauthorized\"} 1.0"), metrics);
            assertTrue(metrics.contains("cdr_router_delivery_duration_seconds_count{kind=\"alert-email\",outcome=\"done\"} 1"), metrics);
            assertTrue(metrics.contains("cdr_router_webhook_duration_seconds_count{kind=\"incoming-answered-cdr\",outcome=\"stored\"} 1"), metrics);
            assertTrue(metrics.contains("cdr_router_webhook_duration_seconds_count{kind=\"incoming-answered-cdr\",outcome=\"duplicate\"} 1"), metrics);
            assertTrue(metrics.contains("cdr_router_webhooks_waiting_for_commit 0.0"), metrics);
            assertFalse(metrics.contains("camel_route_policy") || metrics.contains("camel_exchanges"), "Camel's per-route metrics are off by default");
            assertTrue(metrics.contains("cdr_router_delivery_backlog{kind=\"alert-email\"} 0.0"), metrics);
            assertTrue(metrics.contains("cdr_router_delivery_oldest_pending_age_seconds{kind=\"alert-email\"}"), metrics);
            assertTrue(metrics.contains("jvm_memory_used_bytes"), "JVM metrics too");

            assertEquals(2, LogCapture.get().lines().stream().filter(l -> l.contains("cmiuuid=" + id) && l.contains("webhook POST")).count(),
                    "one line per webhook delivery");
            assertTrue(LogCapture.get().lines().stream().anyMatch(l -> l.contains("cmiuuid=" + id) && l.contains("outcome=duplicate")));
            assertTrue(LogCapture.get().lines().stream().anyMatch(l -> l.contains("Delivery ") && l.contains(id) && l.contains("done")),
                    "one line per delivery attempt");
            assertFalse(LogCapture.get().lines().stream().anyMatch(l -> l.contains(RunningService.WEBHOOK_TOKEN)));
        }
    }
}
