package io.github.telecmicdr.api;

import io.github.telecmicdr.Problem;
import io.github.telecmicdr.Tokens;
import io.github.telecmicdr.web.HttpEdge;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.Exchange;
import org.apache.camel.component.platform.http.vertx.HttpMessage;

import java.util.List;

/**
 * The read API, deliveries and recordings ask for {@code Authorization: Bearer <api.token>}, in that
 * header only. Checked at the HTTP edge, before a byte of a body is read, and again as the routes'
 * first step.
 */
public final class ApiGuard {

    /** The paths the API token guards. */
    public static final List<String> PATHS = List.of("/api/*", "/recordings/*");

    /** Ahead of the edge's body check (-110), so a stalled body without the token is answered 401. */
    static final int ORDER = -120;

    private final String apiToken;
    private final HttpEdge edge;

    public ApiGuard(String apiToken, HttpEdge edge) {
        this.apiToken = apiToken;
        this.edge = edge;
    }

    /** Installs the token check on the webhook/API port's router, ahead of the routes. */
    public void guard(Router router) {
        for (String path : PATHS) {
            router.route(path).order(ORDER).handler(this::admit);
        }
    }

    private void admit(RoutingContext ctx) {
        if (admits(ctx.request().getHeader(HttpHeaders.AUTHORIZATION))) {
            ctx.next();
            return;
        }
        ctx.response().putHeader("WWW-Authenticate", "Bearer");
        edge.refuse(ctx.request(), unauthorized());
    }

    /**
     * The routes' first step. The token comes from the request's own header: Camel also copies query
     * parameters into message headers, so {@code ?Authorization=...} must not count.
     */
    public void authenticate(Exchange exchange) {
        String authorization = exchange.getIn() instanceof HttpMessage http && http.getRequest() != null
                ? http.getRequest().getHeader(HttpHeaders.AUTHORIZATION) : null;
        if (!admits(authorization)) {
            throw unauthorized();
        }
    }

    private boolean admits(String authorization) {
        String presented = null;
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            presented = authorization.substring(7).trim();
        }
        return Tokens.matches(apiToken, presented);
    }

    private static Problem unauthorized() {
        return new Problem(401, "a valid 'Authorization: Bearer <api.token>' header is required", "Authorization");
    }
}
