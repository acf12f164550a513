package io.github.telecmicdr.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.Test;

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
import java.util.TreeSet;
import java.util.UUID;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static io.github.telecmicdr.reconcile.PullApi.SECRET;
import static io.github.telecmicdr.reconcile.PullApi.requests;
import static io.github.telecmicdr.reconcile.PullApi.row;
import static io.github.telecmicdr.reconcile.PullApi.serve;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Several instances on one PostgreSQL: one works a window at a time, and no window is skipped or asked twice. */
class ReconcileOnPostgresTest {

    record Window(Instant start, Instant end, String outcome, String instance) {
    }

    @Test
    void twoInstancesWorkEachWindowOnce() throws Exception {
        LogCapture.get();
        WireMockServer telecmi = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        telecmi.start();
        List<String> ids = List.of(UUID.randomUUID().toString(), UUID.randomUUID().toString(), UUID.randomUUID().toString());
        // each answer takes longer than the interval: the other instance ticks while a window is worked
        serve(telecmi, ids.stream().map(id -> row(id, null, false)).toList(), 700);
        EmbeddedDatabases.Jdbc pg = EmbeddedDatabases.newPostgresDatabase();
        try {
            // no overlap: the windows must then follow each other exactly
            RunningService one = PullApi.service(telecmi).database(pg).property("reconcile.overlap", "0").build();
            RunningService two = PullApi.service(telecmi).database(pg).property("reconcile.overlap", "0").build();
            try {
                List<JsonNode> first = Await.until(Duration.ofSeconds(90), () -> PullApi.windows(one, "completed"), w -> w.size() >= 4,
                        "four windows");
                // the instance that worked the last window stops; the other goes on from where it ended
                String worker = first.get(first.size() - 1).get("instance").asText();
                RunningService stopping = PullApi.status(one).get("instance").asText().equals(worker) ? one : two;
                RunningService going = stopping == one ? two : one;
                stopping.close();
                int before = PullApi.windows(going, "completed").size();
                Await.until(Duration.ofSeconds(90), () -> PullApi.windows(going, "completed").size(), n -> n >= before + 4, "four more");
            } finally {
                one.close();
                two.close();
            }
        } finally {
            telecmi.stop();
        }

        List<Window> windows = new ArrayList<>();
        int notifications;
        try (Connection c = DriverManager.getConnection(pg.url(), pg.username(), pg.password()); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT window_start, window_end, outcome, instance FROM reconcile_window ORDER BY window_start, id")) {
                while (rs.next()) {
                    windows.add(new Window(rs.getObject(1, OffsetDateTime.class).toInstant(), rs.getObject(2, OffsetDateTime.class).toInstant(),
                            rs.getString(3), rs.getString(4)));
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM notification")) {
                rs.next();
                notifications = rs.getInt(1);
            }
        }
        List<Window> completed = windows.stream().filter(w -> w.outcome().equals("completed")).toList();
        assertTrue(completed.size() >= 8, windows.toString());
        assertEquals(completed.size(), windows.size(), "no window failed, was abandoned or left running: " + windows);
        assertEquals(Duration.ofHours(24), Duration.between(completed.get(0).start(), completed.get(0).end()), "the first looks back a day");
        for (int i = 1; i < completed.size(); i++) {
            assertEquals(completed.get(i - 1).end(), completed.get(i).start(), "neither a gap nor a window twice: " + completed);
        }
        Set<String> asked = new HashSet<>();
        for (JsonNode r : requests(telecmi)) {
            assertTrue(asked.add(r.get("start_date").asLong() + ".." + r.get("end_date").asLong() + "#" + r.get("page").asInt()),
                    "one window asked for twice: " + r);
        }
        assertEquals(completed.size(), asked.size(), "one request per window (one page each)");
        assertEquals(3, notifications, "each call stored once");
        Set<String> instances = new TreeSet<>();
        completed.forEach(w -> instances.add(w.instance()));
        assertEquals(2, instances.size(), "both instances worked windows: " + completed);
        assertTrue(LogCapture.get().linesContaining(SECRET).isEmpty());
    }
}
