package io.github.telecmicdr.webhook;

import io.github.telecmicdr.Problem;
import io.github.telecmicdr.operations.CdrMetrics;
import io.github.telecmicdr.store.StoreReceipt;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One log line and one count per webhook delivery (and a timer for those answered 200): what it was (kind, cmiuuid), what became of it
 * (stored, duplicate, or refused and why) and how long it took. Never the token or the body.
 */
public final class WebhookOutcomes {

    private static final Logger LOG = LoggerFactory.getLogger("io.github.telecmicdr.webhook");

    private final CdrMetrics metrics;

    public WebhookOutcomes(CdrMetrics metrics) {
        this.metrics = metrics;
    }

    /** The last step of the webhook route: the receipt is the body. */
    public void answered(Exchange exchange) {
        StoreReceipt receipt = exchange.getMessage().getBody(StoreReceipt.class);
        long millis = exchange.getClock().elapsed();
        metrics.answered(receipt.kind(), receipt.status(), millis);
        LOG.info("webhook {} kind={} cmiuuid={} outcome={} in {} ms", exchange.getVariable("httpMethod", "POST", String.class),
                receipt.kind(), receipt.cmiuuid(), receipt.status(), millis);
    }

    /** Refused inside the route (after the body was read). */
    public void refused(Exchange exchange, Problem problem) {
        metrics.notification(CdrMetrics.UNKNOWN_KIND, "rejected", reason(problem.status()));
        LOG.info("webhook {} outcome=rejected status={} field={} in {} ms: {}", exchange.getVariable("httpMethod", "POST", String.class),
                problem.status(), problem.field(), exchange.getClock().elapsed(), problem.detail());
    }

    /** Refused at the HTTP edge, before the body was read. */
    public void refusedAtEdge(String method, Problem problem) {
        metrics.notification(CdrMetrics.UNKNOWN_KIND, "rejected", reason(problem.status()));
        LOG.info("webhook {} outcome=rejected status={} field={} before the body was read: {}", method, problem.status(),
                problem.field(), problem.detail());
    }

    static String reason(int status) {
        return switch (status) {
            case 400 -> "bad_request";
            case 401 -> "unauthorized";
            case 403 -> "forbidden_appid";
            case 408 -> "timeout";
            case 413 -> "too_large";
            case 415 -> "unsupported_media_type";
            case 503 -> "database_unavailable";
            default -> "error";
        };
    }
}
