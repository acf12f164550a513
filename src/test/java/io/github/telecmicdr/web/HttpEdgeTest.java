package io.github.telecmicdr.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.web.RawConnection.Answer;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No connection holds memory or a worker for long, on either port: the API token before any body,
 * no body where none is expected, idle and slow connections closed, every request answered within
 * its deadline, a cap on open connections, broken URLs answered 400 without a stack trace.
 */
class HttpEdgeTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String TOKEN = "Authorization: Bearer " + RunningService.API_TOKEN + "\r\n";
    /** A body announced in full, of which only the start is ever sent. */
    static final String STALLED_BODY = "Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{\"a\":";

    /** The service with its default settings, shared by the tests that change none: one start instead of four. */
    private static RunningService defaults;

    static synchronized RunningService defaults() {
        if (defaults == null) {
            LogCapture.get();
            defaults = RunningService.onH2();
        }
        return defaults;
    }

    @AfterAll
    static void stopDefaults() {
        if (defaults != null) {
            defaults.close();
        }
    }

    static JsonNode problem(Answer answer) throws Exception {
        assertEquals("application/problem+json", answer.header("Content-Type"), answer.toString());
        return JSON.readTree(answer.body());
    }

    @Test
    void theApiTokenIsCheckedBeforeABodyIsReadAndNoBodyIsTakenWhereNoneIsExpected() throws Exception {
        RunningService s = defaults();
        for (String head : List.of("POST /api/deliveries/1/retry", "GET /api/cdrs", "GET /recordings/some-call", "POST /api/deliveries/retry?state=failed")) {
            try (RawConnection c = new RawConnection(s.port())) {
                c.send(head + " HTTP/1.1\r\nHost: localhost\r\n" + STALLED_BODY);
                Answer a = c.read();
                assertEquals(401, a.status(), head + ": answered before the body, not after it");
                assertEquals("Bearer", a.header("WWW-Authenticate"));
                assertEquals("Authorization", problem(a).get("field").asText());
                assertTrue(c.closedByServer(), head + ": the stalled body is not waited for");
            }
        }
        for (String head : List.of("GET /api/cdrs HTTP/1.1\r\nHost: localhost\r\n" + TOKEN + STALLED_BODY,
                "POST /api/deliveries/1/retry HTTP/1.1\r\nHost: localhost\r\n" + TOKEN + "Transfer-Encoding: chunked\r\n\r\n10\r\n")) {
            try (RawConnection c = new RawConnection(s.port())) {
                c.send(head);
                Answer a = c.read();
                assertEquals(413, a.status(), head);
                assertEquals("body", problem(a).get("field").asText());
                assertTrue(c.closedByServer());
            }
        }
        try (RawConnection c = new RawConnection(s.port())) {
            c.send("POST /api/deliveries/999999/retry HTTP/1.1\r\nHost: localhost\r\n" + TOKEN + "Content-Length: 0\r\n\r\n");
            int status = c.read().status();
            assertNotEquals(401, status, "an empty body is no body");
            assertNotEquals(413, status, "an empty body is no body");
        }
        // a webhook URL mistyped in TeleCMI's settings: no route serves it, which is what it is told
        for (String path : List.of("/webhook/telecmi/" + RunningService.WEBHOOK_TOKEN, "/webhooks/telecmi", "/nothing")) {
            try (RawConnection c = new RawConnection(s.port())) {
                c.send("POST " + path + " HTTP/1.1\r\nHost: localhost\r\n" + STALLED_BODY);
                Answer a = c.read();
                assertEquals(404, a.status(), path);
                assertEquals("path", problem(a).get("field").asText(), path);
                assertTrue(c.closedByServer(), path + ": the body is not read");
            }
        }
        assertEquals(200, s.api("/api/cdrs?limit=1").status(), "others still served");
    }

    @Test
    void theApiTokenIsReadFromTheAuthorizationHeaderOnly() throws Exception {
        RunningService s = defaults();
        // %61 is 'a': the router decodes it, so the check must see the path as the router does
        for (String path : List.of("/api/cdrs?Authorization=Bearer%20" + RunningService.API_TOKEN,
                "/%61pi/cdrs?Authorization=Bearer%20" + RunningService.API_TOKEN,
                "/recordings/x?Authorization=Bearer%20" + RunningService.API_TOKEN)) {
            try (RawConnection c = new RawConnection(s.port())) {
                c.send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
                Answer a = c.read();
                assertEquals(401, a.status(), path);
                assertEquals("Authorization", problem(a).get("field").asText());
            }
        }
        assertEquals(200, s.api("/api/cdrs?limit=1").status());
    }

    @Test
    void aBrokenEscapeAnywhereIs400WithOneLogLineNoStackTraceAndNoQuery() throws Exception {
        LogCapture.get();
        RunningService s = defaults();
        record Case(int port, String target, String field) {
        }
        List<Case> cases = List.of(
                new Case(s.port(), "/api/cdrs?private-query-marker=1&since=%zz", "query"),
                new Case(s.port(), "/api/cd%zzrs?private-query-marker=1", "path"),
                new Case(s.port(), "/recordings/x%4?private-query-marker=1", "path"),
                new Case(s.port(), "/nowhere?private-query-marker=%", "query"),
                new Case(s.managementPort(), "/observe/health?private-query-marker=%zz", "query"),
                new Case(s.managementPort(), "/observe/he%zzalth?private-query-marker=1", "path"));
        for (Case c : cases) {
            int mark = LogCapture.get().mark();
            try (RawConnection connection = new RawConnection(c.port())) {
                connection.send("GET " + c.target() + " HTTP/1.1\r\nHost: localhost\r\n" + TOKEN + "Connection: close\r\n\r\n");
                Answer a = connection.read();
                assertEquals(400, a.status(), c.toString());
                assertEquals(c.field(), problem(a).get("field").asText(), c.toString());
            }
            List<String> since = LogCapture.get().since(mark);
            assertEquals(1, since.stream().filter(l -> l.contains("refused")).count(), c + ": one line: " + since);
            assertEquals(List.of(), LogCapture.get().troubleSince(mark), c + ": no error, no stack trace");
            assertFalse(since.stream().anyMatch(l -> l.contains("private-query-marker")), c + ": the query is never logged: " + since);
        }
    }

    @Test
    void idleConnectionsAreClosedOnEitherPort() {
        try (RunningService s = RunningService.builder().property("http.idle-timeout-ms", "500").build()) {
            for (int port : new int[] {s.port(), s.managementPort()}) {
                try (RawConnection silent = new RawConnection(port)) {
                    assertTrue(silent.closedByServer(), "a connection that never sends is closed, port " + port);
                }
                try (RawConnection kept = new RawConnection(port)) {
                    kept.send("GET " + (port == s.port() ? "/api/cdrs?limit=1" : "/observe/health/live") + " HTTP/1.1\r\nHost: localhost\r\n" + TOKEN + "\r\n");
                    assertEquals(200, kept.read().status());
                    assertTrue(kept.closedByServer(), "a kept-alive connection left idle is closed, port " + port);
                }
            }
        }
    }

    @Test
    void requestHeadsSentSlowlyAreCutOffOnEitherPort() {
        try (RunningService s = RunningService.builder().property("http.idle-timeout-ms", "1000").build()) {
            // a byte every 100 ms keeps the connection from ever being idle; all of it would take 30 s
            String slowHead = "GET /api/cdrs HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + "a".repeat(300) + "\r\n\r\n";
            for (int port : new int[] {s.port(), s.managementPort()}) {
                try (RawConnection c = new RawConnection(port)) {
                    assertTrue(c.trickle(slowHead, 100), "a request head trickling in is cut off, port " + port);
                }
            }
            try (RawConnection c = new RawConnection(s.port())) {
                c.send("GET /api/cdrs?limit=1 HTTP/1.1\r\nHost: localhost\r\n" + TOKEN + "\r\n");
                assertEquals(200, c.read().status());
                assertTrue(c.trickle(slowHead, 100), "and so is the next request's head on a kept-alive connection");
            }
            assertEquals(200, s.api("/api/cdrs?limit=1").status(), "others still served");
        }
    }

    @Test
    void everyRequestIsAnsweredWithinTheRequestTimeoutOnEitherPort() throws Exception {
        try (RunningService s = RunningService.builder().property("webhook.request-timeout-ms", "5000").build()) {
            int[] ports = {s.port(), s.managementPort()};
            List<RawConnection> stuck = new ArrayList<>();
            try {
                // both requests in flight at once: the two deadlines run together, not one after the other
                for (int port : ports) {
                    // a handler that never answers stands for any route stuck on something slow
                    VertxPlatformHttpRouter.lookup(s.camelContext(), VertxPlatformHttpRouter.getRouterNameFromPort(port))
                            .route("/test-never-answers").handler(ctx -> { });
                    RawConnection c = new RawConnection(port);
                    stuck.add(c);
                    c.send("GET /test-never-answers HTTP/1.1\r\nHost: localhost\r\n\r\n");
                }
                for (int i = 0; i < ports.length; i++) {
                    Answer a = stuck.get(i).read();
                    assertEquals(408, a.status(), "port " + ports[i]);
                    assertEquals("body", problem(a).get("field").asText());
                    assertTrue(stuck.get(i).closedByServer());
                }
            } finally {
                stuck.forEach(RawConnection::close);
            }
            assertEquals(200, s.api("/api/cdrs?limit=1").status(), "others still served");
        }
    }

    @Test
    void connectionsBeyondTheCapAreClosedWhileTheOthersAreServedOnEitherPort() {
        try (RunningService s = RunningService.builder().property("http.max-connections", "5").build()) {
            for (int port : new int[] {s.port(), s.managementPort()}) {
                String request = "GET " + (port == s.port() ? "/api/cdrs?limit=1" : "/observe/health/live") + " HTTP/1.1\r\nHost: localhost\r\n" + TOKEN + "\r\n";
                List<RawConnection> open = new ArrayList<>();
                try {
                    for (int i = 0; i < 5; i++) {
                        RawConnection c = new RawConnection(port);
                        open.add(c);
                        c.send(request);
                        assertEquals(200, c.read().status(), "connection " + i + " of 5, port " + port);
                    }
                    try (RawConnection sixth = new RawConnection(port)) {
                        assertTrue(sixth.closedByServer(), "the sixth connection is closed, port " + port);
                    }
                    for (RawConnection c : open) {
                        c.send(request);
                        assertEquals(200, c.read().status(), "the five stay served, port " + port);
                    }
                    open.remove(0).close();
                    Await.until(Duration.ofSeconds(20), () -> {
                        try (RawConnection again = new RawConnection(port)) {
                            return again.send(request) && again.read().status() == 200;
                        } catch (RuntimeException closed) {
                            return false;
                        }
                    }, served -> served, "a new connection to be served once one of the five closed, port " + port);
                } finally {
                    open.forEach(RawConnection::close);
                }
            }
        }
    }

    /**
     * TeleCMI's GET carries every field in the query: a custom field of a few KiB makes a request line
     * longer than Netty's 4 KiB, which lost the call with an empty 414 and no log line.
     */
    @Test
    void aGetNotificationOfSeveralKibIsStoredAndAHeadTooLongIsAProblemWithALogLine() throws Exception {
        RunningService s = defaults();
        String id = java.util.UUID.randomUUID().toString();
        String custom = "{\"crm_ticket\":\"" + "t/é&=".repeat(700) + "\"}";
        String query = "cmiuuid=" + id + "&type=cdr&direction=inbound&status=answered&appid=2222223&from=919876543210&custom="
                + java.net.URLEncoder.encode(custom, java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(query.length() > 8 * 1024, "longer than the old limit: " + query.length());
        RunningService.Response stored = s.getWebhook(query);
        assertEquals(200, stored.status(), stored.body());
        assertTrue(stored.body().contains("\"status\":\"stored\""), stored.body());
        assertEquals(custom, s.cdr(id).get("custom").asText());

        int mark = LogCapture.get().mark();
        RunningService.Response line = s.getWebhook("cmiuuid=" + id + "&custom=" + "x".repeat(HttpEdge.MAX_REQUEST_LINE));
        assertEquals(414, line.status());
        assertEquals("application/problem+json", line.contentType());
        assertTrue(line.body().contains("\"title\":\"URI Too Long\",\"status\":414,\"detail\":\"the request line is longer than 64 KiB\""), line.body());
        RunningService.Response headers = s.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                "http://127.0.0.1:" + s.port() + "/api/cdrs")).header("X-Padding", "p".repeat(9_000)).GET());
        assertEquals(431, headers.status());
        assertTrue(headers.body().contains("\"title\":\"Request Header Fields Too Large\",\"status\":431,\"detail\":\"the request's headers are larger than 8 KiB\""), headers.body());
        Await.until(Duration.ofSeconds(10), () -> LogCapture.get().since(mark), said -> said.stream().anyMatch(l -> l.contains("status=414"))
                && said.stream().anyMatch(l -> l.contains("status=431")), "a line for each");
        assertTrue(LogCapture.get().since(mark).stream().noneMatch(l -> l.contains(RunningService.WEBHOOK_TOKEN)), "no token in them");
    }

    @Test
    void startupSaysWhereEachPortIsServedAndManagementIsLocalByDefault() {
        LogCapture.get();
        RunningService s = defaults();
        // logged once Camel is fully started, a moment after the service answers
        io.github.telecmicdr.testing.Await.until(java.time.Duration.ofSeconds(30),
                () -> LogCapture.get().linesContaining("Webhook and API served on http://0.0.0.0:" + s.port()).size(),
                n -> n == 1, "both servers are built through the edge");
        // the two lines are written one after the other, once Camel is fully started
        io.github.telecmicdr.testing.Await.until(java.time.Duration.ofSeconds(30),
                () -> LogCapture.get().linesContaining("Health and metrics served on http://127.0.0.1:" + s.managementPort()).size(),
                n -> n == 1, "the management server's line");
        assertEquals(List.of(), LogCapture.get().linesContaining("not built through the edge"));
        // Camel's endpoints summary would name the management port on 0.0.0.0: it is not written
        assertEquals(List.of(), LogCapture.get().linesContaining("0.0.0.0:" + s.managementPort()));
    }
}
