package io.github.telecmicdr.store;

import io.github.telecmicdr.delivery.Deliveries;
import io.github.telecmicdr.delivery.Delivery;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Removes what is older than {@code retention.max-age}: notifications with their deliveries, and
 * with an answered CDR its typed row, its recording (row and file) and its alert email in the outbox. It
 * works in small transactions, oldest first, with a pause between them, so ingest never waits
 * long behind it. A notification with a delivery still pending or in progress stays until that
 * delivery ends. {@code 0} keeps everything.
 */
public final class Retention {

    private static final Logger LOG = LoggerFactory.getLogger(Retention.class);
    /** Notifications removed per transaction. */
    static final int BATCH = 500;
    /** Between two transactions: the group-commit writer gets the database in between. */
    static final long PAUSE_MILLIS = 50;

    private final DataSource dataSource;
    private final Clock clock;
    private final Duration maxAge;
    private final Path recordingsDir;
    private final Path outboxDir;
    /** Notifications the last round kept for their unfinished deliveries. */
    private int lastKept;

    public Retention(DataSource dataSource, Clock clock, Duration maxAge, Path recordingsDir, Path outboxDir) {
        this.dataSource = dataSource;
        this.clock = clock;
        this.maxAge = maxAge;
        this.recordingsDir = recordingsDir;
        this.outboxDir = outboxDir;
    }

    public boolean keepsEverything() {
        return maxAge.isZero();
    }

    /**
     * One round: removes, batch by batch, every notification received before now - max-age, but
     * none with a delivery still pending or in progress (a retried delivery, a kind whose max-age is
     * longer than the retention, a download under way): such a call is kept until its deliveries end.
     */
    public int removeExpired() throws SQLException, InterruptedException {
        if (keepsEverything()) {
            return 0;
        }
        OffsetDateTime cutoff = Database.now(clock).minus(maxAge);
        int removed = 0;
        int kept = 0;
        long after = 0;
        while (true) {
            Batch batch = removeBatch(cutoff, after);
            removed += batch.removed;
            kept += batch.kept;
            after = batch.lastId;
            if (!batch.full) {
                break;
            }
            Thread.sleep(PAUSE_MILLIS);
        }
        // a kept notification is counted in every round until its delivery ends: said again only when the count moves
        if (removed > 0 || kept != lastKept) {
            LOG.info("Removed {} notifications received before {} (retention.max-age {}){}", removed, cutoff.toInstant(), maxAge,
                    kept == 0 ? "" : "; kept " + kept + " whose deliveries are still pending or in progress");
        }
        lastKept = kept;
        return removed;
    }

    /** What a batch did: removed, kept (unfinished deliveries), the last id it read, and whether it read a whole batch of expired ones. */
    private record Batch(int removed, int kept, long lastId, boolean full) {
    }

    /**
     * The oldest notifications after {@code after} by id (ids grow with time, so this reads the
     * primary key from there and needs no index on received_at), up to the first that is not
     * expired, less those with a delivery not yet ended. Those to remove are locked, then their
     * deliveries, and looked at again before the delete: a retry, a claim or a late webhook that
     * came in between keeps its notification.
     */
    private Batch removeBatch(OffsetDateTime cutoff, long after) throws SQLException {
        Map<Long, String> expired = new LinkedHashMap<>();
        Set<String> filesToCheck = new LinkedHashSet<>();
        Set<Long> unfinished = new HashSet<>();
        boolean[] full = {false};
        Database.inTransaction(dataSource, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id, cmiuuid, kind, received_at FROM notification WHERE id > ? ORDER BY id FETCH FIRST ? ROWS ONLY")) {
                ps.setLong(1, after);
                ps.setInt(2, BATCH);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next() && rs.getObject(4, OffsetDateTime.class).isBefore(cutoff)) {
                        expired.put(rs.getLong(1), Delivery.fileName(rs.getString(3), rs.getString(2)) + ".eml");
                    }
                }
            }
            full[0] = expired.size() == BATCH;
            if (expired.isEmpty()) {
                return null;
            }
            // those whose deliveries have not ended stay; read without a lock, so a call kept round
            // after round (a kind no route works any more) is never locked or written by this
            unfinished.addAll(unfinishedAmong(c, expired.keySet(), false));
            List<Long> ids = new ArrayList<>(expired.keySet());
            ids.removeAll(unfinished);
            if (ids.isEmpty()) {
                return null;
            }
            // then those to remove are locked, and their deliveries, and looked at again: a retry or
            // a claim that came in between keeps its call too, and none can start before the delete;
            // the notification's lock holds off a late webhook that would plan deliveries for it
            try (PreparedStatement ps = c.prepareStatement("SELECT id FROM notification WHERE id = ANY (?) FOR UPDATE")) {
                ps.setArray(1, c.createArrayOf("BIGINT", ids.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        // locked as read
                    }
                }
            }
            Set<Long> sinceThen = unfinishedAmong(c, ids, true);
            unfinished.addAll(sinceThen);
            ids.removeAll(sinceThen);
            if (ids.isEmpty()) {
                return null;
            }
            Array notifications = c.createArrayOf("BIGINT", ids.toArray());
            String theirDeliveries = "SELECT id FROM delivery WHERE notification_id = ANY (?)";
            try (PreparedStatement ps = c.prepareStatement("SELECT file_path FROM recording WHERE delivery_id IN (" + theirDeliveries + ")")) {
                ps.setArray(1, notifications);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        filesToCheck.add(rs.getString(1));
                    }
                }
            }
            // children first: a recording names its delivery, a delivery and a CDR row their notification
            for (String sql : new String[] {"DELETE FROM recording WHERE delivery_id IN (" + theirDeliveries + ")",
                    "DELETE FROM delivery WHERE notification_id = ANY (?)", "DELETE FROM cdr WHERE notification_id = ANY (?)",
                    "DELETE FROM notification WHERE id = ANY (?)"}) {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setArray(1, notifications);
                    ps.executeUpdate();
                }
            }
            return null;
        });
        // after the commit: a crash in between leaves a file nobody names, never a row without its file
        removeUnreferencedRecordings(filesToCheck);
        expired.forEach((id, alertFile) -> {
            if (!unfinished.contains(id)) {
                deleteQuietly(outboxDir.resolve(alertFile));
            }
        });
        long lastId = after;
        for (long id : expired.keySet()) {
            lastId = id;
        }
        return new Batch(expired.size() - unfinished.size(), unfinished.size(), lastId, full[0]);
    }

    /**
     * Files that outlived their rows: at most once an hour, a recording in a day folder older than
     * the retention (and a day) that no row names, written more than an hour ago (a download moves
     * its file into place a moment before it writes its row), and an alert email in the outbox
     * written before the retention's cutoff (and a day). They are left by an instance that removed
     * calls whose files another instance holds (each instance its own recordings.dir), and by a stop
     * between a round's commit and its deletes. Empty day, month and year folders go too.
     */
    public int removeOrphanedFiles() throws SQLException {
        if (keepsEverything()) {
            return 0;
        }
        long now = clock.millis();
        if (now - lastSweep < SWEEP_EVERY.toMillis() && now >= lastSweep) {
            return 0;
        }
        lastSweep = now;
        OffsetDateTime before = Database.now(clock).minus(maxAge).minusDays(1);
        Instant writtenBefore = Instant.ofEpochMilli(now).minus(Duration.ofHours(1));
        int removed = 0;
        try (Connection c = dataSource.getConnection();
             PreparedStatement named = c.prepareStatement(NAMED_BY_A_ROW)) {
            for (Path day : dayFoldersBefore(before.toLocalDate())) {
                for (Path file : list(day)) {
                    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || !writtenBefore(file, writtenBefore)) {
                        continue;
                    }
                    // its time looked at again just before: a download may have put a new file there since
                    if (!namedByARow(named, recordingsDir.relativize(file).toString()) && writtenBefore(file, writtenBefore)
                            && deleteQuietly(file)) {
                        removed++;
                    }
                }
                removeIfEmpty(day);
                removeIfEmpty(day.getParent());
                removeIfEmpty(day.getParent().getParent());
            }
        }
        for (Path mail : list(outboxDir)) {
            if (mail.getFileName().toString().endsWith(".eml") && Files.isRegularFile(mail, LinkOption.NOFOLLOW_LINKS)
                    && writtenBefore(mail, before.toInstant()) && deleteQuietly(mail)) {
                removed++;
            }
        }
        if (removed > 0) {
            LOG.info("Removed {} recording and alert email files no stored call names any more (received before {})", removed, before.toInstant());
        }
        return removed;
    }

    /** At most this often the folders are walked for files their rows left behind. */
    static final Duration SWEEP_EVERY = Duration.ofHours(1);
    private long lastSweep = Long.MIN_VALUE / 2;

    /** recordings.dir/yyyy/MM/dd folders of days before {@code day}. */
    private List<Path> dayFoldersBefore(LocalDate day) {
        List<Path> days = new ArrayList<>();
        // the folder itself may be a link (to another disk); nothing below it is followed
        for (Path year : list(recordingsDir)) {
            for (Path month : Files.isDirectory(year, LinkOption.NOFOLLOW_LINKS) ? list(year) : List.<Path>of()) {
                for (Path d : Files.isDirectory(month, LinkOption.NOFOLLOW_LINKS) ? list(month) : List.<Path>of()) {
                    LocalDate date = dateOf(year, month, d);
                    if (date != null && date.isBefore(day) && Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                        days.add(d);
                    }
                }
            }
        }
        return days;
    }

    private static LocalDate dateOf(Path year, Path month, Path day) {
        try {
            return LocalDate.of(Integer.parseInt(year.getFileName().toString()), Integer.parseInt(month.getFileName().toString()),
                    Integer.parseInt(day.getFileName().toString()));
        } catch (RuntimeException notADayFolder) {
            // .partial, or anything else: not ours to sweep
            return null;
        }
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.sorted().toList();
        } catch (IOException e) {
            LOG.warn("Could not list {}: {}", dir, e.toString());
            return List.of();
        }
    }

    private static boolean writtenBefore(Path file, Instant instant) {
        try {
            return Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(instant);
        } catch (IOException e) {
            return false;
        }
    }

    private void removeIfEmpty(Path dir) {
        if (dir == null || !dir.startsWith(recordingsDir) || dir.equals(recordingsDir)) {
            return;
        }
        try {
            Files.deleteIfExists(dir);
        } catch (DirectoryNotEmptyException stillUsed) {
            // a file some call names, or one written within the hour
        } catch (IOException e) {
            LOG.warn("Could not remove {}: {}", dir, e.toString());
        }
    }

    /** Which of these notifications have a delivery pending or in progress; with {@code lock}, every delivery of them is locked. */
    private static Set<Long> unfinishedAmong(Connection c, Collection<Long> notifications, boolean lock) throws SQLException {
        Set<Long> unfinished = new HashSet<>();
        // every delivery of them, by their notification's index (on H2 a state filter here would read
        // every pending delivery of the table through the state index instead), the states picked below
        String sql = "SELECT notification_id, state FROM delivery WHERE notification_id = ANY (?)" + (lock ? " FOR UPDATE" : "");
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("BIGINT", notifications.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String state = rs.getString(2);
                    if (Deliveries.PENDING.equals(state) || Deliveries.IN_PROGRESS.equals(state)) {
                        unfinished.add(rs.getLong(1));
                    }
                }
            }
        }
        return unfinished;
    }

    /** A recording file several calls share goes with the last row that names it. */
    private void removeUnreferencedRecordings(Set<String> paths) throws SQLException {
        if (paths.isEmpty()) {
            return;
        }
        try (Connection c = dataSource.getConnection(); PreparedStatement named = c.prepareStatement(NAMED_BY_A_ROW)) {
            for (String path : paths) {
                if (!namedByARow(named, path)) {
                    Path file = recordingsDir.resolve(path).normalize();
                    if (file.startsWith(recordingsDir.normalize())) {
                        deleteQuietly(file);
                    }
                }
            }
        }
    }

    /** Whether a recording row names this file (its path under recordings.dir); parameter: the path. */
    private static final String NAMED_BY_A_ROW = "SELECT 1 FROM recording WHERE file_path = ? FETCH FIRST 1 ROWS ONLY";

    private static boolean namedByARow(PreparedStatement named, String path) throws SQLException {
        named.setString(1, path);
        try (ResultSet rs = named.executeQuery()) {
            return rs.next();
        }
    }

    private static boolean deleteQuietly(Path file) {
        try {
            return Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("Could not remove {}: {}", file, e.toString());
            return false;
        }
    }
}
