package io.github.telecmicdr.reconcile;

import io.github.telecmicdr.store.Database;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * Reconciliation's state in the database (V5): per account, the end of the last completed window
 * and the lease of the instance working the next one (claimed by an atomic conditional update, as
 * deliveries are, so two instances on one PostgreSQL never work a window at once), and the history
 * of windows. Every write but the claim names the lease owner: an instance that lost its lease
 * changes nothing.
 */
final class ReconcileWindows {

    private final DataSource dataSource;
    private final String owner;

    /**
     * How far an account has come: {@code completedUntil} null before its first window;
     * {@code retryFrom} the start of the window that failed last, null after a success.
     */
    record State(Instant completedUntil, int failures, Instant retryFrom) {
    }

    /** A row of the history, as GET /api/reconcile shows it. */
    record Window(long id, Instant start, Instant end, String instance, Instant startedAt, Instant finishedAt, String outcome,
                  int pages, int rowsSeen, int rowsStored, int rowsRefused, String error) {
    }

    /** The account's row as it is, for GET /api/reconcile; null before the first claim. */
    record Stored(Instant completedUntil, String leaseOwner, Instant leaseUntil, int failures, Instant nextAttemptAt, String lastError) {
    }

    ReconcileWindows(DataSource dataSource, String owner) {
        this.dataSource = dataSource;
        this.owner = owner;
    }

    String owner() {
        return owner;
    }

    /**
     * Takes the account's lease until {@code leaseUntil} when no live lease is held and the next
     * window is due; answers its state, or null when another instance holds it or it is not due.
     * Windows a crashed or stopped holder left running are marked abandoned.
     */
    State claim(String appid, Instant now, Instant leaseUntil) throws SQLException {
        ensureRow(appid);
        return Database.inTransaction(dataSource, c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE reconcile_state SET lease_owner = ?, lease_until = ?"
                    + " WHERE appid = ? AND (lease_until IS NULL OR lease_until < ?) AND (next_attempt_at IS NULL OR next_attempt_at <= ?)")) {
                ps.setString(1, owner);
                ps.setObject(2, at(leaseUntil));
                ps.setString(3, appid);
                ps.setObject(4, at(now));
                ps.setObject(5, at(now));
                if (ps.executeUpdate() == 0) {
                    return null;
                }
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE reconcile_window SET outcome = 'abandoned', finished_at = ?,"
                    + " error = 'its instance stopped or lost the lease before the end' WHERE appid = ? AND outcome = 'running'")) {
                ps.setObject(1, at(now));
                ps.setString(2, appid);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT completed_until, failures, retry_from FROM reconcile_state WHERE appid = ?")) {
                ps.setString(1, appid);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return new State(instant(rs, 1), rs.getInt(2), instant(rs, 3));
                }
            }
        });
    }

    /** The account's row, created at its first claim (two instances may try at once: one wins, the other finds it). */
    private void ensureRow(String appid) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM reconcile_state WHERE appid = ?")) {
                ps.setString(1, appid);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        return;
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO reconcile_state (appid, failures) VALUES (?, 0)")) {
                ps.setString(1, appid);
                ps.executeUpdate();
            } catch (SQLException e) {
                if (!"23505".equals(e.getSQLState())) {
                    throw e;
                }
            }
        }
    }

    /** Gives the lease back unused (nothing to ask yet), due again at {@code nextAttemptAt}. */
    void release(String appid, Instant nextAttemptAt) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE reconcile_state SET lease_owner = NULL, lease_until = NULL, next_attempt_at = ?"
                     + " WHERE appid = ? AND lease_owner = ?")) {
            ps.setObject(1, at(nextAttemptAt));
            ps.setString(2, appid);
            ps.setString(3, owner);
            ps.executeUpdate();
        }
    }

    /** A history row for the window about to be asked for; its id. */
    long open(String appid, Instant start, Instant end, Instant now) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("INSERT INTO reconcile_window (appid, window_start, window_end, instance, started_at,"
                     + " outcome, pages, rows_seen, rows_stored, rows_refused) VALUES (?, ?, ?, ?, ?, 'running', 0, 0, 0, 0)",
                     Statement.RETURN_GENERATED_KEYS)) {
            ps.setString(1, appid);
            ps.setObject(2, at(start));
            ps.setObject(3, at(end));
            ps.setString(4, owner);
            ps.setObject(5, at(now));
            ps.executeUpdate();
            try (ResultSet keys = ps.getGeneratedKeys()) {
                keys.next();
                return keys.getLong("id");
            }
        }
    }

    /** Keeps the lease for another page; false when it passed to another instance (this window is then abandoned). */
    boolean renew(String appid, Instant leaseUntil) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE reconcile_state SET lease_until = ? WHERE appid = ? AND lease_owner = ?")) {
            ps.setObject(1, at(leaseUntil));
            ps.setString(2, appid);
            ps.setString(3, owner);
            return ps.executeUpdate() == 1;
        }
    }

    /**
     * The window is done: the account has come to its end (never back), the lease is given up and
     * the next window is due at {@code nextAttemptAt}. False, and nothing changed, when the lease
     * had passed to another instance.
     */
    boolean complete(String appid, PullWindow w, Instant now, Instant nextAttemptAt) throws SQLException {
        return Database.inTransaction(dataSource, c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE reconcile_state SET completed_until = CASE WHEN completed_until IS NULL"
                    + " OR completed_until < ? THEN ? ELSE completed_until END, lease_owner = NULL, lease_until = NULL, failures = 0,"
                    + " next_attempt_at = ?, retry_from = NULL, last_error = NULL WHERE appid = ? AND lease_owner = ?")) {
                ps.setObject(1, at(w.end()));
                ps.setObject(2, at(w.end()));
                ps.setObject(3, at(nextAttemptAt));
                ps.setString(4, appid);
                ps.setString(5, owner);
                if (ps.executeUpdate() == 0) {
                    finish(c, w, "abandoned", now, "the lease passed to another instance before the end");
                    return false;
                }
            }
            finish(c, w, "completed", now, null);
            return true;
        });
    }

    /**
     * The window failed: it is asked for again from its start at {@code nextAttemptAt}. The
     * error is kept with the window and the account (redacted by the caller).
     */
    void fail(String appid, PullWindow w, Instant now, int failures, Instant nextAttemptAt, String error) throws SQLException {
        Database.inTransaction(dataSource, c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE reconcile_state SET lease_owner = NULL, lease_until = NULL, failures = ?,"
                    + " next_attempt_at = ?, retry_from = ?, last_error = ? WHERE appid = ? AND lease_owner = ?")) {
                ps.setInt(1, failures);
                ps.setObject(2, at(nextAttemptAt));
                ps.setObject(3, at(w.start()));
                ps.setString(4, error);
                ps.setString(5, appid);
                ps.setString(6, owner);
                boolean held = ps.executeUpdate() == 1;
                finish(c, w, held ? "failed" : "abandoned", now, error);
            }
            return null;
        });
    }

    private static void finish(Connection c, PullWindow w, String outcome, Instant now, String error) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE reconcile_window SET outcome = ?, finished_at = ?, pages = ?, rows_seen = ?,"
                + " rows_stored = ?, rows_refused = ?, error = ? WHERE id = ?")) {
            ps.setString(1, outcome);
            ps.setObject(2, at(now));
            ps.setInt(3, w.pagesRead());
            ps.setInt(4, w.rowsSeen());
            ps.setInt(5, w.rowsStored());
            ps.setInt(6, w.rowsRefused());
            ps.setString(7, error);
            ps.setLong(8, w.id());
            ps.executeUpdate();
        }
    }

    /** The history kept as long as notifications are (retention.max-age): windows started before {@code before} go. */
    void forgetBefore(Instant before) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("DELETE FROM reconcile_window WHERE started_at < ? AND outcome <> 'running'")) {
            ps.setObject(1, at(before));
            ps.executeUpdate();
        }
    }

    Stored stored(String appid) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT completed_until, lease_owner, lease_until, failures, next_attempt_at, last_error"
                     + " FROM reconcile_state WHERE appid = ?")) {
            ps.setString(1, appid);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return new Stored(instant(rs, 1), rs.getString(2), instant(rs, 3), rs.getInt(4), instant(rs, 5), rs.getString(6));
            }
        }
    }

    /** The account's last windows, newest first. */
    List<Window> latest(String appid, int limit) throws SQLException {
        List<Window> windows = new ArrayList<>();
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT id, window_start, window_end, instance, started_at, finished_at, outcome,"
                     + " pages, rows_seen, rows_stored, rows_refused, error FROM reconcile_window WHERE appid = ?"
                     + " ORDER BY id DESC FETCH FIRST ? ROWS ONLY")) {
            ps.setString(1, appid);
            ps.setInt(2, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    windows.add(new Window(rs.getLong(1), instant(rs, 2), instant(rs, 3), rs.getString(4), instant(rs, 5), instant(rs, 6),
                            rs.getString(7), rs.getInt(8), rs.getInt(9), rs.getInt(10), rs.getInt(11), rs.getString(12)));
                }
            }
        }
        return windows;
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    /** As every timestamp column stores it: UTC, to the microsecond. */
    private static OffsetDateTime at(Instant t) {
        return t == null ? null : t.truncatedTo(ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
    }
}
