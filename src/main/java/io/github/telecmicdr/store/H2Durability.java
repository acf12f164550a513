package io.github.telecmicdr.store;

import org.h2.jdbc.JdbcConnection;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Makes every H2 database URL write each commit through before the webhook answers. H2 delays
 * writing commits by default (WRITE_DELAY 500 ms): a user pointing {@code db.url} at a file of
 * their own, without our settings, had ~6% of acknowledged CDRs lost by a {@code kill -9}. So the
 * service adds what durability needs to whatever H2 URL it is given, and refuses a URL that asks
 * for delayed writes rather than silently breaking the promise behind every 200.
 * <p>
 * Written through is not yet on the disk: H2 writes each commit into the operating system's page
 * cache and forces its file to the disk only when it compacts or closes. A {@code kill -9} keeps
 * what is in the page cache; a power cut or a kernel crash may not. So the notification writer
 * forces the file after each group commit ({@link #forceToDisk}), before any of its callers is
 * answered.
 */
public final class H2Durability {

    private H2Durability() {
    }

    /** The URL to connect with, and what was added to it (empty when nothing was). */
    public record Url(String url, List<String> added) {
    }

    /**
     * The URL with {@code WRITE_DELAY=0} (and, for a database this JVM opens itself,
     * {@code DB_CLOSE_ON_EXIT=FALSE}, so the service closes it after in-flight work, not the JVM's
     * shutdown hook before it) added where absent. Not H2, or H2 in memory: unchanged.
     *
     * @throws IllegalArgumentException when the URL sets a non-zero WRITE_DELAY
     */
    public static Url of(String url) {
        if (url == null || !url.regionMatches(true, 0, "jdbc:h2:", 0, "jdbc:h2:".length())) {
            return new Url(url, List.of());
        }
        String[] parts = url.split(";", -1);
        String location = parts[0].substring("jdbc:h2:".length()).toLowerCase(Locale.ROOT);
        if (location.startsWith("mem:")) {
            return new Url(url, List.of());
        }
        boolean remote = location.startsWith("tcp:") || location.startsWith("ssl:");
        boolean hasWriteDelay = false;
        boolean hasCloseOnExit = false;
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            String key = (eq < 0 ? parts[i] : parts[i].substring(0, eq)).trim().toUpperCase(Locale.ROOT);
            String value = eq < 0 ? "" : parts[i].substring(eq + 1).trim();
            if (key.equals("WRITE_DELAY")) {
                if (!value.equals("0")) {
                    throw new IllegalArgumentException("db.url sets WRITE_DELAY=" + value + ": H2 would then acknowledge CDRs"
                            + " before writing them, and a crash would lose them. Remove WRITE_DELAY from db.url (the service"
                            + " adds WRITE_DELAY=0) or set it to 0.");
                }
                hasWriteDelay = true;
            } else if (key.equals("DB_CLOSE_ON_EXIT")) {
                hasCloseOnExit = true;
            }
        }
        List<String> added = new ArrayList<>(2);
        if (!hasWriteDelay) {
            added.add("WRITE_DELAY=0");
        }
        if (!hasCloseOnExit && !remote) {
            added.add("DB_CLOSE_ON_EXIT=FALSE");
        }
        StringBuilder effective = new StringBuilder(url);
        for (String setting : added) {
            if (effective.charAt(effective.length() - 1) != ';') {
                effective.append(';');
            }
            effective.append(setting);
        }
        return new Url(effective.toString(), List.copyOf(added));
    }

    /**
     * Forces what H2 has written to its file onto the disk ({@code CHECKPOINT SYNC}: H2 commits what
     * is pending, then {@code FileChannel.force}). Nothing on another database: PostgreSQL's commit
     * already waits for its write-ahead log to reach the disk ({@code synchronous_commit}, on by
     * default). Nothing either for H2 in memory. H2 lets only an admin force its file, as it lets
     * only an admin set the {@code WRITE_DELAY} that every H2 URL the service opens carries: a user
     * who can open the database may force it.
     */
    public static void forceToDisk(Connection c) throws SQLException {
        if (c.isWrapperFor(JdbcConnection.class)) {
            try (Statement s = c.createStatement()) {
                s.execute("CHECKPOINT SYNC");
            } catch (SQLException e) {
                throw new NotForced(e);
            }
        }
    }

    /**
     * The commit was written and could not be forced to the disk: it may or may not survive a power
     * cut. Its callers are not told it was stored; a retry finds it stored (a duplicate).
     */
    public static final class NotForced extends SQLException {
        NotForced(SQLException cause) {
            super("the commit was written and could not be forced to the disk: " + cause.getMessage(), cause);
        }
    }
}
