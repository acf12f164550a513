package io.github.telecmicdr.store;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Statistics for a fresh PostgreSQL database, once it holds enough rows to plan with.
 * <p>
 * PostgreSQL plans a prepared statement, and each foreign-key check, on what it knows of the table
 * then, and keeps that plan for the connection's life until the table is analyzed. Planned on
 * empty tables, the webhook's statements read whole tables: the duplicate check, cdr's lookup of
 * its notification and its foreign-key check became sequential scans of a growing table, until
 * autovacuum's first ANALYZE, a minute or more into the load (bench/README, "Sixth session": 492
 * calls a second instead of 7,484, 1 ms per cdr insert). So when notification holds fewer than
 * {@value #ROWS} rows at start, the {@value #ROWS}th notification stored after the start is followed
 * by one ANALYZE of the tables every call writes, on a thread of its own; the plans made after it
 * use the indexes. Nothing on H2, whose plans do not depend on statistics this way, nor on a
 * database that was not fresh. A speed-up only: when it cannot tell, or the ANALYZE fails or is
 * refused, autovacuum analyzes the tables later, as it would have.
 */
final class FreshStatistics {

    private static final Logger LOG = LoggerFactory.getLogger(FreshStatistics.class);

    /** Notifications stored since the start after which a fresh database is analyzed. */
    static final int ROWS = 1_000;

    private static final String TABLES = "notification, cdr, delivery";

    private final DataSource dataSource;
    /** Notifications left to store before the ANALYZE; at or below zero, nothing is left to do. */
    private final AtomicInteger untilAnalyze;

    private FreshStatistics(DataSource dataSource, int untilAnalyze) {
        this.dataSource = dataSource;
        this.untilAnalyze = new AtomicInteger(untilAnalyze);
    }

    /**
     * Asks the (migrated) database whether it is PostgreSQL with fewer than {@value #ROWS}
     * notifications; if not, {@link #stored()} does nothing.
     */
    static FreshStatistics of(DataSource dataSource) {
        try (Connection c = dataSource.getConnection()) {
            if (!"PostgreSQL".equals(c.getMetaData().getDatabaseProductName())) {
                return new FreshStatistics(dataSource, 0);
            }
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*) FROM (SELECT 1 FROM notification LIMIT " + ROWS + ") fresh")) {
                rs.next();
                return new FreshStatistics(dataSource, rs.getInt(1) < ROWS ? ROWS : 0);
            }
        } catch (SQLException e) {
            // the database went away right after the migration: the start goes on, requests answer 503 until it is back
            LOG.warn("Could not tell whether the database is fresh ({}); its tables are left to autovacuum", e.getMessage());
            return new FreshStatistics(dataSource, 0);
        }
    }

    /** Whether this database was fresh PostgreSQL at start, so that {@link #stored()} counts toward an ANALYZE. */
    boolean analyzes() {
        return untilAnalyze.get() > 0;
    }

    /** One more notification stored; the {@value #ROWS}th of a fresh database starts the ANALYZE. */
    void stored() {
        if (untilAnalyze.get() > 0 && untilAnalyze.decrementAndGet() == 0) {
            Thread analyzing = new Thread(this::analyze, "fresh-statistics");
            analyzing.setDaemon(true);
            analyzing.start();
        }
    }

    private void analyze() {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute("ANALYZE " + TABLES);
            // a role that does not own the tables is warned, not refused: nothing was analyzed then
            SQLWarning warning = s.getWarnings();
            if (warning != null) {
                LOG.warn("ANALYZE {} skipped by PostgreSQL ({}); autovacuum will analyze them later", TABLES, warning.getMessage());
            } else {
                LOG.info("Analyzed {} after the first {} notifications of a fresh PostgreSQL database, so that its plans use the indexes",
                        TABLES, ROWS);
            }
        } catch (SQLException e) {
            // autovacuum analyzes them later; until then the plans made on empty tables stay slow
            LOG.warn("Could not analyze {} ({}); PostgreSQL's autovacuum will, later", TABLES, e.getMessage());
        }
    }
}
