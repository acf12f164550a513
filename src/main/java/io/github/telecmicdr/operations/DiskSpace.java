package io.github.telecmicdr.operations;

import io.github.telecmicdr.Problem;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Free space on the data folder's disk. Below {@code disk.min-free-bytes} the webhook answers 503
 * (TeleCMI retries later) rather than acknowledge what it may fail to write, and readiness is DOWN.
 * Read at most once a second: the webhook asks on every request.
 */
public final class DiskSpace extends AbstractHealthCheck implements Processor {

    private static final long RECHECK_NANOS = 1_000_000_000L;

    private final Path dataDir;
    private final long minFreeBytes;
    private volatile long checkedAt;
    private volatile long usable = Long.MAX_VALUE;

    public DiskSpace(Path dataDir, long minFreeBytes) {
        super("cdr-router", "disk");
        this.dataDir = dataDir;
        this.minFreeBytes = minFreeBytes;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    /** A webhook step ({@code process}, no bean binding per request): 503 with Retry-After while the disk is (nearly) full. */
    @Override
    public void process(Exchange exchange) {
        checkRoom();
    }

    void checkRoom() {
        if (usableBytes() < minFreeBytes) {
            throw new Problem(503, "the disk of the data folder is nearly full; nothing was stored, please retry");
        }
    }

    long usableBytes() {
        long now = System.nanoTime();
        if (checkedAt == 0 || now - checkedAt > RECHECK_NANOS) {
            try {
                FileStore store = Files.getFileStore(dataDir);
                usable = store.getUsableSpace();
            } catch (IOException e) {
                usable = 0;
            }
            checkedAt = now;
        }
        return usable;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        long free = usableBytes();
        builder.detail("usable_bytes", free).detail("min_free_bytes", minFreeBytes);
        if (free < minFreeBytes) {
            builder.message("only " + free + " bytes free on the data folder's disk, below disk.min-free-bytes " + minFreeBytes).down();
        } else {
            builder.up();
        }
    }
}
