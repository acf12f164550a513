package io.github.telecmicdr.crm;

import io.github.telecmicdr.delivery.Delivery;
import io.github.telecmicdr.delivery.PermanentFailure;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

import java.time.Clock;

/**
 * The request of one CRM forward, once the route has made the call JSON: POST, the headers the CRM
 * reads, and nothing else of the exchange (Camel's own headers would otherwise travel as HTTP ones).
 * <ul>
 * <li>{@code Idempotency-Key: <notification kind>:<cmiuuid>}, the same on every attempt;</li>
 * <li>{@code Authorization} from crm.authorization, when set;</li>
 * <li>the Standard Webhooks headers when crm.signing-secret is set: {@code webhook-id} (the
 * idempotency key), {@code webhook-timestamp} (this attempt, Unix seconds) and
 * {@code webhook-signature} over exactly the bytes sent.</li>
 * </ul>
 */
public final class CrmRequest {

    private final String url;
    private final String authorization;
    private final WebhookSignature signature;
    private final Clock clock;

    /**
     * @param signingSecret crm.signing-secret ({@code whsec_<base64>} or raw), empty for none
     */
    public CrmRequest(String url, String authorization, String signingSecret, Clock clock) {
        this.url = url;
        this.authorization = authorization;
        this.signature = signingSecret.isEmpty() ? null : new WebhookSignature(signingSecret);
        this.clock = clock;
    }

    /** Turns the exchange into the request: its body (the call as JSON) is sent as it is and signed as it is. */
    public void prepare(Exchange exchange) {
        if (url.isEmpty()) {
            // planned while crm.url was set: it will not be sent anywhere until it is set again
            throw new PermanentFailure("crm.url is not set");
        }
        Delivery delivery = exchange.getVariable("delivery", Delivery.class);
        int query = url.indexOf('?');
        exchange.setVariable("crmEndpoint", query < 0 ? url : url.substring(0, query));
        Message message = exchange.getMessage();
        byte[] body = message.getBody(byte[].class);
        message.removeHeaders("*");
        message.setBody(body);
        message.setHeader(Exchange.HTTP_METHOD, "POST");
        if (query >= 0) {
            // sent as written: an endpoint's options after it would otherwise be read as part of its last value
            message.setHeader(Exchange.HTTP_RAW_QUERY, url.substring(query + 1));
            message.setHeader(Exchange.HTTP_QUERY, url.substring(query + 1));
        }
        message.setHeader(Exchange.CONTENT_TYPE, "application/json");
        String key = delivery.notificationKey();
        message.setHeader("Idempotency-Key", key);
        if (!authorization.isEmpty()) {
            message.setHeader("Authorization", authorization);
        }
        if (signature != null) {
            long timestamp = clock.instant().getEpochSecond();
            message.setHeader("webhook-id", key);
            message.setHeader("webhook-timestamp", String.valueOf(timestamp));
            message.setHeader("webhook-signature", signature.sign(key, timestamp, body));
        }
    }
}
