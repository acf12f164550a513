package io.github.telecmicdr.store;

import com.zaxxer.hikari.HikariDataSource;
import io.github.telecmicdr.testing.EmbeddedDatabases;
import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.jdbcx.JdbcDataSource;
import org.h2.mvstore.tx.Transaction;
import org.h2.mvstore.tx.TransactionStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * A process killed in the middle of an H2 commit, after the undo log was marked committed and
 * written by another commit, before it was applied (what CrashUnderLoadIT's kill -9 hit in about
 * one run in four to ten on a busy machine). The child JVM stops exactly there, every time.
 */
class H2RecoveryTest {

    static final String MARKED = "marked committed, not applied";
    /** The row the tests write: Flyway's record of the first migration (its installed_by, which Flyway does not validate; H2 keeps Flyway's lower-case names). */
    static final String FIRST_MIGRATION = "\"flyway_schema_history\" SET \"installed_by\" = %s WHERE \"installed_rank\" = 1";

    @Test
    void theServiceFinishesACommitACrashLeftHalfAppliedAndItsRowCanBeWrittenAgain(@TempDir Path dir) throws Exception {
        String url = EmbeddedDatabases.h2In(dir).url();
        crashMidCommit(url, dir);
        // without the recovery, the first write of that row spins at full CPU for good (LOCK_TIMEOUT
        // never fires): Flyway's own start does, so the service would not even start
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (HikariDataSource db = Database.open(url, "sa", "", 2, 5000); Connection c = db.getConnection(); Statement s = c.createStatement()) {
                assertEquals(0, leftover(c), "transactions left committed and not applied");
                assertEquals(MARKED, firstMigration(c), "the commit the crash interrupted counts: it was marked committed");
                s.execute("SET LOCK_TIMEOUT 2000");
                assertEquals(1, s.executeUpdate("UPDATE " + FIRST_MIGRATION.formatted("'written again'")));
                assertEquals("written again", firstMigration(c));
            }
        });
    }

    /** The defect this works around, in H2 itself: when an upgrade fixes it, H2Recovery can go. */
    @Test
    void h2AloneLeavesSuchACommitHoldingItsRows(@TempDir Path dir) throws Exception {
        String url = EmbeddedDatabases.h2In(dir).url();
        crashMidCommit(url, dir);
        JdbcDataSource plain = new JdbcDataSource();
        plain.setURL(url);
        plain.setUser("sa");
        try (Connection c = plain.getConnection()) {
            assertEquals(1, leftover(c), "transactions left committed and not applied");
        }
        assertEquals(1, H2Recovery.finishLeftoverCommits(plain));
        assertEquals(0, H2Recovery.finishLeftoverCommits(plain), "finished for good: the file, reopened, no longer holds it");
        try (Connection c = plain.getConnection()) {
            assertEquals(0, leftover(c));
            assertEquals(MARKED, firstMigration(c));
        }
    }

    /** How many transactions H2 holds as committed and not applied. */
    private static int leftover(Connection c) throws Exception {
        return H2Recovery.leftoverCommits(((SessionLocal) c.unwrap(JdbcConnection.class).getSession()).getDatabase().getStore().getTransactionStore()).size();
    }

    private static String firstMigration(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT \"installed_by\" FROM \"flyway_schema_history\" WHERE \"installed_rank\" = 1")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Runs {@link CrashMidCommit} on the file in a JVM of its own, which it halts. */
    private static void crashMidCommit(String url, Path dir) throws Exception {
        Path output = dir.resolve("child.log");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), CrashMidCommit.class.getName(), url)
                .redirectErrorStream(true).redirectOutput(output.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
        }
        assertEquals(CrashMidCommit.HALTED, p.exitValue(), "the child's output:\n" + Files.readString(output));
    }

    /**
     * Migrates a fresh file, updates a row, then does the first half of H2's commit (the undo log
     * marked committed), lets a store commit write that to the file, and halts: no shutdown, as if
     * killed before the second half (applying the log).
     */
    static final class CrashMidCommit {

        static final int HALTED = 42;

        public static void main(String[] args) throws Exception {
            try (HikariDataSource db = Database.open(args[0], "sa", "", 2, 5000); Connection c = db.getConnection()) {
                c.setAutoCommit(false);
                try (Statement s = c.createStatement()) {
                    s.executeUpdate("UPDATE " + FIRST_MIGRATION.formatted("'" + MARKED + "'"));
                }
                SessionLocal session = (SessionLocal) c.unwrap(JdbcConnection.class).getSession();
                Transaction t = session.getTransaction();
                TransactionStore store = session.getDatabase().getStore().getTransactionStore();
                Object committing = internal("flipCommittingTransactionsBit", int.class, boolean.class).invoke(store, t.getId(), true);
                Method version = committing.getClass().getDeclaredMethod("getVersion");
                version.setAccessible(true);
                internal("markUndoLogAsCommitted", int.class, long.class).invoke(store, t.getId(), version.invoke(committing));
                session.getDatabase().getStore().getMvStore().commit();
                Runtime.getRuntime().halt(HALTED);
            }
        }

        private static Method internal(String name, Class<?>... parameters) throws NoSuchMethodException {
            Method m = TransactionStore.class.getDeclaredMethod(name, parameters);
            m.setAccessible(true);
            return m;
        }
    }
}
