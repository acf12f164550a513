package io.github.telecmicdr.web;

import io.github.telecmicdr.Problem;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.platform.http.vertx.HttpMessage;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The operations page: a few static files shipped in the jar under {@code ui/}, served at
 * {@code /ui/} on the API port without the API token (the page asks for it, keeps it in the
 * tab's sessionStorage and sends it to the API as the {@code Authorization} header).
 *
 * <p>Only the files named here are served, read once at start: no path from a request ever reaches
 * the class path or the file system. Every answer under {@code /ui} (a 404, a refusal at the edge)
 * carries the security headers: they are set on the connection's response before any route runs.
 */
public final class OpsPage {

    /** Where the page is served. */
    public static final String PATH = "/ui/";
    /** No inline script or style, media from the page's own origin or from blob: URLs (a recording fetched with the token). */
    public static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self';"
            + " media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
    /** Ahead of the API guard (-120) and the edge's body check (-110), so their refusals carry the headers too. */
    static final int HEADERS_ORDER = -130;

    private static final Map<String, String> CONTENT_TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "svg", "image/svg+xml");

    private record Asset(byte[] bytes, String contentType) {
    }

    private final Map<String, Asset> assets = new LinkedHashMap<>();

    public OpsPage() {
        for (String name : new String[] {"index.html", "ops.css", "ops.js", "icon.svg"}) {
            assets.put(name, new Asset(read("ui/" + name), CONTENT_TYPES.get(name.substring(name.lastIndexOf('.') + 1))));
        }
    }

    /** Installs the headers on the webhook/API port's router, ahead of the routes. */
    public void secureHeaders(Router router) {
        router.route().order(HEADERS_ORDER).handler(this::withHeaders);
    }

    private void withHeaders(RoutingContext ctx) {
        String path = ctx.request().path();
        if (path != null && (path.equals("/ui") || path.startsWith(PATH))) {
            ctx.response()
                    .putHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                    .putHeader("X-Content-Type-Options", "nosniff")
                    .putHeader("Referrer-Policy", "no-referrer")
                    // a new jar's page is picked up at once; the files are small
                    .putHeader("Cache-Control", "no-cache");
        }
        ctx.next();
    }

    /** The route's step: the file the path names, {@code /ui/} itself being index.html; 404 for any other. */
    public void serve(Exchange exchange) {
        Message message = exchange.getMessage();
        HttpServerRequest request = exchange.getIn() instanceof HttpMessage http ? http.getRequest() : null;
        String path = request != null ? request.path() : message.getHeader(Exchange.HTTP_PATH, String.class);
        message.removeHeaders("*");
        if ("/ui".equals(path)) {
            // relative links in the page resolve against /ui/, not /
            message.setHeader(Exchange.HTTP_RESPONSE_CODE, 308);
            message.setHeader("Location", PATH);
            message.setBody("");
            return;
        }
        String name = path == null || !path.startsWith(PATH) ? null : path.substring(PATH.length());
        Asset asset = name == null ? null : assets.get(name.isEmpty() ? "index.html" : name);
        if (asset == null) {
            throw new Problem(404, "the operations page has no such file", "path");
        }
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        message.setHeader(Exchange.CONTENT_TYPE, asset.contentType());
        message.setBody(asset.bytes());
    }

    private static byte[] read(String resource) {
        try (InputStream in = OpsPage.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is missing from the class path: the jar was built without the ops page");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
