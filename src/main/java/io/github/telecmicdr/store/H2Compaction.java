package io.github.telecmicdr.store;

import org.apache.camel.support.service.ServiceSupport;
import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keeps the embedded H2 file from growing without end. {@code WRITE_DELAY=0} (each commit written
 * before the answer) also turns off H2's background writer, and with it the housekeeping that
 * rewrites the live pages of mostly-empty chunks: with random cmiuuid keys almost every chunk keeps
 * a few live pages, so no chunk was ever freed and the file grew by ~20 KB per CDR, for good. This
 * asks H2 to rewrite the sparsest chunks at a fixed pace; the rewritten pages go out with the next
 * commit, and the chunks they leave are reused once H2's retention time has passed.
 */
public final class H2Compaction extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(H2Compaction.class);
    /** Rewrite while live pages fill less than this share of the chunks on file. */
    static final int TARGET_FILL_RATE = 80;
    /**
     * At most this many bytes of pages rewritten per round. A round holds H2's store lock, so every
     * commit waits for it: 1 MB rounds took 10-33 ms and made the p99 of requests 37-54 ms once old
     * chunks were due; 256 KB rounds (4 times as often) take 5-9 ms, p99 16 ms.
     */
    static final int BYTES_PER_ROUND = 256 * 1024;

    private final DataSource dataSource;
    private final long periodMs;
    private ScheduledExecutorService timer;
    /** The last round failed (read and written by the timer's one thread only). */
    private boolean failing;

    public H2Compaction(DataSource dataSource, long periodMs) {
        this.dataSource = dataSource;
        this.periodMs = periodMs;
    }

    /** Whether the URL names H2; {@link #compactOnce} skips what is not an embedded file. */
    public static boolean appliesTo(String jdbcUrl) {
        return jdbcUrl.startsWith("jdbc:h2:");
    }

    /**
     * One round: rewrites up to {@link #BYTES_PER_ROUND} of the sparsest chunks. False when nothing
     * was due, or the database is not an embedded, writable file (in memory, or an H2 server).
     */
    public boolean compactOnce() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            if (!(c.unwrap(JdbcConnection.class).getSession() instanceof SessionLocal session)) {
                return false;
            }
            MVStore store = session.getDatabase().getStore().getMvStore();
            return store.getFileStore() != null && !store.isReadOnly() && store.compact(TARGET_FILL_RATE, BYTES_PER_ROUND);
        }
    }

    @Override
    protected void doStart() {
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "h2-compaction");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(() -> {
            try {
                compactOnce();
                if (failing) {
                    LOG.info("H2 compaction rounds run again");
                    failing = false;
                }
            } catch (SQLException | RuntimeException e) {
                // once, not every round: a full disk would otherwise get a line 16 times a second
                if (!failing) {
                    LOG.warn("H2 compaction round failed, and is tried again every {} ms without saying so until one runs: {}",
                            periodMs, e.toString());
                    failing = true;
                }
            }
        }, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() throws InterruptedException {
        if (timer != null) {
            timer.shutdownNow();
            timer.awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
