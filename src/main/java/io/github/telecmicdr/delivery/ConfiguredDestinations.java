package io.github.telecmicdr.delivery;

import io.github.telecmicdr.telecmi.TelecmiNotification;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The destinations added by configuration, planned in the webhook route: every kind listed in
 * {@code delivery.destinations} gets a delivery for each new notification whose kind is in its
 * {@code delivery.<kind>.notification-kinds} (default {@code *}: every kind). A destination is
 * then one route file starting {@code from: delivery:<kind>} and that one line of configuration;
 * a destination that plans on a condition says so in the webhook route instead ({@code to:
 * delivery:<kind>} inside a filter, as the alerts do).
 */
public final class ConfiguredDestinations implements Processor {

    private final Map<String, Set<String>> notificationKinds;

    /** @param setting a property by name, or null when it is not set */
    public ConfiguredDestinations(String destinations, Function<String, String> setting) {
        Map<String, Set<String>> kinds = new LinkedHashMap<>();
        for (String kind : list(destinations)) {
            // as delivery:<kind> takes it, and as the delivery table's kind column holds it
            if (!DeliveryComponent.KIND.matcher(kind).matches()) {
                throw new IllegalArgumentException("delivery.destinations: '" + kind + "' is not a delivery kind"
                        + " (1-32 lower-case letters, digits and dashes)");
            }
            kinds.put(kind, list(setting.apply("delivery." + kind + ".notification-kinds")));
        }
        this.notificationKinds = Map.copyOf(kinds);
    }

    @Override
    public void process(Exchange exchange) {
        String notificationKind = exchange.getMessage().getBody(TelecmiNotification.class).kind();
        notificationKinds.forEach((kind, forKinds) -> {
            if (forKinds.isEmpty() || forKinds.contains("*") || forKinds.contains(notificationKind)) {
                DeliveryProducer.plan(exchange, kind);
            }
        });
    }

    /** The kinds planned this way, for the start-up log. */
    public Set<String> kinds() {
        return notificationKinds.keySet();
    }

    private static Set<String> list(String value) {
        return value == null ? Set.of() : Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
    }
}
