package io.github.telecmicdr.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static io.github.telecmicdr.reconcile.PullApi.APPID;
import static io.github.telecmicdr.reconcile.PullApi.SECRET;
import static io.github.telecmicdr.reconcile.PullApi.json;
import static io.github.telecmicdr.reconcile.PullApi.page;
import static io.github.telecmicdr.reconcile.PullApi.requests;
import static io.github.telecmicdr.reconcile.PullApi.row;
import static io.github.telecmicdr.reconcile.PullApi.serve;
import static io.github.telecmicdr.reconcile.PullApi.windows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reconciliation against WireMock serving TeleCMI's pull API, on the embedded H2 database. */
class ReconciliationTest {

    static final Duration LONG = Duration.ofSeconds(60);
    WireMockServer telecmi;

    @BeforeEach
    void startTelecmi() {
        LogCapture.get();
        telecmi = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        telecmi.start();
    }

    @AfterEach
    void stopTelecmi() {
        telecmi.stop();
        assertTrue(LogCapture.get().linesContaining(SECRET).isEmpty(), "TeleCMI secret in the log");
    }

    static String webhookCdr(String id) {
        return "{\"cmiuuid\":\"" + id + "\",\"appid\":" + APPID + ",\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"answered\","
                + "\"from\":440000000002,\"to\":440000000001,\"answeredsec\":11,\"time\":1634720920615,\"hangup_reason\":\"recv_bye\","
                + "\"record\":true,\"filename\":\"" + id + ".mp3\"}";
    }

    static byte[] mp3() {
        byte[] audio = new byte[4096];
        new java.util.Random(7).nextBytes(audio);
        audio[0] = 'I';
        audio[1] = 'D';
        audio[2] = '3';
        return audio;
    }

    int downloadsOf(String id) {
        return telecmi.findAll(getRequestedFor(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(id + ".mp3"))).size();
    }

    static int completedWindows(RunningService s) {
        return windows(s, "completed").size();
    }

    static JsonNode notifications(RunningService s, String id) {
        return PullApi.parse(s.api("/api/notifications?cmiuuid=" + id).body()).get("notifications");
    }

    @Test
    void callsWhoseWebhookNeverCameAreStoredAndFannedOutOnce() {
        serve(telecmi, List.of());
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "audio/mpeg").withBody(mp3())));
        List<String> ids = IntStream.range(0, 5).mapToObj(i -> UUID.randomUUID().toString()).toList();
        List<String> byWebhook = ids.subList(0, 3);
        String alerted = ids.get(3);
        String quiet = ids.get(4);
        try (RunningService s = PullApi.service(telecmi).build()) {
            for (String id : byWebhook) {
                Response r = s.postWebhook(webhookCdr(id));
                assertEquals(200, r.status(), r.body());
                assertTrue(r.body().contains("\"stored\""), r.body());
            }
            // now TeleCMI's pull API lists all five: the two missing ones carry what pull rows carry
            serve(telecmi, List.of(row(ids.get(0), null, true), row(ids.get(1), null, true), row(alerted, "recv_cancel", true),
                    row(ids.get(2), null, true), row(quiet, null, true)));

            for (String id : List.of(alerted, quiet)) {
                JsonNode cdr = Await.until(LONG, () -> s.cdr(id), c -> c != null, "the missing call " + id + " to be recovered");
                assertEquals("reconcile", cdr.get("source").asText());
                assertEquals(APPID, cdr.get("appid").asText(), "a pull row names no appid: the account's");
                assertEquals("answered", cdr.get("status").asText());
                assertEquals(67, cdr.get("answeredsec").asInt());
                assertEquals("919000000001", cdr.get("from").asText());
                assertEquals("0919999999999", cdr.get("to").asText(), "a number given as text keeps its leading 0");
                assertEquals("201_" + APPID, cdr.get("user").asText());
                assertTrue(cdr.get("record").asBoolean(), "the string \"true\"");
                assertEquals("done", s.awaitFinished(id, "recording-download").get("state").asText());
            }
            assertEquals("done", s.awaitFinished(alerted, "alert-email").get("state").asText(), "its hangup_reason is in alert.hangup-reasons");
            assertNull(s.delivery(quiet, "alert-email"), "a pull row without hangup_reason is not alerted");

            for (String id : byWebhook) {
                JsonNode cdr = s.cdr(id);
                assertEquals("webhook", cdr.get("source").asText());
                assertEquals(11, cdr.get("answeredsec").asInt(), "the webhook's record is untouched by the pull row");
                assertEquals("recv_bye", cdr.get("hangup_reason").asText());
                assertEquals("done", s.awaitFinished(id, "recording-download").get("state").asText());
                assertNull(s.delivery(id, "alert-email"));
            }

            // the same five rows come back in every later window: still one of each
            int done = completedWindows(s);
            Await.until(LONG, () -> completedWindows(s), n -> n >= done + 2, "two more windows");
            for (String id : ids) {
                assertEquals(1, downloadsOf(id), "recording of " + id + " downloaded once");
                JsonNode stored = notifications(s, id);
                assertEquals(1, stored.size(), stored.toString());
                assertEquals(byWebhook.contains(id) ? "webhook" : "reconcile", stored.get(0).get("source").asText());
            }
            JsonNode recovered = notifications(s, quiet).get(0);
            assertTrue(recovered.get("http_method").isNull(), "recovered, not received: " + recovered);
            assertEquals(quiet, recovered.get("payload").get("cmiuid").asText(), "the raw row is the payload");
            assertEquals("Support Query", recovered.get("payload").get("notes").get(0).get("msg").asText());

            for (String id : ids) {
                List<String> logged = LogCapture.get().linesContaining("Recovered cmiuuid=" + id);
                assertEquals(byWebhook.contains(id) ? 0 : 1, logged.size(), logged.toString());
                logged.forEach(line -> assertTrue(line.startsWith("INFO "), line));
            }

            String metrics = s.send(HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + s.managementPort()
                    + "/observe/metrics")).GET()).body();
            assertTrue(metrics.contains("cdr_router_reconcile_rows_stored_total 2.0"), metrics);
            assertTrue(metrics.contains("cdr_router_reconcile_windows_total{outcome=\"completed\"}"), metrics);
            assertTrue(metrics.contains("cdr_router_reconcile_rows_seen_total"), metrics);
            assertFalse(metrics.contains("cdr_router_reconcile_last_success_seconds 0.0"), "a window completed");

            // what TeleCMI was asked: the secret in the JSON body only, appid as a number, the window in epoch ms
            JsonNode first = requests(telecmi).get(0);
            assertEquals(Long.parseLong(APPID), first.get("appid").asLong());
            assertTrue(first.get("appid").isNumber());
            assertEquals(SECRET, first.get("secret").asText());
            assertEquals(1, first.get("page").asInt());
            assertEquals(20, first.get("limit").asInt(), "reconcile.page-size's default");
            assertEquals(Duration.ofHours(24).toMillis(), first.get("end_date").asLong() - first.get("start_date").asLong(),
                    "the first window looks back reconcile.initial-lookback");
            telecmi.getAllServeEvents().stream().filter(e -> e.getRequest().getUrl().startsWith("/v2/answered"))
                    .forEach(e -> assertEquals("/v2/answered", e.getRequest().getUrl(), "nothing in the query"));
            assertFalse(s.api("/api/reconcile").body().contains(SECRET));
        }
    }

    @Test
    void aWebhookThatComesAfterItsCallWasRecoveredCompletesThePullRowAndPlansWhatItCouldNotOnH2() throws Exception {
        aWebhookThatComesAfterItsCallWasRecovered(PullApi.service(telecmi));
    }

    @Test
    void aWebhookThatComesAfterItsCallWasRecoveredCompletesThePullRowAndPlansWhatItCouldNotOnPostgres() throws Exception {
        aWebhookThatComesAfterItsCallWasRecovered(PullApi.service(telecmi).database(EmbeddedDatabases.newPostgresDatabase()));
    }

    @Test
    void aLateWebhookInABatchThatFailsCompletesItsRecoveredCallAlone() throws Exception {
        // the write path after a failed batch (one notification at a time, a savepoint each), made to
        // run on PostgreSQL: a writer held on a key another transaction inserted, two webhooks queued
        // behind it, and the id sequence set back so that the next batch's insert collides
        String recoveredId = UUID.randomUUID().toString();
        String held = UUID.randomUUID().toString();
        String other = UUID.randomUUID().toString();
        serve(telecmi, List.of(row(recoveredId, null, false)));
        EmbeddedDatabases.Jdbc pg = EmbeddedDatabases.newPostgresDatabase();
        try (RunningService s = PullApi.service(telecmi).database(pg).build();
             Connection holder = DriverManager.getConnection(pg.url(), pg.username(), pg.password())) {
            Await.until(LONG, () -> s.cdr(recoveredId), c -> c != null, "the call to be recovered");
            serve(telecmi, List.of());
            int windowsBefore = completedWindows(s);
            // a window in progress may still hand its row to the store: one more window after this one
            Await.until(LONG, () -> completedWindows(s), n -> n >= windowsBefore + 2, "windows without rows");
            io.github.telecmicdr.store.NotificationStore store = s.camelContext().getRegistry()
                    .lookupByNameAndType("notificationStore", io.github.telecmicdr.store.NotificationStore.class);
            holder.setAutoCommit(false);
            try (Statement st = holder.createStatement()) {
                st.executeUpdate("INSERT INTO notification (kind, cmiuuid, http_method, received_at, raw_payload)"
                        + " VALUES ('incoming-answered-cdr', '" + held + "', 'POST', now(), '{}')");
            }
            java.util.concurrent.ExecutorService senders = java.util.concurrent.Executors.newFixedThreadPool(3, r -> {
                Thread sender = new Thread(r, "late-webhook-sender");
                sender.setDaemon(true);
                return sender;
            });
            var first = java.util.concurrent.CompletableFuture.supplyAsync(() -> s.postWebhook(webhookCdr(held)), senders);
            // the writer's insert (id 3: the recovered call has 1, the held row 2) waits for the held row's transaction
            Await.until(LONG, () -> blockedBy(holder), n -> n >= 1, "the writer held on the uncommitted key");
            try (Statement st = holder.createStatement()) {
                st.execute("SELECT setval(pg_get_serial_sequence('notification', 'id'), 1, false)");
            }
            String late = webhookCdr(recoveredId).replace("recv_bye", "recv_cancel").replace("\"record\":true", "\"record\":false");
            var upgrade = java.util.concurrent.CompletableFuture.supplyAsync(() -> s.postWebhook(late), senders);
            var another = java.util.concurrent.CompletableFuture.supplyAsync(() -> s.postWebhook(webhookCdr(other)), senders);
            Await.until(LONG, store::waitingForCommit, n -> n == 3, "both queued behind the held batch");
            int mark = LogCapture.get().mark();
            holder.commit();

            assertTrue(first.get().body().contains("\"duplicate\""), first.get().body());
            Response upgraded = upgrade.get();
            assertEquals(200, upgraded.status(), upgraded.body());
            assertTrue(upgraded.body().contains("\"stored\""), upgraded.body());
            assertEquals("recv_cancel", s.cdr(recoveredId).get("hangup_reason").asText());
            assertEquals("webhook", s.cdr(recoveredId).get("source").asText());
            assertEquals("done", s.awaitFinished(recoveredId, "alert-email").get("state").asText());
            assertEquals(200, another.get().status(), another.get().body());
            // ids taken: 1 by the held webhook's retry alone (a duplicate), 2 by the next batch's insert
            // of the other call (which collided: the batch failed), then 3 and 4 one at a time
            try (Statement st = holder.createStatement();
                 ResultSet rs = st.executeQuery("SELECT last_value FROM " + sequenceOf(holder))) {
                rs.next();
                assertEquals(4, rs.getLong(1), "the late webhook went through the path after a failed batch");
            }
            List<String> after = LogCapture.get().since(mark);
            assertTrue(after.stream().noneMatch(l -> l.startsWith("ERROR")), after.toString());
            senders.shutdown();
        }
    }

    /** PostgreSQL sessions waiting now for a lock this connection's session holds. */
    static long blockedBy(Connection c) {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY (pg_blocking_pids(pid))")) {
            rs.next();
            return rs.getLong(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sequenceOf(Connection c) throws java.sql.SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_get_serial_sequence('notification', 'id')")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private void aWebhookThatComesAfterItsCallWasRecovered(RunningService.Builder builder) throws Exception {
        String id = UUID.randomUUID().toString();
        serve(telecmi, List.of(row(id, null, false)));
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "audio/mpeg").withBody(mp3())));
        try (RunningService s = builder.build()) {
            JsonNode recovered = Await.until(LONG, () -> s.cdr(id), c -> c != null, "the call to be recovered");
            assertEquals("reconcile", recovered.get("source").asText());
            assertTrue(recovered.get("hangup_reason").isNull(), "a pull row carries none");
            assertNull(s.delivery(id, "alert-email"));

            // TeleCMI's last retry of the webhook comes after that (a window shorter than its retries);
            // it says the call was recorded, which the pull row did not
            String webhook = webhookCdr(id).replace("recv_bye", "recv_cancel");
            Response r = s.postWebhook(webhook);
            assertEquals(200, r.status(), r.body());
            assertTrue(r.body().contains("\"stored\""), "its full CDR is stored now: " + r.body());
            JsonNode cdr = s.cdr(id);
            assertEquals("webhook", cdr.get("source").asText());
            assertEquals("recv_cancel", cdr.get("hangup_reason").asText());
            assertEquals(11, cdr.get("answeredsec").asInt());
            assertEquals("440000000002", cdr.get("from").asText());
            assertEquals("201_" + APPID, cdr.get("user").asText(), "a field only the pull row had stays");
            assertEquals(recovered.get("received_at"), cdr.get("received_at"), "first received when it was recovered");
            assertEquals(1, LogCapture.get().linesContaining("Webhook for recovered cmiuuid=" + id + " completes the call").size());
            assertEquals("done", s.awaitFinished(id, "alert-email").get("state").asText(), "planned now that its hangup reason is known");
            assertEquals("done", s.awaitFinished(id, "recording-download").get("state").asText(), "and its recording, now that it has one");
            assertTrue(s.cdr(id).get("record").asBoolean());
            assertTrue(s.cdr(id).get("recording_skipped").isNull());
            JsonNode stored = notifications(s, id);
            assertEquals(1, stored.size(), stored.toString());
            assertEquals("POST", stored.get(0).get("http_method").asText());
            assertEquals("recv_cancel", stored.get(0).get("payload").get("hangup_reason").asText(), "the webhook's payload");
            JsonNode byCaller = PullApi.parse(s.api("/api/notifications?phone=440000000002").body()).get("notifications");
            assertEquals(id, byCaller.get(0).get("cmiuuid").asText(), "found by the webhook's caller on the ops page");

            // a further retry is a duplicate, and so is the pull row in later windows
            assertTrue(s.postWebhook(webhook).body().contains("\"duplicate\""));
            int done = completedWindows(s);
            Await.until(LONG, () -> completedWindows(s), n -> n >= done + 2, "two more windows");
            assertEquals("webhook", notifications(s, id).get(0).get("source").asText());
            assertEquals("recv_cancel", s.cdr(id).get("hangup_reason").asText());
            assertEquals(2, s.cdr(id).get("deliveries").size(), "one alert and one download, each planned once: " + s.cdr(id));
            assertEquals(1, downloadsOf(id));
        }
    }

    @Test
    void pagesUntilAPageIsNotFull() {
        List<String> rows = IntStream.range(0, 250).mapToObj(i -> row(UUID.randomUUID().toString(), null, false)).toList();
        telecmi.stubFor(post(urlPathEqualTo("/v2/answered")).atPriority(10).willReturn(json(page(List.of(), 250))));
        for (int p = 1; p <= 3; p++) {
            telecmi.stubFor(post(urlPathEqualTo("/v2/answered")).atPriority(1)
                    .withRequestBody(matchingJsonPath("$.page", equalTo(String.valueOf(p))))
                    .willReturn(json(page(rows.subList((p - 1) * 100, Math.min(p * 100, 250)), 250))));
        }
        try (RunningService s = PullApi.service(telecmi).property("reconcile.page-size", "100").build()) {
            JsonNode window = Await.until(LONG, () -> windows(s, "completed"), w -> !w.isEmpty(), "a completed window").get(0);
            assertEquals(3, window.get("pages").asInt(), window.toString());
            assertEquals(250, window.get("rows_seen").asInt());
            assertEquals(250, window.get("rows_stored").asInt());
            assertEquals(0, window.get("rows_refused").asInt());

            List<Integer> pagesOfTheFirstWindow = new ArrayList<>();
            long start = requests(telecmi).get(0).get("start_date").asLong();
            for (JsonNode r : requests(telecmi)) {
                assertEquals(100, r.get("limit").asInt());
                if (r.get("start_date").asLong() == start) {
                    pagesOfTheFirstWindow.add(r.get("page").asInt());
                }
            }
            assertEquals(List.of(1, 2, 3), pagesOfTheFirstWindow, "page 3 held 50 of 100 rows: the last asked for");

            JsonNode list = PullApi.parse(s.api("/api/cdrs?limit=500").body()).get("cdrs");
            assertEquals(250, list.size());
            list.forEach(c -> assertEquals("reconcile", c.get("source").asText()));
        }
    }

    @Test
    void theShippedDelayEndsEachWindowAfterTeleCmisRetriesOfAWebhook() {
        serve(telecmi, List.of());
        // application.properties' reconcile.delay, not PullApi's PT0S: PIOPIY retries a webhook up
        // to 30 minutes after its first attempt, and a call reconciled before that retry is fanned out
        // thin (its webhook completes it later, but the CRM and the ESB keep what they were sent)
        try (RunningService s = RunningService.builder()
                .property("telecmi.api-base-url", "http://127.0.0.1:" + telecmi.port())
                .property("telecmi.appid", APPID)
                .property("telecmi.secret", SECRET)
                .property("reconcile.interval", "500ms").build()) {
            JsonNode window = Await.until(LONG, () -> windows(s, "completed"), w -> !w.isEmpty(), "a window").get(0);
            Instant askedBefore = Instant.now();
            Instant end = Instant.parse(window.get("end").asText());
            assertTrue(end.isBefore(askedBefore.minus(Duration.ofMinutes(30))), "window ends at " + end + ", asked before " + askedBefore);
        }
    }

    @Test
    void anInitialLookbackNoLongerThanTheDelayStopsTheStart() {
        // its first window would end before it starts, and reconciliation would silently never begin
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> RunningService.builder()
                .property("telecmi.api-base-url", "http://127.0.0.1:" + telecmi.port())
                .property("telecmi.appid", APPID).property("telecmi.secret", SECRET)
                .property("reconcile.initial-lookback", "30m").build().close());
        assertEquals("the service did not start", refused.getMessage());
        IllegalArgumentException why = assertThrows(IllegalArgumentException.class, () -> new Reconciliation(null, PullApi.JSON,
                java.time.Clock.systemUTC(), null, new Reconciliation.Settings(APPID, SECRET, Duration.ofMinutes(15), Duration.ofMinutes(10),
                Duration.ofMinutes(35), Duration.ofMinutes(35), 20, Duration.ofMinutes(2), Duration.ZERO), text -> text));
        assertEquals("reconcile.initial-lookback (35m) must be longer than reconcile.delay (35m): the first window ends the delay"
                + " before now", why.getMessage());
    }

    @Test
    void overlappingWindowsStoreEachCallOnce() {
        List<String> ids = List.of(UUID.randomUUID().toString(), UUID.randomUUID().toString(), UUID.randomUUID().toString());
        serve(telecmi, ids.stream().map(id -> row(id, null, false)).toList());
        // every duration setting reads ISO-8601 too, the timer's period included
        try (RunningService s = PullApi.service(telecmi).property("reconcile.interval", "PT0.5S").build()) {
            List<JsonNode> windows = Await.until(LONG, () -> windows(s, "completed"), w -> w.size() >= 4, "four windows");
            int stored = 0;
            for (int i = 0; i < windows.size(); i++) {
                JsonNode w = windows.get(i);
                assertEquals(3, w.get("rows_seen").asInt());
                stored += w.get("rows_stored").asInt();
                if (i > 0) {
                    // each window reaches back reconcile.overlap (default 10m) before the end of the last one
                    assertEquals(Instant.parse(windows.get(i - 1).get("end").asText()).minus(Duration.ofMinutes(10)),
                            Instant.parse(w.get("start").asText()), w.toString());
                    assertEquals(0, w.get("rows_stored").asInt(), "rows seen again are duplicates");
                }
            }
            assertEquals(3, stored);
            for (String id : ids) {
                assertEquals(1, notifications(s, id).size());
                assertEquals(1, LogCapture.get().linesContaining("Recovered cmiuuid=" + id).size());
            }
        }
    }

    @Test
    void aRestartResumesFromTheStoredWindow() throws Exception {
        String id = UUID.randomUUID().toString();
        serve(telecmi, List.of(row(id, null, false)));
        RunningService.Builder first = PullApi.service(telecmi);
        java.nio.file.Path data;
        try (RunningService s = first.build()) {
            data = s.dataDir();
            Await.until(LONG, () -> completedWindows(s), n -> n >= 2, "two windows");
        }
        Instant completedUntil;
        EmbeddedDatabases.Jdbc h2 = EmbeddedDatabases.h2In(data);
        try (Connection c = DriverManager.getConnection(h2.url(), h2.username(), h2.password()); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT completed_until FROM reconcile_state")) {
            assertTrue(rs.next());
            completedUntil = rs.getObject(1, OffsetDateTime.class).toInstant();
        }
        int before = requests(telecmi).size();
        try (RunningService s = PullApi.service(telecmi).property("data.dir", data.toString()).build()) {
            JsonNode resumed = Await.until(LONG, () -> requests(telecmi), r -> r.size() > before, "a request after the restart").get(before);
            assertEquals(completedUntil.minus(Duration.ofMinutes(10)).toEpochMilli(), resumed.get("start_date").asLong(),
                    "from the stored end less the overlap, not a new initial look-back");
            Await.until(LONG, () -> completedWindows(s), n -> n >= 3, "a window after the restart");
            assertEquals(1, notifications(s, id).size());
        }
    }

    @Test
    void refusedCredentialsStopReconciliationWithAClearError() {
        telecmi.stubFor(post(urlPathEqualTo("/v2/answered"))
                .willReturn(json("{\"code\":407,\"error\":true,\"msg\":\"Authentication Failed\"}")));
        int mark = LogCapture.get().mark();
        try (RunningService s = PullApi.service(telecmi).build()) {
            AtomicInteger rounds = PullApi.countRounds(s.camelContext());
            String expected = "TeleCMI refused telecmi.appid and telecmi.secret (code 407: Authentication Failed)";
            String health = Await.until(LONG, () -> s.send(HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
                    + s.managementPort() + "/observe/health?exposureLevel=full")).GET()).body(), h -> h.contains("stopped"), "stopped");
            assertTrue(health.contains(expected), health);
            assertTrue(health.startsWith("{\"status\":\"UP\""), "ingest still works: not DOWN " + health);

            // the timer goes on ticking; TeleCMI is not asked again
            int now = rounds.get();
            Await.until(LONG, rounds::get, n -> n >= now + 3, "three more rounds");
            assertEquals(1, requests(telecmi).size());

            JsonNode status = PullApi.status(s);
            assertEquals("stopped", status.get("state").asText());
            assertTrue(status.get("reason").asText().startsWith(expected), status.toString());
            assertEquals("failed", status.get("windows").get(0).get("outcome").asText());
            assertTrue(status.get("windows").get(0).get("error").asText().contains("code 407"), status.toString());

            List<String> errors = LogCapture.get().since(mark).stream()
                    .filter(l -> l.startsWith("ERROR")).toList();
            assertEquals(1, errors.size(), errors.toString());
            assertTrue(errors.get(0).contains("Reconciliation with TeleCMI's pull API stopped: " + expected), errors.get(0));

            Response webhook = s.postWebhook(webhookCdr(UUID.randomUUID().toString()));
            assertEquals(200, webhook.status(), "the webhook still stores: " + webhook.body());
        }
    }

    @Test
    void offWithoutCredentialsOrInterval() {
        serve(telecmi, List.of(row(UUID.randomUUID().toString(), null, false)));
        int mark = LogCapture.get().mark();
        try (RunningService s = PullApi.service(telecmi).property("telecmi.secret", "").build()) {
            AtomicInteger rounds = PullApi.countRounds(s.camelContext());
            Await.until(LONG, rounds::get, n -> n >= 3, "three rounds");
            JsonNode status = PullApi.status(s);
            assertEquals("off", status.get("state").asText());
            assertEquals("telecmi.appid and telecmi.secret are not both set", status.get("reason").asText());
        }
        try (RunningService s = PullApi.service(telecmi).property("reconcile.interval", "").build()) {
            assertEquals("reconcile.interval is 0", PullApi.status(s).get("reason").asText());
            String health = s.send(HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + s.managementPort()
                    + "/observe/health?exposureLevel=full")).GET()).body();
            assertTrue(health.contains("reconciliation is off: reconcile.interval is 0"), health);
        }
        assertEquals(0, requests(telecmi).size());
        List<String> said = LogCapture.get().since(mark).stream()
                .filter(l -> l.contains("Reconciliation with TeleCMI's pull API is off")).toList();
        assertEquals(2, said.size(), "one line per start: " + said);
    }

    @Test
    void anUnreachableTelecmiFailsTheWindowWithoutTheSecret() {
        int mark = LogCapture.get().mark();
        try (RunningService s = PullApi.service(telecmi).property("telecmi.api-base-url", "http://127.0.0.1:" + RunningService.freePort())
                .build()) {
            JsonNode failed = Await.until(LONG, () -> windows(s, "failed"), w -> !w.isEmpty(), "a failed window").get(0);
            assertTrue(failed.get("error").asText().contains("Connect"), failed.toString());
            assertEquals("on", PullApi.status(s).get("state").asText(), "tried again later, not stopped");
        }
        List<String> trouble = LogCapture.get().since(mark).stream()
                .filter(l -> l.startsWith("ERROR") || l.contains("\n\tat ")).toList();
        assertTrue(trouble.isEmpty(), "a warning, no stack trace: " + trouble);
    }

    @Test
    void serverErrorsAreRetriedFromTheSameStart() {
        String id = UUID.randomUUID().toString();
        telecmi.stubFor(post(urlPathEqualTo("/v2/answered")).inScenario("flaky").whenScenarioStateIs(Scenario.STARTED)
                .willReturn(aResponse().withStatus(503).withBody("upstream busy")).willSetStateTo("once"));
        telecmi.stubFor(post(urlPathEqualTo("/v2/answered")).inScenario("flaky").whenScenarioStateIs("once")
                .willReturn(json("{\"code\":502,\"msg\":\"Internal Server Error\"}")).willSetStateTo("recovered"));
        telecmi.stubFor(post(urlPathEqualTo("/v2/answered")).inScenario("flaky").whenScenarioStateIs("recovered")
                .willReturn(json(page(List.of(row(id, null, false)), 1))));
        int mark = LogCapture.get().mark();
        try (RunningService s = PullApi.service(telecmi).build()) {
            Await.until(LONG, () -> s.cdr(id), c -> c != null, "the call, once TeleCMI answers");
            List<JsonNode> failed = windows(s, "failed");
            assertEquals(2, failed.size(), failed.toString());
            assertTrue(failed.get(0).get("error").asText().contains("HTTP 503"), failed.toString());
            assertTrue(failed.get(1).get("error").asText().contains("code 502: Internal Server Error"), failed.toString());
            JsonNode completed = Await.until(LONG, () -> windows(s, "completed"), w -> !w.isEmpty(), "the window completed").get(0);
            Set<String> starts = new HashSet<>();
            failed.forEach(w -> starts.add(w.get("start").asText()));
            starts.add(completed.get("start").asText());
            assertEquals(1, starts.size(), "asked again from the same start: " + failed + " " + completed);
            assertEquals(3, requests(telecmi).stream().map(r -> r.get("start_date").asLong()).filter(t -> t == requests(telecmi)
                    .get(0).get("start_date").asLong()).count());
            assertEquals(2, LogCapture.get().since(mark).stream()
                    .filter(l -> l.startsWith("WARN") && l.contains("asked for again from the same start")).count());
            assertEquals("on", PullApi.status(s).get("state").asText());
        }
    }
}
