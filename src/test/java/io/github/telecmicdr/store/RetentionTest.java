package io.github.telecmicdr.store;

import io.github.telecmicdr.delivery.Durations;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * retention.max-age removes old calls whole (notifications, CDR, deliveries, recording row and
 * file, alert email) and nothing younger; 0 keeps everything. Calls are made old by moving their
 * received_at back in the database, so the test does not wait for time to pass.
 */
class RetentionTest {

    static String cdr(String id) {
        return "{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"hangup_reason\":\"recv_cancel\"}";
    }

    @Test
    void oldCallsGoWholeAndYoungOnesStayOnH2() throws Exception {
        oldCallsGoWholeAndYoungOnesStay(RunningService.builder());
    }

    @Test
    void oldCallsGoWholeAndYoungOnesStayOnPostgres() throws Exception {
        oldCallsGoWholeAndYoungOnesStay(RunningService.builder().database(EmbeddedDatabases.newPostgresDatabase()));
    }

    @Test
    void aRetentionShorterThanDeliveriesAreRetriedStopsTheStart() {
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> RunningService.builder()
                .property("retention.max-age", "1d").property("delivery.max-age", "7d").build().close());
        assertEquals("the service did not start", refused.getMessage());
    }

    private void oldCallsGoWholeAndYoungOnesStay(RunningService.Builder builder) throws Exception {
        try (RunningService s = builder
                .property("retention.max-age", "30d")
                .property("retention.interval-ms", "200")
                .property("delivery.poll-interval-ms", "100")
                .build()) {
            DataSource ds = s.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
            String old = UUID.randomUUID().toString();
            String oldSharing = UUID.randomUUID().toString();
            String young = UUID.randomUUID().toString();
            String oldRetried = UUID.randomUUID().toString();
            for (String id : new String[] {old, oldSharing, oldRetried, young}) {
                assertEquals(200, s.postWebhook(cdr(id)).status());
                assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + id + "\",\"type\":\"event\",\"status\":\"waiting\"}").status());
                assertEquals("done", s.awaitFinished(id, "alert-email").get("state").asText());
            }
            Path outbox = s.dataDir().resolve("outbox");
            assertTrue(Files.exists(outbox.resolve(old + ".eml")));
            // recordings as the download leaves them: the old call's own file, and one file the old call
            // shares with the young one (several CDRs naming one TeleCMI file share it)
            Path own = s.dataDir().resolve("recordings").resolve("2021/10/20").resolve(old + ".mp3");
            Path shared = s.dataDir().resolve("recordings").resolve("2021/10/20").resolve("shared.mp3");
            Files.createDirectories(own.getParent());
            Files.write(own, new byte[] {'I', 'D', '3', 0});
            Files.write(shared, new byte[] {'I', 'D', '3', 0});
            try (Connection c = ds.getConnection()) {
                recording(c, old, "2021/10/20/" + old + ".mp3");
                recording(c, oldSharing, "2021/10/20/shared.mp3");
                recording(c, young, "2021/10/20/shared.mp3");
                // an old call whose alert is to be sent again (the retry API, or a kind kept longer than the
                // retention): due tomorrow, so nothing sends it during the test
                try (PreparedStatement ps = c.prepareStatement("UPDATE delivery SET state = 'pending',"
                        + " next_attempt_at = CURRENT_TIMESTAMP + INTERVAL '1' DAY WHERE cmiuuid = ?")) {
                    ps.setString(1, oldRetried);
                    assertEquals(1, ps.executeUpdate());
                }
                try (PreparedStatement ps = c.prepareStatement("UPDATE notification SET received_at = received_at - INTERVAL '31' DAY"
                        + " WHERE cmiuuid = ? OR cmiuuid = ? OR cmiuuid = ?")) {
                    ps.setString(1, old);
                    ps.setString(2, oldSharing);
                    ps.setString(3, oldRetried);
                    assertEquals(6, ps.executeUpdate());
                }
            }

            Await.until(Duration.ofSeconds(60), () -> count(ds, "notification", old) + count(ds, "notification", oldSharing),
                    n -> n == 0, "the old calls to be removed");
            for (String id : new String[] {old, oldSharing}) {
                for (String table : new String[] {"cdr", "delivery", "recording"}) {
                    assertEquals(0, count(ds, table, id), table + " of an old call");
                }
            }
            // the files go just after the rows' commit, which the wait above may see first
            Await.until(Duration.ofSeconds(10), () -> Files.exists(own) || Files.exists(outbox.resolve(old + ".eml")),
                    exists -> !exists, "the old call's files to go after its rows");
            assertFalse(Files.exists(own), "its recording file");
            assertTrue(Files.exists(shared), "a file another call still names stays");
            assertFalse(Files.exists(outbox.resolve(old + ".eml")), "its alert email");
            assertEquals(404, s.api("/api/cdrs/" + old).status());

            assertEquals(2, count(ds, "notification", young));
            assertEquals(2, count(ds, "delivery", young));
            assertTrue(Files.exists(outbox.resolve(young + ".eml")));
            assertEquals(200, s.api("/api/cdrs/" + young).status());

            // its CDR, whose alert is pending, is kept whole; its live event (nothing planned) went with the others
            assertEquals(1, count(ds, "notification", oldRetried), "an old call whose alert is pending");
            assertEquals(1, count(ds, "cdr", oldRetried));
            assertEquals("pending", s.delivery(oldRetried, "alert-email").get("state").asText());
            assertTrue(Files.exists(outbox.resolve(oldRetried + ".eml")));
        }
    }

    @Test
    void zeroKeepsEverythingAndOldCallsGoInBatchesOnceTheirDeliveriesEnded() throws Exception {
        try (RunningService s = RunningService.builder().property("retention.interval-ms", "3600000").build()) {
            DataSource ds = s.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
            int calls = Retention.BATCH * 2 + 7;
            try (Connection c = ds.getConnection()) {
                c.setAutoCommit(false);
                java.util.List<String> ids = new java.util.ArrayList<>();
                for (int i = 0; i < calls; i++) {
                    ids.add(UUID.randomUUID().toString());
                }
                io.github.telecmicdr.testing.StoredCalls.insertWithDueAlert(c, ids);
                try (PreparedStatement ps = c.prepareStatement("UPDATE notification SET received_at = received_at - INTERVAL '2' DAY")) {
                    ps.executeUpdate();
                }
                // due tomorrow: the running service's alert route leaves them alone
                try (PreparedStatement ps = c.prepareStatement("UPDATE delivery SET next_attempt_at = CURRENT_TIMESTAMP + INTERVAL '1' DAY")) {
                    ps.executeUpdate();
                }
                c.commit();
            }
            Path root = s.dataDir();
            Retention keepAll = new Retention(ds, Clock.systemUTC(), Durations.parse("retention.max-age", "0"), root.resolve("recordings"), root.resolve("outbox"));
            assertEquals(0, keepAll.removeExpired());
            assertEquals(calls, total(ds, "notification"));
            Retention oneDay = new Retention(ds, Clock.systemUTC(), Durations.parse("retention.max-age", "1d"), root.resolve("recordings"), root.resolve("outbox"));
            // the oldest BATCH + 1 calls' alerts have not ended (one is being sent); the others ended, done or failed
            int unfinished = Retention.BATCH + 1;
            try (Connection c = ds.getConnection()) {
                long first = single(c, "SELECT MIN(id) FROM notification");
                try (PreparedStatement ps = c.prepareStatement("UPDATE delivery SET state = CASE WHEN MOD(notification_id, 2) = 0"
                        + " THEN 'done' ELSE 'failed' END WHERE notification_id >= ?")) {
                    ps.setLong(1, first + unfinished);
                    assertEquals(calls - unfinished, ps.executeUpdate());
                }
                try (PreparedStatement ps = c.prepareStatement("UPDATE delivery SET state = 'in_progress', lease_until = CURRENT_TIMESTAMP + INTERVAL '1' DAY"
                        + " WHERE notification_id = ?")) {
                    ps.setLong(1, first);
                    assertEquals(1, ps.executeUpdate());
                }
            }
            // kept until their deliveries end, and the round goes past a whole batch of them
            assertEquals(calls - unfinished, oneDay.removeExpired());
            assertEquals(unfinished, total(ds, "notification"));
            assertEquals(unfinished, total(ds, "delivery"));
            assertEquals(unfinished, total(ds, "cdr"));
            assertEquals(0, oneDay.removeExpired());
            try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement("UPDATE delivery SET state = 'done'")) {
                ps.executeUpdate();
            }
            assertEquals(unfinished, oneDay.removeExpired());
            assertEquals(0, total(ds, "notification"));
            assertEquals(0, total(ds, "delivery"));
            assertEquals(0, total(ds, "cdr"));
        }
    }

    /**
     * Files whose rows are gone (another instance removed the calls, or a stop came between a
     * round's commit and its deletes) go in the hourly sweep; a file a row names, one written within
     * the hour (a download between its move and its row) and everything younger stay.
     */
    @Test
    void filesNoStoredCallNamesAreSweptOnceTheRetentionHasPassed() throws Exception {
        // the service's own retention keeps everything: only the rounds below sweep
        try (RunningService s = RunningService.builder().property("retention.max-age", "0").build()) {
            DataSource ds = s.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
            Path recordings = s.dataDir().resolve("recordings");
            Path outbox = s.dataDir().resolve("outbox");
            String named = UUID.randomUUID().toString();
            assertEquals(200, s.postWebhook(cdr(named)).status());
            Path oldDay = recordings.resolve("2020/01/02");
            Path orphan = file(oldDay.resolve("orphan.mp3"), Duration.ofDays(3));
            Path justMoved = file(oldDay.resolve("just-moved.mp3"), Duration.ofMinutes(5));
            Path stillNamed = file(oldDay.resolve(named + ".mp3"), Duration.ofDays(3));
            Path lonelyDay = recordings.resolve("2020/03/04");
            Path lonely = file(lonelyDay.resolve("gone.wav"), Duration.ofDays(3));
            Path young = file(recordings.resolve(java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString().replace('-', '/')).resolve("young.mp3"),
                    Duration.ofDays(3));
            Path partial = file(recordings.resolve(".partial/abc.part"), Duration.ofDays(3));
            Path oldMail = file(outbox.resolve("old.eml"), Duration.ofDays(31));
            Path recentMail = file(outbox.resolve("recent.eml"), Duration.ofDays(29));
            try (Connection c = ds.getConnection()) {
                recording(c, named, "2020/01/02/" + named + ".mp3");
            }

            Retention thirtyDays = new Retention(ds, Clock.systemUTC(), Durations.parse("retention.max-age", "30d"), recordings, outbox);
            assertEquals(3, thirtyDays.removeOrphanedFiles());
            for (Path gone : List.of(orphan, lonely, oldMail)) {
                assertFalse(Files.exists(gone), gone.toString());
            }
            for (Path kept : List.of(justMoved, stillNamed, young, partial, recentMail)) {
                assertTrue(Files.exists(kept), kept.toString());
            }
            assertFalse(Files.exists(lonelyDay), "an emptied day folder");
            assertFalse(Files.exists(lonelyDay.getParent()), "and its month");
            // once an hour
            file(oldDay.resolve("orphan.mp3"), Duration.ofDays(3));
            assertEquals(0, thirtyDays.removeOrphanedFiles());
            assertEquals(0, new Retention(ds, Clock.systemUTC(), Durations.parse("retention.max-age", "0"), recordings, outbox).removeOrphanedFiles(),
                    "0 keeps everything");
        }
    }

    private static Path file(Path path, Duration age) throws java.io.IOException {
        Files.createDirectories(path.getParent());
        Files.write(path, new byte[] {'I', 'D', '3', 0});
        Files.setLastModifiedTime(path, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(age)));
        return path;
    }

    /** A recording row of the call's recording-download delivery, as the download writes it. */
    static void recording(Connection c, String cmiuuid, String filePath) throws SQLException {
        try (PreparedStatement delivery = c.prepareStatement("INSERT INTO delivery (notification_id, cmiuuid, kind, state, attempts,"
                + " next_attempt_at, created_at) SELECT id, cmiuuid, 'recording-download', 'done', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP"
                + " FROM notification WHERE kind = 'incoming-answered-cdr' AND cmiuuid = ?")) {
            delivery.setString(1, cmiuuid);
            delivery.executeUpdate();
        }
        long deliveryId = single(c, "SELECT id FROM delivery WHERE kind = 'recording-download' AND cmiuuid = '" + cmiuuid + "'");
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO recording (cmiuuid, delivery_id, file_path, telecmi_filename, content_type,"
                + " size_bytes, sha256, stored_at) VALUES (?, ?, ?, 'x.mp3', 'audio/mpeg', 4, 'x', CURRENT_TIMESTAMP)")) {
            ps.setString(1, cmiuuid);
            ps.setLong(2, deliveryId);
            ps.setString(3, filePath);
            ps.executeUpdate();
        }
    }

    static long count(DataSource ds, String table, String cmiuuid) {
        try (Connection c = ds.getConnection()) {
            return single(c, "SELECT COUNT(*) FROM " + table + " WHERE cmiuuid = '" + cmiuuid + "'");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static long total(DataSource ds, String table) throws SQLException {
        try (Connection c = ds.getConnection()) {
            return single(c, "SELECT COUNT(*) FROM " + table);
        }
    }

    static long single(Connection c, String sql) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            assertTrue(rs.next());
            return rs.getLong(1);
        }
    }
}
