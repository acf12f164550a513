package io.github.telecmicdr.store;

import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.mvstore.db.Store;
import org.h2.mvstore.tx.Transaction;
import org.h2.mvstore.tx.TransactionStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * Finishes the commits a crash left half-applied in the embedded H2 file, before anything else
 * uses the database.
 * <p>
 * A commit in H2 first marks the transaction's undo log committed, then applies it. When another
 * commit writes the file in between and the process dies (a {@code kill -9}, a power cut), the file
 * holds a transaction marked committed and not applied. Reopening recovers it as committed, and
 * H2 2.5.252's {@code TransactionStore.endLeftoverTransactions} calls {@code Transaction.commit()}
 * on it, which skips a transaction that is no longer active: it is neither applied nor ended, and
 * every row it wrote stays locked by a transaction nobody will finish. Any later UPDATE of such a
 * row spins at full CPU and LOCK_TIMEOUT never fires; the lock outlives restarts, since the file
 * keeps it. CrashUnderLoadIT met it as deliveries that were never recorded done after a crash.
 * <p>
 * This does what H2's recovery means to do: applies each such undo log as committed (its
 * {@code commit(transaction, recovery=true)}) and ends the transaction. Both are package-private in
 * H2, hence the reflection; {@code H2RecoveryTest} builds such a file and fails when an H2 upgrade
 * changes either method, or fixes the defect so that this finds nothing left to do.
 */
public final class H2Recovery {

    private static final Logger LOG = LoggerFactory.getLogger(H2Recovery.class);

    private H2Recovery() {
    }

    /**
     * Finishes every transaction the file holds as committed and not applied; how many it found.
     * Call it right after the database opens, before any other work: a commit in flight looks the
     * same for a moment. Not an embedded H2 database: nothing to do, 0.
     */
    public static int finishLeftoverCommits(DataSource dataSource) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            if (!(c.isWrapperFor(JdbcConnection.class) && c.unwrap(JdbcConnection.class).getSession() instanceof SessionLocal session)) {
                return 0;
            }
            Store store = session.getDatabase().getStore();
            if (store == null || store.getMvStore().isReadOnly()) {
                return 0;
            }
            TransactionStore transactions = store.getTransactionStore();
            List<Transaction> leftover = transactions.getOpenTransactions().stream()
                    .filter(t -> t.getStatus() == Transaction.STATUS_COMMITTED)
                    .toList();
            if (leftover.isEmpty()) {
                return 0;
            }
            Method apply = internal("commit");
            Method end = internal("endTransaction");
            for (Transaction t : leftover) {
                apply.invoke(transactions, t, true);
                end.invoke(transactions, t, true);
            }
            store.getMvStore().commit();
            LOG.warn("The H2 file held {} transaction(s) committed but not applied when the service last stopped without closing it"
                    + " (a kill -9 or a power cut); applied them now, which H2 does not do itself", leftover.size());
            return leftover.size();
        } catch (ReflectiveOperationException e) {
            Throwable cause = e instanceof InvocationTargetException ite && ite.getCause() != null ? ite.getCause() : e;
            throw new IllegalStateException("Could not finish the commits a crash left in the H2 file (" + cause
                    + "): their rows would stay locked. This works around a defect of H2 2.5.252; see H2Recovery.", cause);
        }
    }

    private static Method internal(String name) throws NoSuchMethodException {
        Method m = TransactionStore.class.getDeclaredMethod(name, Transaction.class, boolean.class);
        m.setAccessible(true);
        return m;
    }
}
