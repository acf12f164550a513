package io.github.telecmicdr.delivery;

import io.github.telecmicdr.store.StoredNotifications;
import org.apache.camel.Endpoint;
import org.apache.camel.support.DefaultComponent;

import java.util.Map;

/**
 * {@code delivery:<kind>}. As {@code to:} in the webhook route, it plans a delivery of that kind for
 * the notification ({@link DeliveryProducer}). As {@code from:}, it is where the route that works
 * deliveries of that kind starts ({@link DeliveryConsumer}): it claims due
 * deliveries of that kind with a lease, hands each to the route's steps, and marks it done when they
 * succeed, retries it with backoff when they throw, and fails it when they throw a
 * {@link PermanentFailure} or it has used up its attempts or its age. A component rather than a
 * kamelet: the lease, the claims and the outcome need Java, and a component shows in YAML and in
 * Kaoto as one plain {@code from: delivery:alert-email} with its options.
 */
public final class DeliveryComponent extends DefaultComponent {

    /** A delivery kind: what the delivery table's kind column (32) holds, as names in a URI read. */
    static final java.util.regex.Pattern KIND = java.util.regex.Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");

    private final Deliveries deliveries;
    private final StoredNotifications notifications;
    private final DeliveryEndpoint.Defaults defaults;

    /** @param notifications what each delivery's steps are handed as the body: its stored notification */
    public DeliveryComponent(Deliveries deliveries, StoredNotifications notifications, DeliveryEndpoint.Defaults defaults) {
        this.deliveries = deliveries;
        this.notifications = notifications;
        this.defaults = defaults;
    }

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        if (remaining == null || !KIND.matcher(remaining).matches()) {
            throw new IllegalArgumentException("delivery:<kind> needs a kind of 1-32 lower-case letters, digits and dashes, not '" + remaining + "'");
        }
        DeliveryEndpoint endpoint = new DeliveryEndpoint(uri, this, remaining, deliveries, notifications, defaults);
        setProperties(endpoint, parameters);
        return endpoint;
    }
}
