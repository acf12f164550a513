package io.github.telecmicdr.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GET /api/notifications without cmiuuid: the recent notifications of every call and kind, newest
 * first, with the fields every destination is handed, their deliveries and recording; filtered by
 * kind, phone (however the number was written), delivery state and delivery kind; paged by cursor
 * and by bytes. And GET /api/deliveries?cmiuuid=, the deliveries of one call. Over HTTP, on H2 and
 * on PostgreSQL, and on a database that held calls before V6.
 */
class NotificationListApiTest {

    static final ObjectMapper JSON = new ObjectMapper();

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

    @Test
    void answeredCdrsStoredBeforeV6AreFoundByPhoneOnH2() throws Exception {
        Path data = Files.createTempDirectory("cdr-router-v6");
        upgrade(data, EmbeddedDatabases.h2In(data), "classpath:db/migration", "classpath:db/h2");
    }

    @Test
    void answeredCdrsStoredBeforeV6AreFoundByPhoneOnPostgres() throws Exception {
        upgrade(Files.createTempDirectory("cdr-router-v6"), EmbeddedDatabases.newPostgresDatabase(), "classpath:db/migration");
    }

    static String answered(String cmiuuid, String from, String hangupReason, boolean record, String custom) {
        return "{\"cmiuuid\":\"" + cmiuuid + "\",\"appid\":2222223,\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"answered\","
                + "\"from\":\"" + from + "\",\"to\":\"914461234567\",\"virtual_number\":\"02240001234\",\"user\":\"204_2222223\","
                + "\"team\":\"Sales\",\"answeredsec\":11,\"time\":1700000000000,\"hangup_reason\":\"" + hangupReason + "\",\"record\":"
                + record + ",\"filename\":\"" + cmiuuid + ".mp3\"" + (custom == null ? "" : ",\"custom\":\"" + custom + "\"") + "}";
    }

    static JsonNode json(Response r) throws Exception {
        assertEquals(200, r.status(), r.body());
        return JSON.readTree(r.body());
    }

    /** Every item of the list with this query, through its pages, newest first. */
    static List<JsonNode> walk(RunningService s, String query) throws Exception {
        List<JsonNode> all = new ArrayList<>();
        String cursor = null;
        do {
            Response r = s.api("/api/notifications?" + query + (cursor == null ? "" : "&cursor=" + cursor));
            assertTrue(r.body().getBytes(StandardCharsets.UTF_8).length <= 1024 * 1024, "a page of " + r.body().length() + " bytes");
            JsonNode page = json(r);
            page.get("notifications").forEach(all::add);
            cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
        } while (cursor != null);
        return all;
    }

    static List<String> keys(List<JsonNode> items, Set<String> ours) {
        return items.stream().filter(n -> ours.contains(n.get("cmiuuid").asText()))
                .map(n -> n.get("kind").asText() + ":" + n.get("cmiuuid").asText()).toList();
    }

    void contract(RunningService s) throws Exception {
        // A: an alert (done: written to the outbox) and a download that fails at once (no TeleCMI secret)
        String a = UUID.randomUUID().toString();
        String b = UUID.randomUUID().toString();
        String c = UUID.randomUUID().toString();
        assertEquals(200, s.postWebhook(answered(a, "+91 98765-43210", "recv_cancel", true, null)).status());
        assertEquals(200, s.postWebhook(answered(b, "447911123456", "recv_bye", false, null)).status());
        assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + c + "\",\"appid\":2222223,\"type\":\"cdr\",\"direction\":\"inbound\","
                + "\"status\":\"missed\",\"from\":\"09812345678\",\"to\":\"914461234567\",\"time\":1700000100000}").status());
        assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + a + "\",\"appid\":2222223,\"type\":\"event\",\"status\":\"waiting\","
                + "\"from\":\"919876543210\",\"to\":\"914461234567\"}").status());
        Set<String> ours = Set.of(a, b, c);
        assertEquals("done", s.awaitFinished(a, "alert-email").get("state").asText());
        assertEquals("failed", s.awaitFinished(a, "recording-download").get("state").asText());

        // every kind, newest first, each once through the pages
        List<String> newestFirst = List.of("live-event-waiting:" + a, "incoming-missed-cdr:" + c, "incoming-answered-cdr:" + b,
                "incoming-answered-cdr:" + a);
        assertEquals(newestFirst, keys(walk(s, "limit=50"), ours));
        assertEquals(newestFirst, keys(walk(s, "limit=1"), ours));

        // an item: the fields every destination is handed, its deliveries, its recording
        List<JsonNode> items = walk(s, "limit=10");
        JsonNode answeredA = items.stream().filter(n -> n.get("cmiuuid").asText().equals(a)
                && n.get("kind").asText().equals("incoming-answered-cdr")).findFirst().orElseThrow();
        JsonNode cdrA = s.cdr(a);
        for (String field : List.of("cmiuuid", "appid", "type", "direction", "status", "from", "to", "virtual_number", "user", "team",
                "answeredsec", "hangup_reason", "record", "filename", "call_time", "received_at", "recording_skipped")) {
            assertEquals(cdrA.get(field), answeredA.get(field), field);
        }
        assertEquals("+919876543210", answeredA.get("from_e164").asText());
        assertTrue(answeredA.get("id").asLong() > 0);
        assertTrue(answeredA.get("recording").isNull(), "not downloaded");
        List<String> chips = new ArrayList<>();
        answeredA.get("deliveries").forEach(d -> chips.add(d.get("kind").asText() + ":" + d.get("state").asText()));
        assertEquals(Set.of("alert-email:done", "recording-download:failed"), new HashSet<>(chips));
        for (JsonNode d : answeredA.get("deliveries")) {
            for (String field : List.of("id", "attempts", "next_attempt_at", "last_error", "created_at", "completed_at", "notification_id")) {
                assertTrue(d.has(field), field + " in " + d);
            }
        }
        JsonNode missedC = items.stream().filter(n -> n.get("cmiuuid").asText().equals(c)).findFirst().orElseThrow();
        assertEquals("missed", missedC.get("status").asText());
        assertEquals("09812345678", missedC.get("from").asText());
        assertEquals(0, missedC.get("deliveries").size());
        assertTrue(missedC.get("recording").isNull());
        assertTrue(missedC.get("team").isNull());

        // filters
        assertEquals(List.of("incoming-missed-cdr:" + c), keys(walk(s, "kind=incoming-missed-cdr"), ours));
        assertEquals(List.of("live-event-waiting:" + a, "incoming-answered-cdr:" + a), keys(walk(s, "phone=9876543210"), ours));
        assertEquals(List.of("live-event-waiting:" + a, "incoming-answered-cdr:" + a), keys(walk(s, "phone=%2B91%2098765%2043210"), ours));
        assertEquals(List.of("incoming-missed-cdr:" + c), keys(walk(s, "phone=%2B919812345678"), ours), "a national form, found by E.164");
        assertEquals(List.of("incoming-answered-cdr:" + b), keys(walk(s, "phone=447911123456"), ours));
        assertEquals(List.of("incoming-answered-cdr:" + b, "incoming-answered-cdr:" + a), keys(walk(s, "phone=022-4000-1234"), ours),
                "the virtual number");
        assertEquals(List.of(), keys(walk(s, "phone=919999999999"), ours));
        assertEquals(List.of("incoming-answered-cdr:" + a), keys(walk(s, "delivery_state=failed"), ours));
        assertEquals(List.of("incoming-answered-cdr:" + a), keys(walk(s, "delivery_kind=alert-email"), ours));
        assertEquals(List.of("incoming-answered-cdr:" + a), keys(walk(s, "delivery_state=done&delivery_kind=alert-email"), ours));
        assertEquals(List.of(), keys(walk(s, "delivery_state=done&delivery_kind=recording-download"), ours));
        assertEquals(List.of(), keys(walk(s, "delivery_state=failed&kind=incoming-missed-cdr"), ours));
        assertEquals(List.of("incoming-answered-cdr:" + a), keys(walk(s, "delivery_state=failed&phone=9876543210&kind=incoming-answered-cdr"),
                ours));

        // with cmiuuid: every notification of that call with its payload, oldest first, as before
        JsonNode ofA = json(s.api("/api/notifications?cmiuuid=" + a));
        assertEquals(2, ofA.get("notifications").size());
        assertEquals("incoming-answered-cdr", ofA.get("notifications").get(0).get("kind").asText());
        assertEquals(a, ofA.get("notifications").get(0).get("payload").get("cmiuuid").asText());

        // the deliveries of one call, whichever notification planned them
        JsonNode deliveriesOfA = json(s.api("/api/deliveries?cmiuuid=" + a));
        assertEquals(2, deliveriesOfA.get("deliveries").size());
        assertEquals(a, deliveriesOfA.get("deliveries").get(0).get("cmiuuid").asText());
        assertEquals(1, json(s.api("/api/deliveries?cmiuuid=" + a + "&state=failed")).get("deliveries").size());
        assertEquals(1, json(s.api("/api/deliveries?cmiuuid=" + a + "&kind=alert-email")).get("deliveries").size());
        assertEquals(0, json(s.api("/api/deliveries?cmiuuid=" + c)).get("deliveries").size());

        badRequests(s);
        assertEquals(401, s.send(HttpRequest.newBuilder(s.uri("/api/notifications")).GET()).status());
        assertEquals(401, s.send(HttpRequest.newBuilder(s.uri("/api/deliveries?cmiuuid=" + a)).GET()).status());

        // a page stops at 1 MiB: 70 answered CDRs with 16 KB of custom each (the most the parser keeps) take two
        List<String> big = new ArrayList<>();
        for (int i = 0; i < 70; i++) {
            String id = UUID.randomUUID().toString();
            assertEquals(200, s.postWebhook(answered(id, "919800000000", "recv_bye", false, "c".repeat(16_000))).status());
            big.add(0, id);
        }
        JsonNode first = json(s.api("/api/notifications?limit=500&phone=919800000000"));
        assertFalse(first.get("next_cursor").isNull(), "more than a page");
        assertTrue(first.get("notifications").size() < 70, "a page of " + first.get("notifications").size());
        assertEquals(big.stream().map(id -> "incoming-answered-cdr:" + id).toList(),
                keys(walk(s, "limit=500&phone=919800000000"), Set.copyOf(big)));
    }

    static void badRequests(RunningService s) throws Exception {
        for (String[] bad : new String[][] {
            {"/api/notifications?delivery_state=broken", "delivery_state"},
            {"/api/notifications?delivery_kind=two%20words", "delivery_kind"},
            {"/api/notifications?delivery_kind=" + "k".repeat(33), "delivery_kind"},
            {"/api/notifications?kind=" + "k".repeat(65), "kind"},
            {"/api/notifications?phone=abc", "phone"},
            {"/api/notifications?phone=12", "phone"},
            {"/api/notifications?phone=" + "1".repeat(70), "phone"},
            {"/api/notifications?limit=0", "limit"},
            {"/api/notifications?limit=501", "limit"},
            {"/api/notifications?cursor=x", "cursor"},
            {"/api/notifications?cmiuuid=", "cmiuuid"},
            {"/api/notifications?cmiuuid=a&kind=incoming-answered-cdr", "kind"},
            {"/api/notifications?cmiuuid=a&phone=9876543210", "phone"},
            {"/api/notifications?cmiuuid=a&delivery_state=failed", "delivery_state"},
            {"/api/notifications?cmiuuid=a&delivery_kind=alert-email", "delivery_kind"},
            {"/api/deliveries?cmiuuid=", "cmiuuid"},
            {"/api/deliveries?cmiuuid=" + "u".repeat(65), "cmiuuid"}}) {
            Response r = s.api(bad[0]);
            assertEquals(400, r.status(), bad[0] + ": " + r.body());
            assertEquals("application/problem+json", r.contentType(), bad[0]);
            assertEquals(bad[1], JSON.readTree(r.body()).get("field").asText(), bad[0]);
        }
    }

    /**
     * A database as V4 left it, with an answered CDR in it: after V6 its numbers are found by
     * phone=, and a "number" too long for the column (40 digits) is left out rather than failing the migration.
     */
    void upgrade(Path data, EmbeddedDatabases.Jdbc db, String... migrations) throws Exception {
        Flyway.configure().dataSource(db.url(), db.username(), db.password()).locations(migrations).target("4").load().migrate();
        String before = UUID.randomUUID().toString();
        try (Connection c = DriverManager.getConnection(db.url(), db.username(), db.password())) {
            for (String sql : new String[] {
                "INSERT INTO notification (kind, cmiuuid, appid, http_method, received_at, raw_payload)"
                        + " VALUES ('incoming-answered-cdr', ?, '2222223', 'POST', CURRENT_TIMESTAMP, '{}')",
                "INSERT INTO cdr (cmiuuid, appid, call_status, caller_number, called_number, virtual_number, recorded, received_at)"
                        + " VALUES (?, '2222223', 'answered', '+91 (98765) 43.210', '914461234567', '" + "9".repeat(40) + "', FALSE,"
                        + " CURRENT_TIMESTAMP)"}) {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setString(1, before);
                    ps.executeUpdate();
                }
            }
        }
        try (RunningService s = RunningService.builder().database(db).property("data.dir", data.toString()).build()) {
            assertEquals(List.of("incoming-answered-cdr:" + before), keys(walk(s, "phone=9876543210"), Set.of(before)));
            assertEquals(List.of("incoming-answered-cdr:" + before), keys(walk(s, "phone=914461234567"), Set.of(before)));
        }
    }
}
