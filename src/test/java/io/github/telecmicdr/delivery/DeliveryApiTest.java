package io.github.telecmicdr.delivery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import io.github.telecmicdr.testing.StoredCalls;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.net.http.HttpRequest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GET /api/deliveries pages through every kind, filtered by kind and state; POST
 * /api/deliveries/retry replays a kind's failed deliveries, which are then worked again. Over HTTP,
 * on H2 and on PostgreSQL, with deliveries written straight to the table (kinds no Java knows).
 */
class DeliveryApiTest {

    static final int CALLS = 1200;
    /** Alert emails of the first calls failed; the service's alert route works them once replayed. */
    static final int FAILED_ALERTS = 40;
    /** call-webhook deliveries of the first calls were created long ago: outside a replay 'since' 2021. */
    static final int OLD_FORWARDS = 100;
    final ObjectMapper mapper = new ObjectMapper();

    @Test
    void onH2() throws Exception {
        try (RunningService s = RunningService.builder().property("delivery.poll-interval-ms", "100").build()) {
            contract(s);
        }
    }

    @Test
    void onPostgres() throws Exception {
        try (RunningService s = RunningService.builder().database(EmbeddedDatabases.newPostgresDatabase())
                .property("delivery.poll-interval-ms", "100").build()) {
            contract(s);
        }
    }

    void contract(RunningService s) throws Exception {
        store(s);
        unauthorized(s);
        badRequests(s);

        // every call-webhook delivery once, newest first, through the cursors
        List<JsonNode> forwards = pages(s, "/api/deliveries?kind=call-webhook&limit=70");
        assertEquals(CALLS, forwards.size());
        Set<Long> ids = new HashSet<>();
        long previous = Long.MAX_VALUE;
        for (JsonNode d : forwards) {
            assertEquals("call-webhook", d.get("kind").asText());
            assertTrue(d.get("id").asLong() < previous, "newest first by id");
            previous = d.get("id").asLong();
            assertTrue(ids.add(previous));
            assertTrue(d.get("cmiuuid").asText().startsWith("api-"), d.toString());
            // which notification of the call it belongs to
            assertEquals("incoming-answered-cdr", d.get("notification_kind").asText(), d.toString());
            assertTrue(d.get("notification_id").asLong() > 0, d.toString());
            for (String field : List.of("state", "attempts", "next_attempt_at", "last_error", "created_at", "completed_at")) {
                assertTrue(d.has(field), field + " in " + d);
            }
        }
        List<JsonNode> failedForwards = pages(s, "/api/deliveries?kind=call-webhook&state=failed&limit=500");
        assertEquals(CALLS / 2, failedForwards.size());
        assertTrue(failedForwards.stream().allMatch(d -> d.get("state").asText().equals("failed") && d.get("kind").asText().equals("call-webhook")));
        assertEquals(CALLS / 2, pages(s, "/api/deliveries?kind=call-webhook&state=done&limit=500").size());
        assertEquals(FAILED_ALERTS + CALLS / 2, pages(s, "/api/deliveries?state=failed&limit=500").size(), "a state of every kind");
        assertEquals(2 * CALLS, pages(s, "/api/deliveries?limit=500").size(), "every kind");
        assertEquals(0, pages(s, "/api/deliveries?kind=sms-notify").size());
        JsonNode first = json(s.api("/api/deliveries"));
        assertEquals(50, first.get("deliveries").size(), "50 by default");
        assertEquals(first.get("deliveries").get(49).get("id").asText(), first.get("next_cursor").asText());

        // a replay bounded by since: only the failed forwards created since then
        long recentFailedForwards = IntStream.range(OLD_FORWARDS, CALLS).filter(i -> i % 2 == 0).count();
        JsonNode retried = json(post(s, "/api/deliveries/retry?kind=call-webhook&since=2021-01-01T00:00:00Z"));
        assertEquals(recentFailedForwards, retried.get("retried").asLong(), "more than one batch of " + Deliveries.RETRY_BATCH);
        List<JsonNode> pending = pages(s, "/api/deliveries?kind=call-webhook&state=pending&limit=500");
        assertEquals(recentFailedForwards, pending.size());
        assertTrue(pending.stream().allMatch(d -> d.get("attempts").asInt() == 0 && d.get("completed_at").isNull()), "attempts reset");
        assertEquals(CALLS / 2 - recentFailedForwards, json(post(s, "/api/deliveries/retry?kind=call-webhook&state=failed")).get("retried").asLong(),
                "the old ones, once 'since' is left out");
        assertEquals(0, json(post(s, "/api/deliveries/retry?kind=call-webhook")).get("retried").asLong(), "nothing failed is left");

        // replayed alerts are claimed again and sent: a replay is not only a change of state
        assertEquals(FAILED_ALERTS, json(post(s, "/api/deliveries/retry?kind=alert-email")).get("retried").asLong());
        List<JsonNode> sent = Await.until(Duration.ofSeconds(60), () -> alertsDoneAgain(s), done -> done.size() == FAILED_ALERTS,
                "the replayed alert emails to be sent");
        assertTrue(sent.stream().allMatch(d -> d.get("attempts").asInt() == 1 && d.get("last_error").isNull()), sent.toString());
    }

    /** The alert deliveries done after one attempt since the replay (the others were stored done). */
    List<JsonNode> alertsDoneAgain(RunningService s) {
        return pages(s, "/api/deliveries?kind=alert-email&state=done&limit=500").stream()
                .filter(d -> d.get("attempts").asInt() == 1).toList();
    }

    void unauthorized(RunningService s) {
        assertEquals(401, s.send(HttpRequest.newBuilder(s.uri("/api/deliveries")).GET()).status());
        assertEquals(401, s.send(HttpRequest.newBuilder(s.uri("/api/deliveries")).header("Authorization", "Bearer wrong").GET()).status());
        assertEquals(401, s.send(HttpRequest.newBuilder(s.uri("/api/deliveries/retry?kind=call-webhook"))
                .POST(HttpRequest.BodyPublishers.noBody())).status());
        assertEquals(401, s.send(HttpRequest.newBuilder(s.uri("/api/deliveries/retry?kind=call-webhook&Authorization=Bearer%20"
                + RunningService.API_TOKEN)).POST(HttpRequest.BodyPublishers.noBody())).status(), "the header only");
    }

    void badRequests(RunningService s) {
        for (String[] bad : new String[][] {
                {"GET", "/api/deliveries?state=sent", "state"},
                {"GET", "/api/deliveries?limit=0", "limit"},
                {"GET", "/api/deliveries?limit=501", "limit"},
                {"GET", "/api/deliveries?limit=ten", "limit"},
                {"GET", "/api/deliveries?cursor=abc", "cursor"},
                {"GET", "/api/deliveries?kind=" + "k".repeat(40), "kind"},
                {"POST", "/api/deliveries/retry", "kind"},
                {"POST", "/api/deliveries/retry?kind=call-webhook&state=done", "state"},
                {"POST", "/api/deliveries/retry?kind=call-webhook&state=pending", "state"},
                {"POST", "/api/deliveries/retry?kind=call-webhook&since=yesterday", "since"}}) {
            Response r = bad[0].equals("GET") ? s.api(bad[1]) : post(s, bad[1]);
            assertEquals(400, r.status(), bad[1] + ": " + r.body());
            assertEquals("application/problem+json", r.contentType(), bad[1]);
            assertTrue(r.body().contains("\"" + bad[2] + "\""), bad[1] + " names the field: " + r.body());
        }
        assertEquals(0, json(s.api("/api/deliveries?kind=call-webhook&state=pending")).get("deliveries").size(),
                "nothing was retried by a refused request");
    }

    List<JsonNode> pages(RunningService s, String path) {
        List<JsonNode> all = new ArrayList<>();
        String cursor = null;
        do {
            JsonNode page = json(s.api(path + (path.contains("?") ? "&" : "?") + (cursor == null ? "" : "cursor=" + cursor)));
            page.get("deliveries").forEach(all::add);
            cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
        } while (cursor != null);
        return all;
    }

    Response post(RunningService s, String path) {
        return s.send(HttpRequest.newBuilder(s.uri(path)).header("Authorization", "Bearer " + RunningService.API_TOKEN)
                .POST(HttpRequest.BodyPublishers.noBody()));
    }

    JsonNode json(Response r) {
        assertEquals(200, r.status(), r.body());
        try {
            return mapper.readTree(r.body());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * CALLS answered calls, each with an alert-email (failed for the first FAILED_ALERTS, done for
     * the rest) and a call-webhook delivery (failed for even calls, done for odd ones), committed at
     * once so the alert route never sees them pending.
     */
    static void store(RunningService s) throws Exception {
        DataSource ds = s.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
        List<String> calls = IntStream.range(0, CALLS).mapToObj(i -> String.format("api-%05d", i)).toList();
        OffsetDateTime longAgo = OffsetDateTime.of(2020, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);
        OffsetDateTime now = OffsetDateTime.now(ZoneOffset.UTC);
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            StoredCalls.insertWithDueAlert(c, calls);
            try (PreparedStatement alerts = c.prepareStatement("UPDATE delivery SET state = ?, attempts = 10, last_error = ?, completed_at = ?"
                    + " WHERE cmiuuid = ? AND kind = 'alert-email'");
                 PreparedStatement forwards = c.prepareStatement("INSERT INTO delivery (notification_id, cmiuuid, kind, state, attempts,"
                         + " next_attempt_at, last_error, created_at, completed_at) SELECT id, cmiuuid, 'call-webhook', ?, 3, ?, ?, ?, ?"
                         + " FROM notification WHERE kind = 'incoming-answered-cdr' AND cmiuuid = ?")) {
                for (int i = 0; i < CALLS; i++) {
                    boolean alertFailed = i < FAILED_ALERTS;
                    alerts.setString(1, alertFailed ? "failed" : "done");
                    alerts.setString(2, alertFailed ? "gave up after 10 attempts: SMTP down" : null);
                    alerts.setObject(3, alertFailed ? null : now);
                    alerts.setString(4, calls.get(i));
                    alerts.addBatch();
                    boolean forwardFailed = i % 2 == 0;
                    forwards.setString(1, forwardFailed ? "failed" : "done");
                    forwards.setObject(2, now);
                    forwards.setString(3, forwardFailed ? "HTTP 503" : null);
                    forwards.setObject(4, i < OLD_FORWARDS ? longAgo : now);
                    forwards.setObject(5, forwardFailed ? null : now);
                    forwards.setString(6, calls.get(i));
                    forwards.addBatch();
                }
                alerts.executeBatch();
                forwards.executeBatch();
            }
            c.commit();
        }
    }
}
