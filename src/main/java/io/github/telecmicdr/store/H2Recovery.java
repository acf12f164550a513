package io.github.telecmicdr.store;

import com.zaxxer.hikari.HikariDataSource;
import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.mvstore.db.Store;
import org.h2.mvstore.tx.Transaction;
import org.h2.mvstore.tx.TransactionStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Finishes the commits a crash left half-applied in an embedded H2 file, before Flyway or any route
 * writes to it.
 * <p>
 * A commit in H2 first marks the transaction's undo log committed, then applies it. When another
 * commit writes the file in between and the process dies (a {@code kill -9}, a power cut), the file
 * holds a transaction marked committed and not applied. Reopening recovers it as committed, and
 * H2 2.5.252's {@code TransactionStore.endLeftoverTransactions} calls {@code Transaction.commit()}
 * on it, which skips a transaction that is no longer active: it is neither applied nor ended, and
 * every row it wrote stays locked by a transaction nobody will finish. Any later UPDATE of such a
 * row spins at full CPU or times out; the lock outlives restarts, since the file keeps it.
 * CrashUnderLoadIT met it as deliveries never recorded done after a crash, Flyway's start as a hang.
 * <p>
 * This does what H2's recovery means to do: applies each such undo log as committed (its
 * {@code commit(transaction, recovery=true)}) and ends the transaction. Both are package-private in
 * H2, hence the reflection; {@code H2RecoveryTest} builds such a file and fails when an H2 upgrade
 * changes them, or fixes the defect so that H2 alone leaves nothing behind. A server URL
 * ({@code jdbc:h2:tcp:}) is the server's to recover: nothing is done here.
 */
final class H2Recovery {

    private static final Logger LOG = LoggerFactory.getLogger(H2Recovery.class);

    private H2Recovery() {
    }

    /**
     * Finishes every transaction the file holds as committed and not applied, then, if there was
     * any, closes the database (SHUTDOWN): H2 read its schema before the repair, and a repaired
     * commit may have been a migration's DDL, so the next connection opens it afresh. Returns how
     * many it finished; 0 for anything but an embedded H2 database.
     */
    static int finishLeftoverCommits(DataSource dataSource) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            if (!(c.isWrapperFor(JdbcConnection.class) && c.unwrap(JdbcConnection.class).getSession() instanceof SessionLocal session)) {
                return 0;
            }
            Store store = session.getDatabase().getStore();
            if (store == null || store.getMvStore().isReadOnly()) {
                return 0;
            }
            TransactionStore transactions = store.getTransactionStore();
            List<Transaction> leftover = leftoverCommits(transactions);
            if (leftover.isEmpty()) {
                return 0;
            }
            Method apply = internal("commit");
            Method end = internal("endTransaction");
            for (Transaction t : leftover) {
                apply.invoke(transactions, t, true);
                end.invoke(transactions, t, true);
            }
            LOG.warn("The H2 file held {} transaction(s) committed but not applied (ids {}) when the service last stopped without"
                    + " closing it (a kill -9 or a power cut); applied them now, which H2 does not do itself, and reopening the database",
                    leftover.size(), leftover.stream().map(Transaction::getId).toList());
            // closes the database, and with it every session on it, this one's too: the pool is
            // told first, so that it drops them all (this one on its return) and opens new ones
            if (dataSource instanceof HikariDataSource pool) {
                pool.getHikariPoolMXBean().softEvictConnections();
            }
            c.createStatement().execute("SHUTDOWN");
            return leftover.size();
        } catch (ReflectiveOperationException e) {
            Throwable cause = e instanceof InvocationTargetException ite && ite.getCause() != null ? ite.getCause() : e;
            throw new IllegalStateException("Could not finish the commits a crash left in the H2 file (" + cause
                    + "): their rows would stay locked. This works around a defect of H2 2.5.252; see H2Recovery.", cause);
        }
    }

    /** The transactions the file held as committed and not applied: H2 registered them at open, without an owner. */
    static List<Transaction> leftoverCommits(TransactionStore transactions) throws ReflectiveOperationException {
        // a live transaction is COMMITTED for a moment too, while it commits (the pool opens
        // sessions meanwhile): only what the file held has no owner, every session being >= 1
        Field owner = Transaction.class.getDeclaredField("ownerId");
        owner.setAccessible(true);
        List<Transaction> leftover = new ArrayList<>();
        for (Transaction t : transactions.getOpenTransactions()) {
            if (t.getStatus() == Transaction.STATUS_COMMITTED && owner.getInt(t) == 0) {
                leftover.add(t);
            }
        }
        return leftover;
    }

    private static Method internal(String name) throws NoSuchMethodException {
        Method m = TransactionStore.class.getDeclaredMethod(name, Transaction.class, boolean.class);
        m.setAccessible(true);
        return m;
    }
}
