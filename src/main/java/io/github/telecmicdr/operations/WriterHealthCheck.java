package io.github.telecmicdr.operations;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The group-commit writers (notifications, delivery completions): DOWN when one has stopped, holds
 * a batch or leaves a write waiting beyond its bound, or found the embedded H2 database closed
 * under it (after a failed write). A writer that died or hangs answers
 * every webhook 503 while the database itself is fine, so this is liveness as well as readiness:
 * restarting the process is the cure.
 */
public final class WriterHealthCheck extends AbstractHealthCheck {

    private final Map<String, Supplier<String>> writers;

    /** @param writers by name, each answering null while it works, else what is wrong */
    public WriterHealthCheck(Map<String, Supplier<String>> writers) {
        super("cdr-router", "writers");
        this.writers = new TreeMap<>(writers);
    }

    /** Camel counts a check for readiness only unless it says otherwise. */
    @Override
    public boolean isLiveness() {
        return true;
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
