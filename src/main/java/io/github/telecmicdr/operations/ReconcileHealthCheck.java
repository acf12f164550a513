package io.github.telecmicdr.operations;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.util.Map;
import java.util.function.Supplier;

/**
 * Reconciliation with TeleCMI's pull API, in the health details: on, off (and why) or stopped
 * (TeleCMI refused the credentials), its last success and last error. Always UP: webhooks are
 * still received and stored, so neither a load balancer nor an orchestrator should act on it; it
 * is what an operator reads ({@code /observe/health?exposureLevel=full}).
 */
public final class ReconcileHealthCheck extends AbstractHealthCheck {

    private final Supplier<Map<String, Object>> details;

    public ReconcileHealthCheck(Supplier<Map<String, Object>> details) {
        super("cdr-router", "reconciliation");
        this.details = details;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        Map<String, Object> d = details.get();
        d.forEach(builder::detail);
        Object reason = d.get("reason");
        if (reason != null) {
            builder.message("reconciliation is " + d.get("state") + ": " + reason);
        }
        builder.up();
    }
}
