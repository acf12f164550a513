package io.github.telecmicdr.delivery;

import org.apache.camel.component.http.HttpClientConfigurer;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;

/**
 * For a destination's {@code to: http…} ({@code httpClientConfigurer: "#httpWithoutRetries"}): the
 * HTTP client neither retries nor follows redirects by itself. Its default strategy re-sends a
 * request answered 429 or 503, sleeping as long as {@code Retry-After} says on a delivery worker,
 * out of sight of the delivery's attempts and backoff; a delivery is retried by the engine instead,
 * which honours {@code Retry-After} without holding a worker. A redirect is an answer, not a
 * second destination the call is posted to.
 */
public final class HttpWithoutRetries implements HttpClientConfigurer {

    @Override
    public void configureHttpClient(HttpClientBuilder builder) {
        builder.disableAutomaticRetries();
        builder.disableRedirectHandling();
    }
}
