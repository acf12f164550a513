package io.github.telecmicdr.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import javax.sql.DataSource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The webhook and read API as TeleCMI and a CRM see them, over HTTP, against a real database:
 * status codes, what is stored and read back, duplicates, what is planned. Run once per database by
 * the subclasses. How each TeleCMI variant reads is TelecmiParserTest's, run once, without HTTP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class WebhookContract {

    static final ObjectMapper JSON = new ObjectMapper();
    RunningService service;

    abstract RunningService start();

    @BeforeAll
    void startService() {
        LogCapture.get();
        service = start();
    }

    @AfterAll
    void stopService() {
        if (service != null) {
            service.close();
        }
        assertTrue(LogCapture.get().linesContaining(RunningService.WEBHOOK_TOKEN).isEmpty(), "webhook token leaked to the log");
        assertTrue(LogCapture.get().linesContaining(RunningService.API_TOKEN).isEmpty(), "API token leaked to the log");
    }

    static String uuid() {
        return UUID.randomUUID().toString();
    }

    static String seed(String cmiuuid) throws Exception {
        return Files.readString(Path.of("samples/incoming-answered-cdr.json")).replace("16132200-57fa-47b5-888d-4ab5b7e631ee", cmiuuid);
    }

    static JsonNode json(Response r) throws Exception {
        return JSON.readTree(r.body());
    }

    long count(String table) throws Exception {
        DataSource ds = service.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    JsonNode notifications(String cmiuuid) throws Exception {
        Response r = service.api("/api/notifications?cmiuuid=" + cmiuuid);
        assertEquals(200, r.status(), r.body());
        return json(r).get("notifications");
    }

    // ---- the seed CDR, end to end -------------------------------------------------------------

    @Test
    void seedCdrIsStoredAndReadBackNormalised() throws Exception {
        String id = uuid();
        Response r = service.postWebhook(seed(id));
        assertEquals(200, r.status(), r.body());
        assertEquals("application/json", r.contentType());
        assertEquals("{\"status\":\"stored\",\"kind\":\"incoming-answered-cdr\",\"cmiuuid\":\"" + id + "\"}", r.body());

        Response read = service.api("/api/cdrs/" + id);
        assertEquals(200, read.status(), read.body());
        JsonNode cdr = json(read);
        assertEquals(id, cdr.get("cmiuuid").asText());
        assertEquals("2222223", cdr.get("appid").asText());
        assertEquals("440000000002", cdr.get("from").textValue());
        assertEquals("440000000001", cdr.get("to").textValue());
        assertEquals("440000000000", cdr.get("virtual_number").textValue());
        assertEquals("204_2222223", cdr.get("user").asText());
        assertEquals("Sales_2222223", cdr.get("team").asText());
        assertEquals(11, cdr.get("answeredsec").intValue());
        assertEquals("recv_bye", cdr.get("hangup_reason").asText());
        assertTrue(cdr.get("record").booleanValue());
        assertEquals("1634720915260737218351_2222223.mp3", cdr.get("filename").asText());
        assertEquals(id, cdr.get("conversation_uuid").asText());
        assertEquals("salesivr", cdr.get("ivr_name").asText());
        assertEquals("{\"key\":\"value\"}", cdr.get("custom").textValue());
        assertEquals("2021-10-20T09:08:40.615Z", cdr.get("call_time").asText());
        assertTrue(cdr.get("received_at").asText().endsWith("Z"));
    }

    @Test
    void answerEchoesNoRequestHeaderNorToken() throws Exception {
        Response r = service.send(java.net.http.HttpRequest.newBuilder(service.uri(service.webhookPath()))
                .header("Content-Type", "application/json").header("X-Probe", "echo-me")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(seed(uuid()))));
        assertEquals(200, r.status());
        assertEquals(null, r.header("X-Probe"));
        assertEquals(null, r.header("token"));
        assertFalse(r.headers().toString().contains(RunningService.WEBHOOK_TOKEN));
    }

    // ---- duplicates ---------------------------------------------------------------------------

    @Test
    void repeatIsDuplicateEvenWithChangedFieldsAndChangesNothing() throws Exception {
        String id = uuid();
        assertEquals("stored", json(service.postWebhook(seed(id))).get("status").asText());
        Response again = service.postWebhook(seed(id).replace("recv_bye", "sent_bye").replace("\"answeredsec\": 11", "\"answeredsec\": 99"));
        assertEquals(200, again.status());
        assertEquals("duplicate", json(again).get("status").asText());
        assertEquals("incoming-answered-cdr", json(again).get("kind").asText());
        JsonNode cdr = json(service.api("/api/cdrs/" + id));
        assertEquals("recv_bye", cdr.get("hangup_reason").asText());
        assertEquals(11, cdr.get("answeredsec").intValue());
        assertEquals(1, notifications(id).size());
    }

    @Test
    void concurrentRepeatsStoreExactlyOnce() throws Exception {
        String id = uuid();
        String body = seed(id);
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Callable<String>> calls = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                calls.add(() -> {
                    Response r = service.postWebhook(body);
                    assertEquals(200, r.status(), r.body());
                    return json(r).get("status").asText();
                });
            }
            int stored = 0;
            int duplicate = 0;
            for (Future<String> f : pool.invokeAll(calls)) {
                if (f.get().equals("stored")) {
                    stored++;
                } else if (f.get().equals("duplicate")) {
                    duplicate++;
                }
            }
            assertEquals(1, stored);
            assertEquals(31, duplicate);
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, notifications(id).size());
    }

    @Test
    void liveEventsNeverBlockTheCdrOfTheSameCall() throws Exception {
        String id = uuid();
        assertEquals("live-event-waiting", json(service.postWebhook(
                "{\"type\":\"event\",\"status\":\"waiting\",\"cmiuuid\":\"" + id + "\",\"app_id\":2222223,\"from\":\"440000000002\"}")).get("kind").asText());
        assertEquals("live-event-answered", json(service.postWebhook(
                "{\"type\":\"event\",\"status\":\"answered\",\"cmiuuid\":\"" + id + "\",\"app_id\":2222223}")).get("kind").asText());
        Response cdr = service.postWebhook(seed(id));
        assertEquals("stored", json(cdr).get("status").asText());
        assertEquals("incoming-answered-cdr", json(cdr).get("kind").asText());
        JsonNode all = notifications(id);
        assertEquals(3, all.size());
        assertEquals("live-event-waiting", all.get(0).get("kind").asText());
        assertEquals("2222223", all.get(0).get("appid").asText());
        assertEquals("incoming-answered-cdr", all.get(2).get("kind").asText());
        assertEquals(200, service.api("/api/cdrs/" + id).status());
    }

    // ---- what each kind of notification stores (each FACTS.md variant is read in TelecmiParserTest) --

    @Test
    void everyOtherKindIsStoredAsATypedNotification() throws Exception {
        String id = uuid();
        String[][] deliveries = {
                {"{\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"missed\",\"cmiuuid\":\"" + id + "\",\"appid\":2222223,"
                        + "\"waitedsec\":14,\"voicemail\":true,\"voicename\":\"vm.wav\",\"from\":440000000002}", "incoming-missed-cdr"},
                {"{\"type\":\"cdr\",\"direction\":\"inbound\",\"leg\":\"b\",\"status\":\"missed\",\"hangup_reason\":\"recv_cancel\","
                        + "\"cmiuuid\":\"" + id + "\",\"user\":\"204_2222223\"}", "incoming-user-missed-cdr"},
                {"{\"type\":\"cdr\",\"direction\":\"outbound\",\"leg\":\"a\",\"status\":\"answered\",\"cmiuuid\":\"" + id + "\","
                        + "\"call_id\":\"c-1\",\"request_id\":\"r-1\",\"virtual_number\":\"440000000000\",\"answeredsec\":5}", "outgoing-answered-cdr"},
                {"{\"type\":\"cdr\",\"direction\":\"outbound\",\"leg\":\"b\",\"status\":\"answered\",\"cmiuuid\":\"" + id + "\"}", "outgoing-answered-cdr-leg-b"},
                {"{\"type\":\"cdr\",\"direction\":\"outbound\",\"status\":\"missed\",\"cmiuuid\":\"" + id + "\"}", "outgoing-missed-cdr"},
                {"{\"type\":\"event\",\"status\":\"started\",\"cmiuuid\":\"" + id + "\",\"app_id\":2222223,\"from\":\"440000000002\"}", "live-event-started"},
        };
        for (String[] d : deliveries) {
            Response r = service.postWebhook(d[0]);
            assertEquals(200, r.status(), r.body());
            assertEquals("stored", json(r).get("status").asText(), d[1]);
            assertEquals(d[1], json(r).get("kind").asText());
        }
        JsonNode all = notifications(id);
        assertEquals(deliveries.length, all.size());
        assertEquals(14, all.get(0).get("payload").get("waitedsec").intValue(), "raw payload kept");
        assertEquals("vm.wav", all.get(0).get("payload").get("voicename").asText());
        assertEquals(404, service.api("/api/cdrs/" + id).status(), "only incoming answered CDRs are CDRs");
    }

    @Test
    void rawPayloadIsKeptByteForByteWithUnknownFields() throws Exception {
        String id = uuid();
        String body = "{ \"cmiuuid\" : \"" + id + "\", \"status\":\"answered\",\n  \"team\": \"Ventas – São Paulo 東京 \uD83D\uDCDE\","
                + " \"ivr_name\":\"\\u00e9cole\", \"future_field\": {\"nested\": [1, 2.50, null]}, \"n\": 1.0e3 }";
        assertEquals(200, service.postWebhookBytes(body.getBytes(StandardCharsets.UTF_8), "application/json").status());
        Response read = service.api("/api/notifications?cmiuuid=" + id);
        assertTrue(read.body().contains(body), "payload text as received: " + read.body());
        JsonNode cdr = json(service.api("/api/cdrs/" + id));
        assertEquals("Ventas – São Paulo 東京 \uD83D\uDCDE", cdr.get("team").asText());
        assertEquals("école", cdr.get("ivr_name").asText());
    }

    // ---- GET deliveries -----------------------------------------------------------------------

    @Test
    void getDeliveryIsStoredWithEveryValueAString() throws Exception {
        String id = uuid();
        Response r = service.getWebhook("cmiuuid=" + id + "&appid=2222223&type=cdr&direction=inbound&status=answered"
                + "&from=%2B919876543210&to=04440001111&virtual_number=440000000000&answeredsec=42&record=false"
                + "&time=1634720920615&team=Sales%20Team&custom=%7B%22k%22%3A%22v%22%7D&hangup_reason=sent_reject");
        assertEquals(200, r.status(), r.body());
        assertEquals("stored", json(r).get("status").asText());
        JsonNode cdr = json(service.api("/api/cdrs/" + id));
        assertEquals("+919876543210", cdr.get("from").asText());
        assertEquals("04440001111", cdr.get("to").asText());
        assertEquals(42, cdr.get("answeredsec").intValue());
        assertFalse(cdr.get("record").booleanValue());
        assertEquals("Sales Team", cdr.get("team").asText());
        assertEquals("{\"k\":\"v\"}", cdr.get("custom").asText());
        JsonNode n = notifications(id).get(0);
        assertEquals("GET", n.get("http_method").asText());
        assertEquals("+919876543210", n.get("payload").get("from").asText());
        assertTrue(n.get("payload").get("answeredsec").isTextual());

        assertEquals("duplicate", json(service.getWebhook("cmiuuid=" + id + "&status=answered")).get("status").asText());
    }

    // ---- read API -----------------------------------------------------------------------------

    @Test
    void readApiNeedsTheBearerToken() throws Exception {
        String id = uuid();
        service.postWebhook(seed(id));
        for (String auth : new String[] {null, "Bearer wrong", "Basic " + RunningService.API_TOKEN, "Bearer"}) {
            java.net.http.HttpRequest.Builder b = java.net.http.HttpRequest.newBuilder(service.uri("/api/cdrs/" + id)).GET();
            if (auth != null) {
                b.header("Authorization", auth);
            }
            Response r = service.send(b);
            assertEquals(401, r.status(), String.valueOf(auth));
            assertEquals("application/problem+json", r.contentType());
            assertEquals("Bearer", r.header("WWW-Authenticate"));
            assertFalse(r.body().contains("Sales_2222223"));
        }
        assertEquals(401, service.send(java.net.http.HttpRequest.newBuilder(service.uri("/api/cdrs")).GET()).status());
        assertEquals(401, service.send(java.net.http.HttpRequest.newBuilder(service.uri("/api/notifications?cmiuuid=" + id)).GET()).status());
    }

    @Test
    void unknownCdrIs404() throws Exception {
        Response r = service.api("/api/cdrs/" + uuid());
        assertEquals(404, r.status());
        assertEquals("cmiuuid", json(r).get("field").asText());
    }

    @Test
    void listIsNewestFirstAndPages() throws Exception {
        String since = java.time.Instant.now().minusMillis(1).toString();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String id = uuid();
            ids.add(id);
            assertEquals(200, service.postWebhook(seed(id)).status());
        }
        JsonNode page1 = json(service.api("/api/cdrs?since=" + since + "&limit=3"));
        assertEquals(3, page1.get("cdrs").size());
        assertEquals(ids.get(4), page1.get("cdrs").get(0).get("cmiuuid").asText());
        assertEquals(ids.get(2), page1.get("cdrs").get(2).get("cmiuuid").asText());
        JsonNode page2 = json(service.api("/api/cdrs?since=" + since + "&limit=3&cursor=" + page1.get("next_cursor").asText()));
        assertEquals(2, page2.get("cdrs").size());
        assertEquals(ids.get(1), page2.get("cdrs").get(0).get("cmiuuid").asText());
        assertEquals(ids.get(0), page2.get("cdrs").get(1).get("cmiuuid").asText());
        assertTrue(page2.get("next_cursor").isNull());

        JsonNode none = json(service.api("/api/cdrs?until=" + since));
        for (JsonNode c : none.get("cdrs")) {
            assertFalse(ids.contains(c.get("cmiuuid").asText()));
        }
    }

    @Test
    void badApiParametersAre400NamingTheParameter() throws Exception {
        for (String[] c : new String[][] {{"/api/cdrs?limit=0", "limit"}, {"/api/cdrs?limit=abc", "limit"},
                {"/api/cdrs?limit=501", "limit"}, {"/api/cdrs?since=yesterday", "since"}, {"/api/cdrs?cursor=-4", "cursor"},
                {"/api/notifications?cmiuuid=", "cmiuuid"}, {"/api/notifications?cmiuuid=a&limit=0", "limit"},
                {"/api/notifications?cmiuuid=a&limit=501", "limit"}, {"/api/notifications?cmiuuid=a&cursor=x", "cursor"}}) {
            Response r = service.api(c[0]);
            assertEquals(400, r.status(), c[0]);
            assertEquals(c[1], json(r).get("field").asText(), c[0]);
        }
    }

    @Test
    void cdrPagesAreBoundedInBytesAsWellAsRows() throws Exception {
        String since = java.time.Instant.now().minusMillis(1).toString();
        String custom = "c".repeat(16_000);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 70; i++) {
            String id = uuid();
            ids.add(id);
            assertEquals(200, service.postWebhook(seed(id).replace("{\\\"key\\\":\\\"value\\\"}", custom)).status());
        }
        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            Response r = service.api("/api/cdrs?since=" + since + "&limit=500" + (cursor == null ? "" : "&cursor=" + cursor));
            assertEquals(200, r.status(), r.body());
            int bytes = r.body().getBytes(StandardCharsets.UTF_8).length;
            assertTrue(bytes <= 1024 * 1024, "a page of " + bytes + " bytes");
            JsonNode page = json(r);
            page.get("cdrs").forEach(c -> seen.add(c.get("cmiuuid").asText()));
            cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
            pages++;
        } while (cursor != null);
        assertTrue(pages >= 2, "70 CDRs of 16 KB in " + pages + " page(s)");
        java.util.Collections.reverse(ids);
        assertEquals(ids, seen, "every CDR once, newest first");
    }

    @Test
    void notificationsOfACallArePagedInRowsAndBytes() throws Exception {
        String id = uuid();
        List<String> kinds = new ArrayList<>();
        for (String status : new String[] {"waiting", "answered", "started", "s4", "s5"}) {
            assertEquals(200, service.postWebhook("{\"type\":\"event\",\"status\":\"" + status + "\",\"cmiuuid\":\"" + id + "\"}").status());
            kinds.add("live-event-" + status);
        }
        JsonNode first = json(service.api("/api/notifications?cmiuuid=" + id + "&limit=2"));
        assertEquals(2, first.get("notifications").size());
        assertEquals(kinds.get(0), first.get("notifications").get(0).get("kind").asText(), "oldest first");
        assertEquals(kinds, walkNotifications(id, "&limit=2"));
        JsonNode all = json(service.api("/api/notifications?cmiuuid=" + id));
        assertEquals(5, all.get("notifications").size());
        assertTrue(all.get("next_cursor").isNull());

        // three payloads of 400 KB: at most two fit in a page of 1 MiB
        String big = uuid();
        List<String> bigKinds = new ArrayList<>();
        for (String status : new String[] {"b1", "b2", "b3"}) {
            Response r = service.postWebhook("{\"type\":\"event\",\"status\":\"" + status + "\",\"cmiuuid\":\"" + big
                    + "\",\"padding\":\"" + "p".repeat(400_000) + "\"}");
            assertEquals(200, r.status(), r.body());
            bigKinds.add("live-event-" + status);
        }
        Response page = service.api("/api/notifications?cmiuuid=" + big);
        assertTrue(page.body().getBytes(StandardCharsets.UTF_8).length <= 1024 * 1024, "page of " + page.body().length() + " bytes");
        assertFalse(json(page).get("next_cursor").isNull());
        assertEquals(bigKinds, walkNotifications(big, ""));
    }

    /**
     * Kinds are the sender's, so one call can hold many payloads of up to webhook.max-body-bytes:
     * a page loads about its budget of them, not every payload after the cursor.
     */
    @Test
    void manyLargeNotificationsOfOneCallArePagedLoadingOnlyEachPagesPayloads() throws Exception {
        String id = uuid();
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            // 200 KB each, half of them in two-byte characters (the budget is in bytes); one alone over the
            // page's budget, near webhook.max-body-bytes: it comes on a page of its own
            String pad = i == 20 ? "q".repeat(1_048_400) : i % 2 == 0 ? "p".repeat(200_000) : "é".repeat(100_000);
            Response r = service.postWebhook("{\"type\":\"event\",\"status\":\"s" + i + "\",\"cmiuuid\":\"" + id + "\",\"padding\":\"" + pad + "\"}");
            assertEquals(200, r.status(), r.body());
            sent.add("live-event-s" + i);
        }
        int budget = 1024 * 1024;
        int largestItem = 1_048_400 + 400;
        DataSource ds = service.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
        boolean onH2;
        try (Connection c = ds.getConnection()) {
            onH2 = c.getMetaData().getDatabaseProductName().equals("H2");
        }
        if (onH2) {
            h2(ds, "SET QUERY_STATISTICS TRUE");
        }
        try {
            List<String> seen = new ArrayList<>();
            long lastId = 0;
            String cursor = null;
            int pages = 0;
            long allocatedTotal = 0;
            do {
                long rowsBefore = onH2 ? h2PayloadRowsRead(ds) : 0;
                long before = allocatedInThisJvm();
                Response r = service.api("/api/notifications?cmiuuid=" + id + (cursor == null ? "" : "&cursor=" + cursor));
                long allocated = allocatedInThisJvm() - before;
                allocatedTotal += allocated;
                assertEquals(200, r.status(), r.body().length() > 200 ? r.body().substring(0, 200) : r.body());
                int bytes = r.body().getBytes(StandardCharsets.UTF_8).length;
                JsonNode page = json(r);
                System.out.printf("notifications page %d: %d items, %d bytes;%s every thread of the JVM allocated %.1f MB meanwhile"
                        + " (the answer and its parsing included)%n", ++pages, page.get("notifications").size(), bytes,
                        onH2 ? " " + (h2PayloadRowsRead(ds) - rowsBefore) + " rows with their payload loaded from H2;" : "", allocated / 1e6);
                assertTrue(page.get("notifications").size() >= 1, "every page has an item");
                assertTrue(bytes <= (page.get("notifications").size() == 1 ? budget + largestItem : budget), "a page of " + bytes + " bytes");
                for (JsonNode n : page.get("notifications")) {
                    seen.add(n.get("kind").asText());
                    assertTrue(n.get("id").longValue() > lastId, "oldest first, each once");
                    lastId = n.get("id").longValue();
                    assertTrue(n.get("payload").get("padding").asText().length() >= 100_000, "the payload as received");
                }
                cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
            } while (cursor != null);
            assertEquals(sent, seen, "every notification once, in order");
            System.out.printf("40 notifications of %s, %d pages; the JVM allocated %.1f MB while reading them%n",
                    onH2 ? "H2" : "PostgreSQL", pages, allocatedTotal / 1e6);
            if (onH2) {
                // rows the queries reading payloads returned: each payload read once over the whole walk
                long payloadRows = h2PayloadRowsRead(ds);
                System.out.printf("payloads read from H2: %d rows%n", payloadRows);
                assertEquals(40, payloadRows, "payload rows read from the database");
            }
        } finally {
            if (onH2) {
                h2(ds, "SET QUERY_STATISTICS FALSE");
            }
        }
    }

    static long allocatedInThisJvm() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (long bytes : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
            sum += Math.max(0, bytes);
        }
        return sum;
    }

    @Test
    void halfASurrogatePairIsStoredAsNullAndEveryListStillAnswers() throws Exception {
        String id = uuid();
        Response r = service.postWebhook(seed(id).replace("\"Sales_2222223\"", "\"x\\ud800y\""));
        assertEquals(200, r.status(), r.body());
        assertTrue(service.cdr(id).get("team").isNull());
        for (String list : new String[] {"/api/cdrs?limit=500", "/api/notifications?limit=500", "/api/notifications?cmiuuid=" + id}) {
            Response page = service.api(list);
            assertEquals(200, page.status(), list + ": " + page.body());
        }
        assertTrue(service.api("/api/notifications?cmiuuid=" + id).body().contains("\\ud800"), "the payload as received keeps it");
    }

    @Test
    void aUniqueKeyOtherThanTheCallsIsNotADuplicateButARetry() throws Exception {
        DataSource ds = service.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
        for (int i = 0; i < 3; i++) {
            assertEquals(200, service.postWebhook(seed(uuid())).status());
        }
        long last;
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT MAX(id) FROM notification")) {
            rs.next();
            last = rs.getLong(1);
        }
        String id = uuid();
        try {
            // the ids ahead are taken, as after rows restored with their ids: the insert and its retry one by one both collide
            h2(ds, "ALTER TABLE notification ALTER COLUMN id RESTART WITH " + (last - 2));
            int mark = LogCapture.get().mark();
            Response r = service.postWebhook(seed(id));
            assertEquals(503, r.status(), "not a duplicate (the call is not stored), nor a 400 (the request is fine): " + r.body());
            assertTrue(LogCapture.get().since(mark).stream().anyMatch(l -> l.contains("a unique key other than (cmiuuid, kind) refused")),
                    "the log says why");
            assertEquals(404, service.api("/api/cdrs/" + id).status(), "not stored, so TeleCMI must retry it");
        } finally {
            h2(ds, "ALTER TABLE notification ALTER COLUMN id RESTART WITH " + (last + 1000));
        }
        Response retried = service.postWebhook(seed(id));
        assertEquals(200, retried.status(), retried.body());
        assertEquals("stored", json(retried).get("status").asText());
    }

    static void h2(DataSource ds, String sql) throws Exception {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    static long h2PayloadRowsRead(DataSource ds) throws Exception {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT COALESCE(SUM(CUMULATIVE_ROW_COUNT), 0) FROM INFORMATION_SCHEMA.QUERY_STATISTICS"
                     + " WHERE SQL_STATEMENT LIKE 'SELECT%raw_payload%FROM notification%' AND SQL_STATEMENT NOT LIKE '%OCTET_LENGTH%'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private List<String> walkNotifications(String cmiuuid, String query) throws Exception {
        List<String> kinds = new ArrayList<>();
        String cursor = null;
        do {
            Response r = service.api("/api/notifications?cmiuuid=" + cmiuuid + query + (cursor == null ? "" : "&cursor=" + cursor));
            assertEquals(200, r.status(), r.body());
            JsonNode page = json(r);
            page.get("notifications").forEach(n -> {
                kinds.add(n.get("kind").asText());
                assertTrue(n.get("payload").isObject(), "the payload as received");
            });
            cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
        } while (cursor != null);
        return kinds;
    }

    // ---- sender-chosen values never break a column, a metric or the call -------------------------

    @Test
    void unusableOptionalFieldsAreLeftOutAndTheCallIsStored() throws Exception {
        String id = uuid();
        String longUser = "u".repeat(1001);
        String body = seed(id)
                .replace("\"1634720915260737218351_2222223.mp3\"", "\"rec\\u0000.mp3\"")
                .replace("\"Sales_2222223\"", "\"Sales\\tTeam\"")
                .replace("\"204_2222223\"", "\"" + longUser + "\"")
                .replace("\"salesivr\"", "\"sales\\u0000ivr\"")
                .replace("\"recv_bye\"", "\"recv_bye\\r\\n\"")
                .replace("\"{\\\"key\\\":\\\"value\\\"}\"", "\"{\\n\\t\\\"key\\\": \\\"value\\\"\\n}\"");
        Response r = service.postWebhook(body);
        assertEquals(200, r.status(), r.body());
        assertEquals("stored", json(r).get("status").asText());
        JsonNode cdr = json(service.api("/api/cdrs/" + id));
        assertTrue(cdr.get("record").booleanValue());
        assertTrue(cdr.get("filename").isNull());
        assertEquals("recording file name contains a NUL character", cdr.get("recording_skipped").asText());
        assertEquals("Sales\tTeam", cdr.get("team").asText(), "a control character other than NUL is the column's to hold");
        assertEquals("recv_bye\r\n", cdr.get("hangup_reason").asText());
        assertTrue(cdr.get("user").isNull(), "over 1000 characters");
        assertTrue(cdr.get("ivr_name").isNull(), "PostgreSQL text cannot hold U+0000");
        assertEquals("{\n\t\"key\": \"value\"\n}", cdr.get("custom").asText(), "tabs and line breaks are custom's own");
        assertEquals("440000000002", cdr.get("from").asText(), "the rest as usual");
        assertEquals(0, cdr.get("deliveries").size(), "nothing fetched, nothing alerted");
        JsonNode payload = notifications(id).get(0).get("payload");
        assertEquals("rec\u0000.mp3", payload.get("filename").asText(), "the raw payload keeps everything");
        assertEquals("sales\u0000ivr", payload.get("ivr_name").asText());
        assertEquals(longUser, payload.get("user").asText());

        // by GET: a control character in a file name, a NUL in a phone number and in custom
        String get = uuid();
        Response byGet = service.getWebhook("cmiuuid=" + get + "&status=answered&record=true&filename=rec%07.wav&from=%2B91%0098"
                + "&custom=a%00b&to=0444");
        assertEquals(200, byGet.status(), byGet.body());
        JsonNode fromGet = json(service.api("/api/cdrs/" + get));
        assertEquals("recording file name contains a control character", fromGet.get("recording_skipped").asText());
        assertTrue(fromGet.get("from").isNull());
        assertTrue(fromGet.get("custom").isNull());
        assertEquals("0444", fromGet.get("to").asText());
        assertEquals("a\u0000b", notifications(get).get(0).get("payload").get("custom").asText());
    }

    @Test
    void optionalFieldsOfAnotherTypeAreLeftOutAndTheCallIsStored() throws Exception {
        // each of these was a 400 on every retry, so the call was never stored
        String id = uuid();
        String body = seed(id)
                .replace("\"record\": true", "\"record\": \"maybe\", \"billedsec\": \"n/a\", \"waitedsec\": \"x\","
                        + " \"voicemail\": \"perhaps\", \"click_to_call\": 2, \"end_time\": 0")
                .replace("\"answeredsec\": 11", "\"answeredsec\": \"abc\"")
                .replace("\"time\": 1634720920615", "\"time\": \"yesterday\", \"answer_time\": -5, \"start_time\": \"1634720900\"")
                .replace("\"from\": 440000000002", "\"from\": {\"n\": 1}")
                .replace("\"to\": 440000000001", "\"to\": [1]")
                .replace("\"ivr_name\": \"salesivr\"", "\"ivr_name\": false")
                .replace("\"hangup_reason\": \"recv_bye\"", "\"hangup_reason\": \"recv_cancel\"");
        Response r = service.postWebhook(body);
        assertEquals(200, r.status(), r.body());
        assertEquals("{\"status\":\"stored\",\"kind\":\"incoming-answered-cdr\",\"cmiuuid\":\"" + id + "\"}", r.body());
        JsonNode cdr = json(service.api("/api/cdrs/" + id));
        assertFalse(cdr.get("record").booleanValue(), "an unreadable record is not recorded");
        assertEquals("the field 'record' is neither true nor false, so no recording is fetched", cdr.get("recording_skipped").asText());
        assertTrue(cdr.get("answeredsec").isNull());
        assertTrue(cdr.get("from").isNull());
        assertTrue(cdr.get("to").isNull());
        assertTrue(cdr.get("ivr_name").isNull());
        assertEquals("2021-10-20T09:08:20Z", cdr.get("call_time").asText(), "time and answer_time unreadable: start_time");
        assertEquals("1634720915260737218351_2222223.mp3", cdr.get("filename").asText(), "the rest as usual");
        assertEquals("Sales_2222223", cdr.get("team").asText());
        List<String> planned = new ArrayList<>();
        cdr.get("deliveries").forEach(d -> planned.add(d.get("kind").asText()));
        assertEquals(List.of("alert-email"), planned, "only what the unreadable record drives is skipped");
        JsonNode payload = notifications(id).get(0).get("payload");
        assertEquals("maybe", payload.get("record").asText(), "the raw payload keeps everything");
        assertEquals("abc", payload.get("answeredsec").asText());
        assertEquals(1, payload.get("from").get("n").intValue());
        assertEquals(2, payload.get("click_to_call").intValue());
        assertEquals(0, payload.get("end_time").intValue());
        assertEquals("yesterday", payload.get("time").asText());

        // a recorded call whose file name is not text is stored, never fetched
        String unnamed = uuid();
        assertEquals(200, service.postWebhook(seed(unnamed).replace("\"1634720915260737218351_2222223.mp3\"", "{\"name\": \"a.mp3\"}")).status());
        JsonNode withoutName = json(service.api("/api/cdrs/" + unnamed));
        assertTrue(withoutName.get("record").booleanValue());
        assertTrue(withoutName.get("filename").isNull());
        assertEquals("recording file name is neither a string nor a number", withoutName.get("recording_skipped").asText());
        assertEquals(0, withoutName.get("deliveries").size());

        // by GET, every value a string
        String get = uuid();
        Response byGet = service.getWebhook("cmiuuid=" + get + "&status=answered&record=perhaps&answeredsec=abc"
                + "&billedsec=n%2Fa&time=yesterday&voicemail=2&from=%2B919876543210");
        assertEquals(200, byGet.status(), byGet.body());
        JsonNode fromGet = json(service.api("/api/cdrs/" + get));
        assertEquals("the field 'record' is neither true nor false, so no recording is fetched", fromGet.get("recording_skipped").asText());
        assertTrue(fromGet.get("answeredsec").isNull());
        assertTrue(fromGet.get("call_time").isNull());
        assertEquals("+919876543210", fromGet.get("from").asText());
        assertEquals("perhaps", notifications(get).get(0).get("payload").get("record").asText());

        // a notification of another kind, likewise
        String event = uuid();
        Response live = service.postWebhook("{\"type\":\"event\",\"status\":\"waiting\",\"cmiuuid\":\"" + event + "\","
                + "\"waitedsec\":\"soon\",\"time\":{\"at\":1},\"voicemail\":[true]}");
        assertEquals("live-event-waiting", json(live).get("kind").asText(), live.body());
        assertEquals("soon", notifications(event).get(0).get("payload").get("waitedsec").asText());
    }

    @Test
    void aKindReadFromPartsThatAreNotTextNeverFansOut() throws Exception {
        String id = uuid();
        Response r = service.postWebhook(seed(id).replace("\"type\": \"cdr\"", "\"type\": {\"cdr\": true}")
                .replace("\"hangup_reason\": \"recv_bye\"", "\"hangup_reason\": \"recv_cancel\""));
        assertEquals(200, r.status(), r.body());
        assertEquals("unknown-incoming-answered-cdr", json(r).get("kind").asText());
        String status = uuid();
        assertEquals("incoming-unknown-cdr", json(service.postWebhook(seed(status).replace("\"status\": \"answered\"", "\"status\": [\"answered\"]"))).get("kind").asText());
        String direction = uuid();
        assertEquals("unknown-answered-cdr", json(service.postWebhook(seed(direction).replace("\"direction\": \"inbound\"", "\"direction\": true")))
                .get("kind").asText());
        for (String call : new String[] {id, status, direction}) {
            assertEquals(404, service.api("/api/cdrs/" + call).status(), "no typed CDR, so nothing planned");
            assertEquals(1, notifications(call).size());
        }
    }

    @Test
    void kindsBuiltFromLongTypeDirectionAndStatusFitTheirColumn() throws Exception {
        String id = uuid();
        String body = "{\"cmiuuid\":\"" + id + "\",\"type\":\"" + "t".repeat(1000) + "\",\"direction\":\"" + "d".repeat(1000)
                + "\",\"status\":\"" + "s".repeat(1000) + "\",\"leg\":\"" + "l".repeat(1000) + "\"}";
        Response r = service.postWebhook(body);
        assertEquals(200, r.status(), r.body());
        String kind = json(r).get("kind").asText();
        assertTrue(kind.length() <= 64, kind);
        assertEquals("duplicate", json(service.postWebhook(body)).get("status").asText(), "the same kind again");
        assertEquals(kind, notifications(id).get(0).get("kind").asText());

        // an answered CDR whose status is "answered" among characters its column does not take
        String answered = uuid();
        assertEquals("incoming-answered-cdr", json(service.postWebhook("{\"cmiuuid\":\"" + answered + "\",\"status\":\"answered"
                + "!".repeat(1200) + "\"}")).get("kind").asText());
        assertEquals("answered", json(service.api("/api/cdrs/" + answered)).get("status").asText());
    }

    @Test
    void randomKindsShareOneMetricSeries() throws Exception {
        java.util.Random random = new java.util.Random();
        List<String> kinds = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            String type = "k" + Long.toString(random.nextLong() & Long.MAX_VALUE, 36);
            Response r = service.postWebhook("{\"cmiuuid\":\"" + uuid() + "\",\"type\":\"" + type + "\",\"status\":\"answered\"}");
            assertEquals(200, r.status(), r.body());
            kinds.add(json(r).get("kind").asText());
        }
        Response metrics = service.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + service.managementPort() + "/observe/metrics")).GET());
        assertEquals(200, metrics.status());
        for (String kind : kinds) {
            assertFalse(metrics.body().contains(kind), kind + " has a series of its own");
        }
        double other = metrics.body().lines()
                .filter(l -> l.startsWith("cdr_router_notifications_total{kind=\"other\",outcome=\"stored\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
        assertTrue(other >= 25, "stored notifications of undocumented kinds: " + other);
    }

    @Test
    void dataErrorsOfTheDatabaseAre400AndAnUnreachableDatabaseIs503() throws Exception {
        DataSource ds = service.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
        String secretLike = "s3cr3t-" + uuid();
        java.sql.SQLException tooLong = null;
        try (Connection c = ds.getConnection(); java.sql.PreparedStatement ps = c.prepareStatement(
                "INSERT INTO notification (kind, cmiuuid, appid, http_method, received_at, raw_payload) VALUES (?, ?, NULL, 'POST', ?, '{}')")) {
            ps.setString(1, secretLike + "k".repeat(64));
            ps.setString(2, uuid());
            ps.setObject(3, java.time.OffsetDateTime.now());
            ps.executeUpdate();
        } catch (java.sql.SQLException e) {
            tooLong = e;
        }
        assertTrue(tooLong != null, "the database refuses a kind over 64 characters");
        Response refused = render(new org.apache.camel.RuntimeCamelException(tooLong));
        assertEquals(400, refused.status(), tooLong.getSQLState() + " -> " + refused.body());
        assertFalse(refused.body().contains(secretLike), "no value of the request in the answer: " + refused.body());
        assertEquals(null, refused.header("Retry-After"));

        java.sql.SQLException unreachable = null;
        try (Connection ignored = java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + RunningService.freePort() + "/none",
                "postgres", "postgres")) {
            // never gets here: nothing listens on that port
        } catch (java.sql.SQLException e) {
            unreachable = e;
        }
        assertTrue(unreachable != null && unreachable.getSQLState().startsWith("08"), String.valueOf(unreachable));
        Response away = render(unreachable);
        assertEquals(503, away.status(), away.body());
        assertEquals("30", away.header("Retry-After"));
    }

    /** What the routes' onException answers for this exception, as the HTTP client would see it. */
    private Response render(Exception caught) throws Exception {
        org.apache.camel.Exchange exchange = new org.apache.camel.support.DefaultExchange(service.camelContext());
        exchange.setProperty(org.apache.camel.Exchange.EXCEPTION_CAUGHT, caught);
        service.camelContext().getRegistry().lookupByNameAndType("problems", io.github.telecmicdr.ProblemResponses.class).render(exchange);
        org.apache.camel.Message m = exchange.getMessage();
        java.util.Map<String, List<String>> headers = new java.util.HashMap<>();
        m.getHeaders().forEach((k, v) -> headers.put(k, List.of(String.valueOf(v))));
        return new Response(m.getHeader(org.apache.camel.Exchange.HTTP_RESPONSE_CODE, Integer.class),
                m.getHeader(org.apache.camel.Exchange.CONTENT_TYPE, String.class), m.getBody(String.class), headers);
    }

    // ---- what is refused, and nothing of it stored ----------------------------------------------

    @Test
    void wrongTokenIs401AndStoresNothing() throws Exception {
        long before = count("notification");
        String id = uuid();
        for (String path : new String[] {"/webhooks/telecmi/wrong", "/webhooks/telecmi/" + RunningService.WEBHOOK_TOKEN + "x",
                "/webhooks/telecmi/" + RunningService.WEBHOOK_TOKEN.substring(1), "/webhooks/telecmi/%00"}) {
            Response post = service.send(java.net.http.HttpRequest.newBuilder(service.uri(path))
                    .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(seed(id))));
            assertEquals(401, post.status(), path);
            assertEquals("application/problem+json", post.contentType());
            Response get = service.send(java.net.http.HttpRequest.newBuilder(service.uri(path + "?cmiuuid=" + id)).GET());
            assertEquals(401, get.status(), path);
        }
        assertEquals(before, count("notification"));
    }

    @Test
    void unsupportedContentTypesAre415() throws Exception {
        long before = count("notification");
        for (String type : new String[] {"text/plain", "application/x-www-form-urlencoded", "application/xml",
                "application/json; charset=iso-8859-1"}) {
            Response r = service.postWebhookBytes(seed(uuid()).getBytes(StandardCharsets.UTF_8), type);
            assertEquals(415, r.status(), type);
            assertEquals("Content-Type", json(r).get("field").asText());
        }
        assertEquals(200, service.postWebhookBytes(seed(uuid()).getBytes(StandardCharsets.UTF_8), "application/json; charset=UTF-8").status());
        assertEquals(200, service.postWebhookBytes(seed(uuid()).getBytes(StandardCharsets.UTF_8), null).status());
        // a compressed body is named as such, not answered "not valid UTF-8"
        java.io.ByteArrayOutputStream gzipped = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream gzip = new java.util.zip.GZIPOutputStream(gzipped)) {
            gzip.write(seed(uuid()).getBytes(StandardCharsets.UTF_8));
        }
        Response compressed = service.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + service.port()
                        + "/webhooks/telecmi/" + RunningService.WEBHOOK_TOKEN)).header("Content-Type", "application/json")
                .header("Content-Encoding", "gzip").POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(gzipped.toByteArray())));
        assertEquals(415, compressed.status(), compressed.body());
        assertEquals("Content-Encoding", json(compressed).get("field").asText());
        assertEquals(200, service.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + service.port()
                        + "/webhooks/telecmi/" + RunningService.WEBHOOK_TOKEN)).header("Content-Type", "application/json")
                .header("Content-Encoding", "identity").POST(java.net.http.HttpRequest.BodyPublishers.ofString(seed(uuid())))).status());
        // a charset written there by mistake: the body came as it is
        assertEquals(200, service.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + service.port()
                        + "/webhooks/telecmi/" + RunningService.WEBHOOK_TOKEN)).header("Content-Type", "application/json")
                .header("Content-Encoding", "UTF-8").POST(java.net.http.HttpRequest.BodyPublishers.ofString(seed(uuid())))).status());
        assertEquals(before + 4, count("notification"));
    }

    @Test
    void aBodyStartingWithAByteOrderMarkIsStoredAndReadBackAsValidJson() throws Exception {
        String id = uuid();
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
        byte[] cdr = seed(id).getBytes(StandardCharsets.UTF_8);
        byte[] body = new byte[bom.length + cdr.length];
        System.arraycopy(bom, 0, body, 0, bom.length);
        System.arraycopy(cdr, 0, body, bom.length, cdr.length);
        Response r = service.postWebhookBytes(body, "application/json");
        assertEquals(200, r.status(), r.body());
        JsonNode payload = notifications(id).get(0).get("payload");
        assertEquals(id, payload.get("cmiuuid").asText(), "the payload embedded in the API's answer is JSON, without the mark");
    }

    @Test
    void malformedDeliveriesAre400NamingTheFieldAndStoreNothing() throws Exception {
        long before = count("notification");
        String deep = "{\"cmiuuid\":\"deep-1\",\"x\":" + "[".repeat(40) + "]".repeat(40) + "}";
        String[][] cases = {
                {"", "body"},
                {"   ", "body"},
                {"{bad", "body"},
                {"[1,2]", "body"},
                {"\"a string\"", "body"},
                {"42", "body"},
                {"null", "body"},
                {"{\"cmiuuid\":\"dup-1\",\"cmiuuid\":\"dup-2\"}", "cmiuuid"},
                {"{\"cmiuuid\":\"dup-3\",\"team\":\"a\",\"team\":\"b\"}", "team"},
                {deep, "body"},
                {"{\"cmiuuid\":\"trail-1\"} {}", "body"},
                {"{\"cmiuuid\":\"nan-1\",\"answeredsec\":NaN}", "body"},
                {"{\"cmiuuid\":\"single-1\",'status':'answered'}", "body"},
                {"{\"status\":\"answered\"}", "cmiuuid"},
                {"{\"cmiuuid\":\"\"}", "cmiuuid"},
                {"{\"cmiuuid\":\"has space\"}", "cmiuuid"},
                {"{\"cmiuuid\":\"../../etc/passwd\"}", "cmiuuid"},
                {"{\"cmiuuid\":\"" + "a".repeat(65) + "\"}", "cmiuuid"},
                {"{\"cmiuuid\":{\"a\":1}}", "cmiuuid"},
                {"{\"cmiuuid\":\"t-4\",\"answeredsec\":1e40}", "answeredsec"},
                {"{\"cmiuuid\":\"t-6\",\"time\":99999999999999999999}", "time"},
                {"{\"cmiuuid\":\"t-12\",\"from\":1e1000}", "from"},
                {"{\"cmiuuid\":\"t-13\",\"time\":1e4000000}", "time"},
                {"{\"cmiuuid\":\"t-14\",\"future_field\":[1E+2147483648]}", "future_field"},
                {"{\"cmiuuid\":\"t-15\",\"appid\":\"" + "7".repeat(65) + "\"}", "appid"},
                {"{\"cmiuuid\":\"t-16\",\"app_id\":\"2222223\\n\"}", "app_id"},
                // the sender's identity is refused when it cannot be read: a call without appid is admitted on its token
                {"{\"cmiuuid\":\"t-17\",\"appid\":{\"id\":2222223}}", "appid"},
                {"{\"cmiuuid\":\"t-18\",\"app_id\":true}", "app_id"},
                // a number beyond its field's type, however it is written
                {"{\"cmiuuid\":\"t-19\",\"answeredsec\":2147483648}", "answeredsec"},
                {"{\"cmiuuid\":\"t-20\",\"time\":\"1e4000000\"}", "time"},
                {"{\"cmiuuid\":\"t-21\",\"billedsec\":\"1e40\"}", "billedsec"},
        };
        for (String[] c : cases) {
            Response r = service.postWebhook(c[0]);
            assertEquals(400, r.status(), c[0].length() > 80 ? c[0].substring(0, 80) : c[0]);
            assertEquals("application/problem+json", r.contentType());
            JsonNode problem = json(r);
            assertEquals(400, problem.get("status").intValue());
            assertEquals(c[1], problem.get("field").asText(), c[0].length() > 80 ? c[0].substring(0, 80) : c[0]);
            assertFalse(problem.get("detail").asText().isBlank());
            assertFalse(r.body().contains("Exception"), r.body());
        }
        assertEquals(before, count("notification"));
    }

    @Test
    void invalidUtf8Is400() throws Exception {
        long before = count("notification");
        byte[] prefix = "{\"cmiuuid\":\"utf-1\",\"team\":\"".getBytes(StandardCharsets.UTF_8);
        for (byte[] bad : new byte[][] {{(byte) 0xC3, (byte) 0x28}, {(byte) 0xFF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xC0, (byte) 0xAF}}) {
            byte[] body = new byte[prefix.length + bad.length + 2];
            System.arraycopy(prefix, 0, body, 0, prefix.length);
            System.arraycopy(bad, 0, body, prefix.length, bad.length);
            body[body.length - 2] = '"';
            body[body.length - 1] = '}';
            Response r = service.postWebhookBytes(body, "application/json");
            assertEquals(400, r.status());
            assertTrue(json(r).get("detail").asText().contains("UTF-8"));
        }
        assertEquals(before, count("notification"));
    }

    @Test
    void malformedGetDeliveriesAre400() throws Exception {
        long before = count("notification");
        String[][] cases = {
                {"", "cmiuuid"},
                {"status=answered", "cmiuuid"},
                {"cmiuuid=g-1&cmiuuid=g-2", "cmiuuid"},
                {"cmiuuid=g-3&team=%zz", "query"},
                {"cmiuuid=g-6&team=%4", "query"},
                {"cmiuuid=g-4&team=%C3%28", "team"},
                {"cmiuuid=g%20h", "cmiuuid"},
                {"cmiuuid=g-7&waitedsec=99999999999", "waitedsec"},
        };
        for (String[] c : cases) {
            // raw, so a broken %-escape reaches the server as sent
            Response r = service.raw("GET " + service.webhookPath() + "?" + c[0] + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", null);
            assertEquals(400, r.status(), c[0]);
            assertTrue(json(r).get("field").asText().contains(c[1]), c[0] + " -> " + r.body());
        }
        assertEquals(before, count("notification"));
    }

    @Test
    void bodiesOverTheLimitAre413BeforeTheyAreRead() throws Exception {
        long before = count("notification");
        // announces 2 MB, sends 10 bytes and waits: the answer must come without the rest
        Response declared = service.raw("POST " + service.webhookPath() + " HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n", "{\"cmiuuid\":".getBytes(StandardCharsets.UTF_8));
        assertEquals(413, declared.status());
        assertEquals("application/problem+json", declared.contentType());
        assertEquals("body", json(new Response(413, null, declared.body().trim(), java.util.Map.of())).get("field").asText());

        // chunked, so no length is announced: refused once it outgrows the limit
        StringBuilder chunked = new StringBuilder();
        String chunk = "x".repeat(64 * 1024);
        for (int i = 0; i < 20; i++) {
            chunked.append(Integer.toHexString(chunk.length())).append("\r\n").append(chunk).append("\r\n");
        }
        chunked.append("0\r\n\r\n");
        Response streamed = service.raw("POST " + service.webhookPath() + " HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", chunked.toString().getBytes(StandardCharsets.US_ASCII));
        assertEquals(413, streamed.status());

        // a wrong token is refused before the body too
        Response unauthorised = service.raw("POST /webhooks/telecmi/nope HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/json\r\nContent-Length: 500000\r\n\r\n", "{".getBytes(StandardCharsets.UTF_8));
        assertEquals(401, unauthorised.status());
        assertEquals(before, count("notification"));
    }

    @Test
    void otherMethodsAreRefusedWithoutStoring() throws Exception {
        long before = count("notification");
        Response r = service.send(java.net.http.HttpRequest.newBuilder(service.uri(service.webhookPath()))
                .header("Content-Type", "application/json").PUT(java.net.http.HttpRequest.BodyPublishers.ofString(seed(uuid()))));
        assertTrue(r.status() == 405 || r.status() == 404, "status " + r.status());
        assertEquals(before, count("notification"));
    }
}
