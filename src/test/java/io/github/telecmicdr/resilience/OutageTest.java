package io.github.telecmicdr.resilience;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.SilencingProxy;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Outages of what the service depends on: it answers honestly meanwhile and recovers by itself. */
class OutageTest {

    @Test
    void postgresStoppedUnderLoadAnswers503ThenRecoversWithoutARestart() throws Exception {
        Path dataDir = Files.createTempDirectory("cdr-router-pg-outage");
        int pgPort = RunningService.freePort();
        EmbeddedPostgres pg = EmbeddedPostgres.builder().setPort(pgPort).setDataDirectory(dataDir).setCleanDataDirectory(false)
                .setPGStartupWait(Duration.ofSeconds(120)).start();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE outage");
        }
        String url = pg.getJdbcUrl("postgres", "outage");
        Map<String, Integer> answers = new ConcurrentHashMap<>();
        try (RunningService service = RunningService.builder()
                .property("db.url", url).property("db.username", "postgres").property("db.password", "postgres")
                .property("db.connection-timeout-ms", "500")
                // an alert sent while PostgreSQL was away cannot be recorded done: it is sent again once its
                // lease expires, which the 2 minute default would put past the wait for every alert below
                .property("delivery.lease", "10s").property("recordings.download-timeout", "5s").build()) {
            // each one alerted: claims of alert-email deliveries fail while PostgreSQL is away
            AlertedLoad load = new AlertedLoad(service, answers);
            Await.until(Duration.ofSeconds(60), () -> answers.size(), n -> n > 50, "load before the outage");
            pg.close();
            Await.until(Duration.ofSeconds(60), () -> answers.values().stream().filter(s -> s == 503).count(), n -> n >= 5, "503s during the outage");
            Response ready = service.send(HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + service.managementPort() + "/observe/health/ready")).GET());
            assertEquals(503, ready.status(), "not ready without its database: " + ready.body());
            Response read = service.api("/api/cdrs?limit=1");
            assertEquals(503, read.status(), read.body());
            assertTrue(read.body().contains("\"detail\":\"the database is not available, please retry\""), "a read stores nothing: " + read.body());
            // the figures read from the database are unknown meanwhile, not the last ones as if they were now
            URI metrics = URI.create("http://127.0.0.1:" + service.managementPort() + "/observe/metrics");
            Await.until(Duration.ofSeconds(30), () -> service.send(HttpRequest.newBuilder(metrics).GET()).body(),
                    m -> m.contains("cdr_router_delivery_backlog{kind=\"alert-email\"} NaN")
                            && m.contains("cdr_router_deliveries{kind=\"alert-email\",state=\"done\"} NaN"),
                    "the delivery gauges to say they do not know");

            pg = EmbeddedPostgres.builder().setPort(pgPort).setDataDirectory(dataDir).setCleanDataDirectory(false)
                    .setPGStartupWait(Duration.ofSeconds(120)).start();
            long storedBefore = answers.values().stream().filter(s -> s == 200).count();
            Await.until(Duration.ofSeconds(90), () -> answers.values().stream().filter(s -> s == 200).count(),
                    n -> n >= storedBefore + 20, "CDRs stored again after PostgreSQL is back");
            load.stop();

            long ok = answers.values().stream().filter(s -> s == 200).count();
            long unavailable = answers.values().stream().filter(s -> s == 503).count();
            assertEquals(answers.size(), ok + unavailable, "only 200 or 503, never 500: " + answers.values().stream().distinct().toList());
            String last = UUID.randomUUID().toString();
            assertEquals(200, service.postWebhook("{\"cmiuuid\":\"" + last + "\",\"status\":\"answered\"}").status(), "recovered");
            for (Map.Entry<String, Integer> e : answers.entrySet()) {
                int stored = service.api("/api/cdrs/" + e.getKey()).status();
                if (e.getValue() == 200) {
                    assertEquals(200, stored, "acknowledged during the outage test but not stored: " + e.getKey());
                }
            }
            assertEquals(200, service.send(HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + service.managementPort() + "/observe/health/ready")).GET()).status());
            // the delivery source claims again once the database is back: every alert of a stored call is sent
            Await.until(Duration.ofSeconds(60), () -> alertsNotDone(service), n -> n == 0,
                    "every alert planned before, during and after the outage to be sent");
            Await.until(Duration.ofSeconds(30), () -> service.send(HttpRequest.newBuilder(metrics).GET()).body(),
                    m -> m.contains("cdr_router_delivery_backlog{kind=\"alert-email\"} 0.0"), "the delivery gauges back, from the database");
        } finally {
            pg.close();
        }
    }

    /**
     * A connection the network drops without a word (no FIN, no RST: a database host that lost
     * power, a NAT that forgot it) while statements are in flight on it: the threads waiting on it
     * (the webhook's writer, the claims) give it up after db.socket-timeout, and the service goes on
     * through new connections. Without the bound they would wait for an answer for good.
     */
    @Test
    void aPostgresConnectionThatGoesSilentIsGivenUpAfterDbSocketTimeout() throws Exception {
        EmbeddedDatabases.Jdbc db = EmbeddedDatabases.newPostgresDatabase();
        int pgPort = EmbeddedDatabases.postgres().getPort();
        Map<String, Integer> answers = new ConcurrentHashMap<>();
        try (SilencingProxy proxy = new SilencingProxy(pgPort);
             RunningService service = RunningService.builder()
                     .property("db.url", db.url().replace(":" + pgPort + "/", ":" + proxy.port() + "/"))
                     .property("db.username", db.username()).property("db.password", db.password())
                     .property("db.socket-timeout", "3s").property("delivery.poll-interval-ms", "50")
                     // a claim whose answer was lost may still have been committed: its lease then has to pass
                     .property("delivery.lease", "10s").build()) {
            // back to back, alerted: the pool's connections are in use all the time (a connection idle
            // for half a second is checked before it is lent, which would find the silence instead)
            AlertedLoad load = new AlertedLoad(service, answers);
            javax.sql.DataSource pool = service.camelContext().getRegistry().lookupByNameAndType("dataSource", javax.sql.DataSource.class);
            try (Connection c = pool.getConnection(); Statement st = c.createStatement();
                 java.sql.ResultSet rs = st.executeQuery("SHOW idle_in_transaction_session_timeout")) {
                rs.next();
                // the server ends a session left inside a transaction by a client that gave up on it
                assertEquals("3s", rs.getString(1));
            }
            Await.until(Duration.ofSeconds(60), () -> answers.size(), n -> n > 50, "load before the silence");
            assertTrue(proxy.silenceOpenConnections() > 0, "connections to silence");
            long storedThen = answers.values().stream().filter(s -> s == 200).count();
            Await.until(Duration.ofSeconds(60), () -> answers.values().stream().filter(s -> s == 200).count(),
                    n -> n >= storedThen + 20, "CDRs stored again, through new connections");
            load.stop();
            assertEquals(answers.size(), answers.values().stream().filter(s -> s == 200 || s == 503).count(),
                    "only 200 or 503: " + answers.values().stream().distinct().toList());
            for (Map.Entry<String, Integer> e : answers.entrySet()) {
                if (e.getValue() == 200) {
                    assertEquals(200, service.api("/api/cdrs/" + e.getKey()).status(), "acknowledged but not stored: " + e.getKey());
                }
            }
            // the alerts' claims and completions went on too
            Await.until(Duration.ofSeconds(60), () -> alertsNotDone(service), n -> n == 0, "every alert to be sent");
        }
    }

    /**
     * Four senders posting alerted CDRs back to back until stopped, each answer kept by cmiuuid; a
     * 503 must carry Retry-After and a problem.
     */
    private static final class AlertedLoad {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final ExecutorService senders = Executors.newFixedThreadPool(4);
        private final List<Future<Object>> clients = new ArrayList<>();

        AlertedLoad(RunningService service, Map<String, Integer> answers) {
            for (int t = 0; t < 4; t++) {
                clients.add(senders.submit(() -> {
                    while (running.get()) {
                        String id = UUID.randomUUID().toString();
                        Response r = service.postWebhook("{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"hangup_reason\":\"recv_cancel\"}");
                        answers.put(id, r.status());
                        if (r.status() == 503) {
                            assertEquals("30", r.header("Retry-After"));
                            assertEquals("application/problem+json", r.contentType());
                        }
                    }
                    return null;
                }));
            }
        }

        /** Stops the senders; one that died (an assertion, a timeout), which would have starved the waits, fails here. */
        void stop() throws Exception {
            running.set(false);
            senders.shutdown();
            assertTrue(senders.awaitTermination(60, TimeUnit.SECONDS));
            for (Future<Object> client : clients) {
                client.get();
            }
        }
    }

    /** Alert deliveries not done yet, read from the service's own database. */
    private static long alertsNotDone(RunningService service) {
        javax.sql.DataSource ds = service.camelContext().getRegistry().lookupByNameAndType("dataSource", javax.sql.DataSource.class);
        try (Connection c = ds.getConnection(); Statement st = c.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM delivery WHERE kind = 'alert-email' AND state <> 'done'")) {
            rs.next();
            return rs.getLong(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void telecmiDownForAWhileThenBackFinishesTheDownload() throws Exception {
        int port = RunningService.freePort();
        try (RunningService service = RunningService.builder()
                .property("telecmi.api-base-url", "http://127.0.0.1:" + port)
                .property("telecmi.appid", "1").property("telecmi.secret", "outage-secret")
                .property("delivery.poll-interval-ms", "100").property("delivery.backoff-initial", "200ms").property("delivery.backoff-max", "500ms")
                // whatever the machine's speed, the outcome depends on TeleCMI coming back, not on the clock
                .property("delivery.max-attempts", "100000").property("delivery.max-age", "1h")
                .build()) {
            String id = UUID.randomUUID().toString();
            service.postWebhook("{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"record\":true,\"filename\":\"" + id + ".wav\"}");
            JsonNode retrying = Await.until(Duration.ofSeconds(60), () -> service.delivery(id, "recording-download"),
                    // attempts counts claims: wait until the second attempt has ended, not just begun
                    d -> d.get("attempts").asInt() >= 2 && !"in_progress".equals(d.get("state").asText()),
                    "attempts while TeleCMI is down");
            assertEquals("pending", retrying.get("state").asText());
            WireMockServer telecmi = new WireMockServer(options().bindAddress("127.0.0.1").port(port));
            telecmi.start();
            try {
                byte[] wav = new byte[64];
                System.arraycopy("RIFF".getBytes(), 0, wav, 0, 4);
                System.arraycopy("WAVE".getBytes(), 0, wav, 8, 4);
                telecmi.stubFor(get(urlPathEqualTo("/v2/play")).willReturn(aResponse().withStatus(200).withBody(wav)));
                assertEquals("done", service.awaitFinished(id, "recording-download").get("state").asText());
            } finally {
                telecmi.stop();
            }
        }
    }

    @Test
    void pastMaxAgeDeliveriesFailWithAClearErrorInTheApiAndMetrics() throws Exception {
        try (RunningService service = RunningService.builder()
                .property("mail.smtp.host", "127.0.0.1").property("mail.smtp.port", String.valueOf(RunningService.freePort()))
                .property("telecmi.api-base-url", "http://127.0.0.1:" + RunningService.freePort())
                .property("telecmi.appid", "1").property("telecmi.secret", "outage-secret")
                .property("delivery.poll-interval-ms", "100").property("delivery.backoff-initial", "200ms")
                .property("delivery.backoff-max", "300ms").property("delivery.max-age", "5s").property("delivery.max-attempts", "1000")
                .build()) {
            String id = UUID.randomUUID().toString();
            service.postWebhook("{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"hangup_reason\":\"sent_reject\",\"record\":true,\"filename\":\"a.mp3\"}");
            for (String kind : new String[] {"alert-email", "recording-download"}) {
                JsonNode d = service.awaitFinished(id, kind);
                assertEquals("failed", d.get("state").asText());
                assertTrue(d.get("attempts").asInt() > 1, d.toString());
                assertTrue(d.get("last_error").asText().startsWith("gave up after "), d.toString());
                assertTrue(d.get("last_error").asText().contains("PT5S"), d.toString());
                assertTrue(!d.get("last_error").asText().contains("outage-secret"));
            }
            // the duration is recorded just after the commit the API shows: waited for, with the gauges
            Await.until(Duration.ofSeconds(30), () -> service.send(HttpRequest.newBuilder(
                            java.net.URI.create("http://127.0.0.1:" + service.managementPort() + "/observe/metrics")).GET()).body(),
                    m -> m.contains("cdr_router_deliveries{kind=\"alert-email\",state=\"failed\"} 1.0")
                            && m.contains("cdr_router_deliveries{kind=\"recording-download\",state=\"failed\"} 1.0")
                            && m.contains("cdr_router_delivery_duration_seconds_count{kind=\"alert-email\",outcome=\"failed\"} 1"),
                    "failed deliveries in the metrics");
        }
    }
}
