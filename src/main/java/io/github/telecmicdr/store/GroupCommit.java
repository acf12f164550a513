package io.github.telecmicdr.store;

import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

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

        /**
         * Whether a commit must be on the disk before its callers are answered: on H2 the file is
         * then forced after each commit ({@link H2Durability#forceToDisk}), once for the batch.
         */
        default boolean forceToDisk() {
            return false;
        }
    }

    /** The caller stopped waiting: its write was not committed yet, and may or may not be later. */
    public static final class CommitTimeout extends SQLTransientException {
        CommitTimeout(String message) {
            super(message);
        }
    }

    private record Pending<T, R>(T item, CompletableFuture<R> answer, long since) {
    }

    private final DataSource dataSource;
    private final int maxBatch;
    private final BatchWrite<T, R> batchWrite;
    private final long waitBoundNanos;
    private final BlockingQueue<Pending<T, R>> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private volatile boolean running = true;
    /** The batch in the writer's hands, for the health check: when it was taken (0: none). */
    private volatile long batchTakenAt;
    /** Callers waiting for their commit right now. */
    private final AtomicInteger waiting = new AtomicInteger();
    /** Set for good once the embedded database was closed under the writer (see {@link #problem}). */
    private volatile String databaseClosed;

    /**
     * @param waitBound how long a caller waits for its commit before giving up (the write may still
     *                  commit later: a retry of it is then a duplicate); the health check reports a
     *                  writer that holds a batch or leaves writes waiting longer than this
     */
    public GroupCommit(String name, DataSource dataSource, int maxBatch, Duration waitBound, BatchWrite<T, R> batchWrite) {
        this.dataSource = dataSource;
        this.maxBatch = maxBatch;
        this.batchWrite = batchWrite;
        this.waitBoundNanos = waitBound.toNanos();
        this.writer = new Thread(this::writeLoop, name);
        this.writer.setDaemon(true);
        this.writer.start();
    }

    /**
     * Hands in one write and waits for the commit that holds it, at most the wait bound: a writer
     * that is stuck (or a database that takes that long) must not hold every caller for good.
     */
    public R submit(T item) throws SQLException {
        if (!running) {
            throw new SQLException("the service is stopping; nothing was written");
        }
        Pending<T, R> pending = new Pending<>(item, new CompletableFuture<>(), System.nanoTime());
        // counted once queued: a caller counted is one the writer can take
        queue.add(pending);
        waiting.incrementAndGet();
        try {
            return pending.answer().get(waitBoundNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            queue.remove(pending);
            throw new SQLException("interrupted while waiting for the commit", e);
        } catch (TimeoutException e) {
            // still queued: never written; already taken: it may commit, and a retry is a duplicate
            queue.remove(pending);
            throw new CommitTimeout("no commit within " + Duration.ofNanos(waitBoundNanos).toMillis()
                    + " ms (" + writer.getName() + " is stuck or the database is too slow); retry later");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SQLException sql) {
                throw sql;
            }
            throw new SQLException("the write failed: " + e.getCause(), e.getCause());
        } finally {
            waiting.decrementAndGet();
        }
    }

    /** How many callers are waiting for their commit right now. */
    public int waiting() {
        return waiting.get();
    }

    /**
     * Null while the writer works, else why not: its thread ended, or it has held a batch, or left
     * a write waiting, for longer than the wait bound.
     */
    public String problem() {
        String failure = failure();
        if (failure != null || !writer.isAlive()) {
            return failure;
        }
        long now = System.nanoTime();
        long taken = batchTakenAt;
        if (taken != 0 && now - taken > waitBoundNanos) {
            return writer.getName() + " has been committing one batch for " + TimeUnit.NANOSECONDS.toSeconds(now - taken) + " s";
        }
        Pending<T, R> oldest = queue.peek();
        if (oldest != null && now - oldest.since() > waitBoundNanos) {
            return writer.getName() + " has left a write waiting for " + TimeUnit.NANOSECONDS.toSeconds(now - oldest.since()) + " s";
        }
        return null;
    }

    /**
     * Null while the writer can work, else what only a restart cures: the writer stopped, or the H2
     * database was closed under it (a slow or unreachable database is not one: {@link #problem}).
     */
    public String failure() {
        if (!writer.isAlive()) {
            return running ? writer.getName() + " has stopped" : null;
        }
        return databaseClosed;
    }

    private void writeLoop() {
        List<Pending<T, R>> batch = new ArrayList<>(maxBatch);
        while (running || !queue.isEmpty()) {
            try {
                Pending<T, R> first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batchTakenAt = System.nanoTime();
                batch.add(first);
                queue.drainTo(batch, maxBatch - 1);
                commit(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Throwable e) {
                // an Error too (OutOfMemoryError, StackOverflowError): its callers get an answer
                // (503, retry) instead of waiting, and the writer goes on with the next batch
                LOG.error("{} failed", writer.getName(), e);
                SQLException failed = new SQLException("the write failed: " + e.getClass().getSimpleName(), e);
                batch.forEach(p -> p.answer().completeExceptionally(failed));
            } finally {
                batch.clear();
                batchTakenAt = 0;
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
            }, batchWrite.forceToDisk());
        } catch (SQLException e) {
            if (running && Database.isClosedUnderUs(e)) {
                // H2 closes itself when a write fails (a full disk, an I/O error) and stays closed for
                // the pooled connections: every later write fails, although the disk may be fine again
                databaseClosed = writer.getName() + ": the H2 database was closed under the service (after a failed"
                        + " write: a full disk, an I/O error); restart the service to reopen it";
                LOG.error("{}", databaseClosed);
            }
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
