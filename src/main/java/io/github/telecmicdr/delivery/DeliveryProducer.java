package io.github.telecmicdr.delivery;

import io.github.telecmicdr.telecmi.TelecmiNotification;
import org.apache.camel.Exchange;
import org.apache.camel.support.DefaultProducer;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code to: delivery:<kind>} in the webhook route plans a delivery of that kind for the
 * notification being received. Nothing is written here: the kind joins the exchange's
 * {@value #PLANNED} list, and the notification store writes it in the same transaction as the
 * notification (a duplicate notification plans nothing).
 */
public final class DeliveryProducer extends DefaultProducer {

    /** The variable holding the kinds planned so far. */
    public static final String PLANNED = "plannedDeliveries";

    private final String kind;

    DeliveryProducer(DeliveryEndpoint endpoint) {
        super(endpoint);
        this.kind = endpoint.getKind();
    }

    @Override
    public void process(Exchange exchange) {
        Object body = exchange.getMessage().getBody();
        if (!(body instanceof TelecmiNotification)) {
            // elsewhere it would plan nothing, silently: nothing stores what it adds
            throw new IllegalStateException("to: delivery:" + kind + " plans a delivery for the notification being received:"
                    + " it belongs in the webhook route's fan-out (direct:plan-and-store), before notificationStore's store step"
                    + " (here the body is "
                    + (body == null ? "empty" : body.getClass().getSimpleName()) + ")");
        }
        plan(exchange, kind);
    }

    /** Adds the kind to the exchange's planned deliveries (once). */
    static void plan(Exchange exchange, String kind) {
        @SuppressWarnings("unchecked")
        List<String> planned = exchange.getVariable(PLANNED, List.class);
        if (planned == null) {
            planned = new ArrayList<>(2);
            exchange.setVariable(PLANNED, planned);
        }
        if (!planned.contains(kind)) {
            planned.add(kind);
        }
    }
}
