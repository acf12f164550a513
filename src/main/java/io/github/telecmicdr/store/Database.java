package io.github.telecmicdr.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;
import org.h2.api.ErrorCode;

import javax.sql.DataSource;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Clock;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.function.Predicate;

/**
 * The one connection pool, H2 (embedded default) or PostgreSQL chosen by {@code db.url}, migrated
 * by Flyway before any route starts.
 */
public final class Database {

    private Database() {
    }

    /** A pool on a migrated database: {@link #pool}, then {@link #migrate}. */
    public static HikariDataSource open(String url, String username, String password, int maxPoolSize, long connectionTimeoutMs) {
        HikariDataSource dataSource = pool(url, username, password, maxPoolSize, connectionTimeoutMs);
        migrate(dataSource, url);
        return dataSource;
    }

    /** The pool alone, with {@link #DEFAULT_SOCKET_TIMEOUT}; nothing is asked of the database yet. */
    public static HikariDataSource pool(String url, String username, String password, int maxPoolSize, long connectionTimeoutMs) {
        return pool(url, username, password, maxPoolSize, connectionTimeoutMs, DEFAULT_SOCKET_TIMEOUT);
    }

    /** db.socket-timeout's default. */
    public static final Duration DEFAULT_SOCKET_TIMEOUT = Duration.ofMinutes(2);

    /**
     * The pool alone; nothing is asked of the database yet. On PostgreSQL a statement whose answer
     * has not come within {@code socketTimeout} (zero: no bound) fails and its connection is
     * closed, and TCP keep-alive is on: a connection the network dropped without a word (a host
     * that lost power, a failover, a NAT that forgot it) would otherwise hold its thread (the
     * webhook's writer, a delivery kind's claims) for good. H2 runs in the JVM and needs neither.
     */
    public static HikariDataSource pool(String url, String username, String password, int maxPoolSize, long connectionTimeoutMs,
                                        Duration socketTimeout) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("cdr-router-db");
        config.setJdbcUrl(url);
        config.setUsername(username);
        config.setPassword(password);
        config.setMaximumPoolSize(maxPoolSize);
        // fail a request fast while the database is away, instead of holding TeleCMI for 30 s
        config.setConnectionTimeout(connectionTimeoutMs);
        // building the pool asks nothing of the database: the migration is what fails a start
        // without one, and when it goes away later, requests answer 503 until it is back
        config.setInitializationFailTimeout(-1);
        if (url.startsWith("jdbc:postgresql:")) {
            // driver properties; a parameter of the same name in db.url wins
            config.addDataSourceProperty("tcpKeepAlive", "true");
            // whole seconds; a bound shorter than one second is one second, not none
            long seconds = socketTimeout.isZero() ? 0 : Math.max(1, (socketTimeout.toMillis() + 999) / 1000);
            config.addDataSourceProperty("socketTimeout", String.valueOf(seconds));
            if (seconds > 0) {
                // the server's side of the same: a session whose client went silent inside a transaction
                // (its answer lost on the way) would keep that transaction's row locks until the server's
                // TCP gives up, hours later, and every claim or insert of those rows would wait on them.
                // The service never leaves a transaction idle: its transactions run their statements
                // back to back. A SET when the connection opens, not a startup parameter: poolers such
                // as PgBouncer refuse those they do not know, and a DB_URL's own options= would drop it
                config.setConnectionInitSql("SET idle_in_transaction_session_timeout = " + seconds * 1000);
            }
        }
        return new HikariDataSource(config);
    }

    /**
     * Brings the schema up to date (Flyway): what db/migration holds, and db/h2 on H2. On H2, first
     * finishes the commits a crash left half-applied ({@link H2Recovery}), before Flyway or a route
     * writes their rows.
     */
    public static void migrate(DataSource dataSource, String url) {
        if (url.startsWith("jdbc:h2:")) {
            try {
                H2Recovery.finishLeftoverCommits(dataSource);
            } catch (SQLException e) {
                throw new IllegalStateException("Could not open the H2 database: " + e.getMessage(), e);
            }
        }
        Flyway.configure()
                .dataSource(url.startsWith("jdbc:postgresql:") ? withoutSocketTimeout(dataSource) : dataSource)
                .locations(migrations(url))
                .load()
                .migrate();
    }

    /**
     * The pool's connections without db.socket-timeout, for the migrations: a long one on a large
     * table must not be cut off. (The pool sets the connection's own timeout back when it returns.)
     */
    static DataSource withoutSocketTimeout(DataSource pool) {
        return (DataSource) Proxy.newProxyInstance(Database.class.getClassLoader(), new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
            Object result;
            try {
                result = method.invoke(pool, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            if (result instanceof Connection c) {
                c.setNetworkTimeout(Runnable::run, 0);
            }
            return result;
        });
    }

    /** The migrations every database gets, and H2's own tuning on top (db/h2: versions 2.1, 3.1, ...). */
    static String[] migrations(String url) {
        return url.startsWith("jdbc:h2:")
                ? new String[] {"classpath:db/migration", "classpath:db/h2"}
                : new String[] {"classpath:db/migration"};
    }

    /**
     * Now, as every timestamp column stores it: UTC, to the microsecond (PostgreSQL's precision,
     * so what is read back equals what was written).
     */
    public static OffsetDateTime now(Clock clock) {
        return OffsetDateTime.now(clock).withOffsetSameInstant(ZoneOffset.UTC).truncatedTo(ChronoUnit.MICROS);
    }

    /** Work on a connection inside a transaction. */
    @FunctionalInterface
    public interface InTransaction<T> {
        T run(Connection c) throws SQLException;
    }

    /**
     * Runs the work in one transaction: committed if it returns, rolled back if it throws anything,
     * an Error too. (Turning auto-commit back on commits an open transaction, so it happens only
     * once the transaction has ended: an OutOfMemoryError half-way through a batch must not commit
     * the half.)
     */
    public static <T> T inTransaction(DataSource dataSource, InTransaction<T> work) throws SQLException {
        return inTransaction(dataSource, work, false);
    }

    /**
     * As {@link #inTransaction(DataSource, InTransaction)}; with {@code forceToDisk}, on H2 it also
     * returns only once the commit is on the disk ({@link H2Durability#forceToDisk}). When that
     * fails the commit may or may not survive a power cut, and this throws as if it had failed.
     */
    public static <T> T inTransaction(DataSource dataSource, InTransaction<T> work, boolean forceToDisk) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            T result;
            try {
                result = work.run(c);
                c.commit();
            } catch (Throwable e) {
                try {
                    c.rollback();
                } catch (SQLException | RuntimeException rollbackFailed) {
                    e.addSuppressed(rollbackFailed);
                    // the connection is in doubt: the pool must not hand it out again
                    abort(c);
                    throw e;
                }
                c.setAutoCommit(true);
                throw e;
            }
            c.setAutoCommit(true);
            if (forceToDisk) {
                H2Durability.forceToDisk(c);
            }
            return result;
        }
    }

    private static void abort(Connection c) {
        try {
            c.abort(Runnable::run);
        } catch (SQLException | RuntimeException ignored) {
            // closing it below is all that is left
        }
    }

    /**
     * Undoes one item of a batch written item by item, after it failed with {@code failure}. When
     * the savepoint is gone too (the connection is lost; H2 rolls the whole transaction back on a
     * deadlock), the batch cannot go on: {@code failure} is thrown, with why the rollback failed.
     */
    public static void rollbackTo(Connection c, Savepoint savepoint, SQLException failure) throws SQLException {
        try {
            c.rollback(savepoint);
        } catch (SQLException rollbackFailed) {
            failure.addSuppressed(rollbackFailed);
            throw failure;
        }
    }

    /**
     * H2's "the database has been closed" (90098): what every statement gets once H2 closed itself
     * after a failed write. Only a new start reopens it for the pool's connections.
     */
    static boolean isClosedUnderUs(SQLException e) {
        return inChain(e, sql -> sql.getErrorCode() == ErrorCode.DATABASE_IS_CLOSED && "90098".equals(sql.getSQLState()));
    }

    /** SQLState class 23, integrity constraint violation: 23505 on both H2 and PostgreSQL. */
    static boolean isUniqueViolation(SQLException e) {
        return inChain(e, sql -> "23505".equals(sql.getSQLState()));
    }

    /** Whether the exception or one of its causes is an SQLException that says so: pools and drivers wrap the database's own. */
    private static boolean inChain(SQLException e, Predicate<SQLException> says) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && says.test(sql)) {
                return true;
            }
        }
        return false;
    }
}
