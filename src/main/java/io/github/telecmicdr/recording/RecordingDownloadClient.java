package io.github.telecmicdr.recording;

import org.apache.camel.component.http.HttpClientConfigurer;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;
import org.apache.hc.core5.concurrent.Cancellable;

import java.io.IOException;

/**
 * The HTTP client of the recording-download route (its {@code httpClientConfigurer}), set apart
 * from the defaults on three points:
 * <ul>
 * <li>no content compression: by default it asks for gzip and inflates what comes back, so a small
 * answer could fill the disk past {@code recordings.max-bytes}; the bytes are stored as they come;</li>
 * <li>no automatic retries: a retried request would escape the download deadline, and the default
 * strategy sleeps as long as a 503's {@code Retry-After} says, on a delivery worker; a delivery is
 * retried with its own backoff instead;</li>
 * <li>each request joins the deadline of its {@link Download}, which cancels it when time is up.</li>
 * </ul>
 */
public final class RecordingDownloadClient implements HttpClientConfigurer {

    @Override
    public void configureHttpClient(HttpClientBuilder builder) {
        builder.disableContentCompression();
        builder.disableAutomaticRetries();
        builder.addExecInterceptorFirst("recording-download-deadline", (request, scope, chain) -> {
            Download download = Download.takePrepared();
            if (download == null) {
                return chain.proceed(request, scope);
            }
            // the request the route sent: cancelling it closes its connection, whatever it waits for
            if (scope.originalRequest instanceof Cancellable sent) {
                download.attach(sent);
            }
            try {
                return chain.proceed(request, scope);
            } catch (IOException e) {
                if (download.timedOut()) {
                    throw download.timeoutFailure();
                }
                throw e;
            }
        });
    }
}
