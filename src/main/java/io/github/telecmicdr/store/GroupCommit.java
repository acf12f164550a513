package io.github.telecmicdr.store;

import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Group commit: callers on many threads hand in writes; one writer thread puts everything waiting
 * into one transaction, commits once, then answers them all. Each caller returns only after the
 * commit that holds its write, so nothing is answered before it is durable, and a commit (which on
 * H2 rewrites every page the transaction touched) is paid once per batch instead of once per write.
 *
 * @param <T> what a caller hands in
 * @param <R> what it gets back once committed
 */
public final class GroupCommit<T, R> extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(GroupCommit.class);

    /** Writes one batch inside an open transaction; answers one R, or one SQLException, per item. */
    public interface BatchWrite<T, R> {
        Object[] write(Connection c, List<T> items) throws SQLException;

        /**
         * Called, after a rollback, when {@link #write} failed: writes the items so that a failure
         * stays with the item that caused it (e.g. a savepoint each). By default the batch fails.
         */
        default Object[] writeIsolated(Connection c, List<T> items, SQLException failure) throws SQLException {
            throw failure;
        }
    }

    private record Pending<T, R>(T item, CompletableFuture<R> answer) {
    }

    private final DataSource dataSource;
    private final int maxBatch;
    private final BatchWrite<T, R> batchWrite;
    private final BlockingQueue<Pending<T, R>> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private volatile boolean running = true;

    public GroupCommit(String name, DataSource dataSource, int maxBatch, BatchWrite<T, R> batchWrite) {
        this.dataSource = dataSource;
        this.maxBatch = maxBatch;
        this.batchWrite = batchWrite;
        this.writer = new Thread(this::writeLoop, name);
        this.writer.setDaemon(true);
        this.writer.start();
    }

    /** Hands in one write and waits for the commit that holds it. */
    public R submit(T item) throws SQLException {
        if (!running) {
            throw new SQLException("the service is stopping; nothing was written");
        }
        Pending<T, R> pending = new Pending<>(item, new CompletableFuture<>());
        queue.add(pending);
        try {
            return pending.answer().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while waiting for the commit", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SQLException sql) {
                throw sql;
            }
            throw new SQLException("the write failed: " + e.getCause(), e.getCause());
        }
    }

    private void writeLoop() {
        List<Pending<T, R>> batch = new ArrayList<>(maxBatch);
        while (running || !queue.isEmpty()) {
            try {
                Pending<T, R> first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, maxBatch - 1);
                commit(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException e) {
                LOG.error("{} failed", writer.getName(), e);
                batch.forEach(p -> p.answer().completeExceptionally(e));
            } finally {
                batch.clear();
            }
        }
        SQLException stopped = new SQLException("the service stopped; nothing was written");
        queue.forEach(p -> p.answer().completeExceptionally(stopped));
    }

    @SuppressWarnings("unchecked")
    private void commit(List<Pending<T, R>> batch) {
        List<T> items = batch.stream().map(Pending::item).toList();
        Object[] outcomes;
        try {
            outcomes = Database.inTransaction(dataSource, c -> {
                try {
                    return batchWrite.write(c, items);
                } catch (SQLException e) {
                    c.rollback();
                    return batchWrite.writeIsolated(c, items, e);
                }
            });
        } catch (SQLException e) {
            batch.forEach(p -> p.answer().completeExceptionally(e));
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            if (outcomes[i] instanceof SQLException refused) {
                batch.get(i).answer().completeExceptionally(refused);
            } else {
                batch.get(i).answer().complete((R) outcomes[i]);
            }
        }
    }

    @Override
    protected void doStop() throws InterruptedException {
        running = false;
        writer.join(10_000);
    }
}
