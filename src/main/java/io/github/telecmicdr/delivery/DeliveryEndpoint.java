package io.github.telecmicdr.delivery;

import io.github.telecmicdr.store.StoredNotifications;
import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.spi.Metadata;
import org.apache.camel.spi.UriEndpoint;
import org.apache.camel.spi.UriParam;
import org.apache.camel.spi.UriPath;
import org.apache.camel.support.DefaultEndpoint;

import java.time.Duration;
import java.util.Optional;

/**
 * The deliveries of one kind. Each option can be set on the URI, else by the property
 * {@code delivery.<kind>.<option>}, else by the global {@code delivery.<option>}, else its default.
 */
@UriEndpoint(firstVersion = "4.18.0", scheme = "delivery", title = "Delivery", syntax = "delivery:kind",
        category = {org.apache.camel.Category.MESSAGING})
public final class DeliveryEndpoint extends DefaultEndpoint {

    /** The service-wide defaults (delivery.* settings). */
    public record Defaults(int concurrency, long pollIntervalMs, int maxAttempts, Duration maxAge) {
    }

    @UriPath(description = "The delivery kind: 1-32 lower-case letters, digits and dashes, e.g. alert-email")
    @Metadata(required = true)
    private final String kind;
    private final Deliveries deliveries;
    private final StoredNotifications notifications;
    private final Defaults defaults;
    @UriParam(label = "consumer", description = "Deliveries of this kind worked at once; else delivery.<kind>.concurrency,"
            + " else delivery.concurrency (16)")
    private Integer concurrency;
    @UriParam(label = "consumer", description = "How often due deliveries are looked for while none is due, in milliseconds;"
            + " else delivery.<kind>.poll-interval-ms, else delivery.poll-interval-ms (500)")
    private Long pollIntervalMs;
    @UriParam(label = "consumer", description = "Attempts before a delivery ends failed; else delivery.<kind>.max-attempts,"
            + " else delivery.max-attempts (10)")
    private Integer maxAttempts;
    @UriParam(label = "consumer", description = "Age (e.g. 24h, 30m) after which a delivery that keeps failing ends failed;"
            + " else delivery.<kind>.max-age, else delivery.max-age (24h)")
    private String maxAge;

    DeliveryEndpoint(String uri, DeliveryComponent component, String kind, Deliveries deliveries, StoredNotifications notifications,
                     Defaults defaults) {
        super(uri, component);
        this.kind = kind;
        this.deliveries = deliveries;
        this.notifications = notifications;
        this.defaults = defaults;
    }

    /** {@code to: delivery:<kind>}: plans a delivery of this kind for the notification being stored. */
    @Override
    public Producer createProducer() {
        return new DeliveryProducer(this);
    }

    @Override
    public Consumer createConsumer(Processor processor) throws Exception {
        DeliveryConsumer consumer = new DeliveryConsumer(this, processor, deliveries, notifications);
        configureConsumer(consumer);
        return consumer;
    }

    public String getKind() {
        return kind;
    }

    /** Deliveries of this kind worked at once (delivery.&lt;kind&gt;.concurrency, default 16). */
    public int getConcurrency() {
        return concurrency != null ? concurrency : setting("concurrency").map(Integer::parseInt).orElse(defaults.concurrency());
    }

    public void setConcurrency(int concurrency) {
        this.concurrency = concurrency;
    }

    /** How often due deliveries are looked for while there is nothing to do, in milliseconds. */
    public long getPollIntervalMs() {
        return pollIntervalMs != null ? pollIntervalMs : setting("poll-interval-ms").map(Long::parseLong).orElse(defaults.pollIntervalMs());
    }

    public void setPollIntervalMs(long pollIntervalMs) {
        this.pollIntervalMs = pollIntervalMs;
    }

    /** Attempts before a delivery ends failed (delivery.&lt;kind&gt;.max-attempts, else delivery.max-attempts). */
    public int getMaxAttempts() {
        return maxAttempts != null ? maxAttempts : setting("max-attempts").map(Integer::parseInt).orElse(defaults.maxAttempts());
    }

    public void setMaxAttempts(int maxAttempts) {
        this.maxAttempts = maxAttempts;
    }

    /** Age after which a delivery that keeps failing ends failed (delivery.&lt;kind&gt;.max-age, else delivery.max-age). */
    public Duration getMaxAgeDuration() {
        String value = maxAge != null ? maxAge : setting("max-age").orElse(null);
        return value == null ? defaults.maxAge() : Durations.parse("delivery." + kind + ".max-age", value);
    }

    public String getMaxAge() {
        return maxAge;
    }

    public void setMaxAge(String maxAge) {
        this.maxAge = maxAge;
    }

    private Optional<String> setting(String option) {
        return getCamelContext().getPropertiesComponent().resolveProperty("delivery." + kind + "." + option).map(String::trim)
                .filter(s -> !s.isEmpty());
    }
}
