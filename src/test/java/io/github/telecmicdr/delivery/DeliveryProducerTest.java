package io.github.telecmicdr.delivery;

import io.github.telecmicdr.telecmi.TelecmiNotification;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code to: delivery:<kind>} plans for the notification being received, and says so anywhere else instead of planning nothing. */
class DeliveryProducerTest {

    @Test
    void plansEachKindOnceForTheNotificationBeingReceived() throws Exception {
        try (CamelContext context = context()) {
            ProducerTemplate template = context.createProducerTemplate();
            TelecmiNotification notification = new TelecmiNotification("incoming-missed-cdr", "c-1", null, "POST", "{}", null);
            Exchange exchange = template.request("delivery:crm-forward", e -> e.getMessage().setBody(notification));
            template.send("delivery:crm-forward", exchange);
            template.send("delivery:esb-publish", exchange);
            assertEquals(List.of("crm-forward", "esb-publish"), exchange.getVariable(DeliveryProducer.PLANNED, List.class));
        }
    }

    @Test
    void refusesToPlanWhereNothingStoresIt() throws Exception {
        try (CamelContext context = context()) {
            CamelExecutionException e = assertThrows(CamelExecutionException.class,
                    () -> context.createProducerTemplate().sendBody("delivery:crm-forward", "a stored receipt"));
            assertTrue(e.getCause() instanceof IllegalStateException, e.toString());
            assertTrue(e.getCause().getMessage().contains("belongs in the webhook route"), e.getCause().getMessage());
        }
    }

    private static CamelContext context() {
        CamelContext context = new DefaultCamelContext();
        context.addComponent("delivery", new DeliveryComponent(null, null, new DeliveryEndpoint.Defaults(1, 100, 1, Duration.ofHours(1))));
        context.start();
        return context;
    }
}
