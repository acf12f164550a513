package io.github.telecmicdr.operations;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The group-commit writers (notifications, delivery completions). Two checks of this class:
 * {@code writers} (readiness) is DOWN while one holds a batch or leaves a write waiting beyond its
 * bound (a slow or unreachable database, which recovers by itself) and whenever
 * {@code writers-alive} is; {@code writers-alive} (liveness) is DOWN only for what a restart cures:
 * a writer that stopped, or an H2 database closed under it after a failed write.
 */
public final class WriterHealthCheck extends AbstractHealthCheck {

    private final Map<String, Supplier<String>> writers;
    private final boolean liveness;

    /**
     * @param writers  by name, each answering null while it works, else what is wrong
     * @param liveness a liveness check (and not a readiness one), else a readiness check
     */
    public WriterHealthCheck(String id, Map<String, Supplier<String>> writers, boolean liveness) {
        super("cdr-router", id);
        this.writers = new TreeMap<>(writers);
        this.liveness = liveness;
    }

    /** Camel counts a check for readiness only unless it says otherwise. */
    @Override
    public boolean isLiveness() {
        return liveness;
    }

    @Override
    public boolean isReadiness() {
        return !liveness;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        StringBuilder problems = new StringBuilder();
        writers.forEach((name, problem) -> {
            String p = problem.get();
            if (p != null) {
                problems.append(problems.isEmpty() ? "" : "; ").append(name).append(": ").append(p);
            }
        });
        if (problems.isEmpty()) {
            builder.up();
        } else {
            builder.message(problems.toString()).down();
        }
    }
}
