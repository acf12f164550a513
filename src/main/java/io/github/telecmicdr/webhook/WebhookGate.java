package io.github.telecmicdr.webhook;

import io.github.telecmicdr.Problem;
import io.github.telecmicdr.ProblemResponses;
import io.github.telecmicdr.Tokens;
import io.github.telecmicdr.telecmi.TelecmiNotification;
import io.github.telecmicdr.web.HttpEdge;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.Route;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.support.RoutePolicySupport;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who may deliver to the webhook. The token, body size and content type are decided at the HTTP
 * edge, before a byte of the body is read; the route opts in with {@code routePolicy: "#webhookGate"}.
 * The appid allowlist needs the parsed body, so the route asks for it as a step. Broken %-escapes
 * and the request deadline are HttpEdge's, for every path.
 */
public final class WebhookGate extends RoutePolicySupport {

    public static final String PATH_PREFIX = "/webhooks/telecmi/";

    private final String token;
    private final long maxBodyBytes;
    private final int serverPort;
    private final Set<String> allowedAppids;
    private final ProblemResponses problems;
    private final WebhookOutcomes outcomes;
    private volatile boolean installed;

    public WebhookGate(String token, long maxBodyBytes, int serverPort, String allowedAppids,
                       ProblemResponses problems, WebhookOutcomes outcomes) {
        this.token = token;
        this.maxBodyBytes = maxBodyBytes;
        this.serverPort = serverPort;
        this.allowedAppids = allowedAppids == null ? Set.of()
                : Arrays.stream(allowedAppids.split(",")).map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
        this.problems = problems;
        this.outcomes = outcomes;
    }

    @Override
    public synchronized void onStart(Route route) {
        if (installed) {
            return;
        }
        VertxPlatformHttpRouter router = VertxPlatformHttpRouter.lookup(route.getCamelContext(),
                VertxPlatformHttpRouter.getRouterNameFromPort(serverPort));
        if (router == null) {
            throw new IllegalStateException("No platform-http server on port " + serverPort + " to guard");
        }
        // ordered before the routes Camel adds, whose first handler reads the body
        router.route(PATH_PREFIX + "*").order(-100).handler(this::admit);
        // the body handler fails bodies that outgrow the limit while reading
        router.route(PATH_PREFIX + "*").order(-99).failureHandler(ctx -> {
            if (ctx.statusCode() == 413) {
                refuse(ctx, new Problem(413, "the body is larger than " + maxBodyBytes + " bytes", "body"));
            } else {
                ctx.next();
            }
        });
        installed = true;
    }

    /**
     * The appid allowlist ({@code telecmi.allowed-appids}); an empty list admits every appid. A
     * delivery without an appid (older TeleCMI payloads carry none) is admitted: the path token
     * has authenticated it, and only an appid that is present and unlisted says it is not ours.
     */
    public TelecmiNotification checkAppid(TelecmiNotification notification) {
        if (!allowedAppids.isEmpty() && notification.appid() != null && !allowedAppids.contains(notification.appid())) {
            throw new Problem(403, "the appid '" + notification.appid() + "' is not one of telecmi.allowed-appids", "appid");
        }
        return notification;
    }

    /**
     * The content codings that compress (RFC 9110's registry, and the x- spellings): only these are
     * refused. A sender that writes something else there (a charset, "UTF-8", by mistake) sent
     * the body as it is, and it is read as before.
     */
    static final java.util.regex.Pattern COMPRESSED = java.util.regex.Pattern.compile("(?i)(^|[\\s,])(x-)?(gzip|deflate|br|compress|zstd)\\s*($|,)");

    private void admit(RoutingContext ctx) {
        String presented = presentedToken(ctx.request().path());
        if (!Tokens.matches(token, presented)) {
            refuse(ctx, new Problem(401, "unknown webhook token"));
            return;
        }
        if (ctx.request().method() == HttpMethod.POST) {
            String length = ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH);
            if (length != null && parseLength(length) > maxBodyBytes) {
                refuse(ctx, new Problem(413, "the body is larger than " + maxBodyBytes + " bytes", "body"));
                return;
            }
            String contentType = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
            if (contentType != null && !isJson(contentType)) {
                refuse(ctx, new Problem(415, "the body must be JSON (Content-Type application/json), got '"
                        + contentType.replaceAll("[^\\x20-\\x7e]", "?") + "'", "Content-Type"));
                return;
            }
            String encoding = ctx.request().getHeader(HttpHeaders.CONTENT_ENCODING);
            if (encoding != null && COMPRESSED.matcher(encoding).find()) {
                // read as it came, a compressed body would be answered "not valid UTF-8"
                refuse(ctx, new Problem(415, "the body must be sent uncompressed, got Content-Encoding '"
                        + encoding.replaceAll("[^\\x20-\\x7e]", "?") + "'", "Content-Encoding"));
                return;
            }
        }
        ctx.next();
    }

    private static String presentedToken(String path) {
        if (path == null || !path.startsWith(PATH_PREFIX)) {
            return null;
        }
        String segment = path.substring(PATH_PREFIX.length());
        int slash = segment.indexOf('/');
        if (slash >= 0) {
            segment = segment.substring(0, slash);
        }
        try {
            return URLDecoder.decode(segment.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static long parseLength(String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    /** application/json, any application/*+json, text/json; a charset, if named, must be UTF-8. */
    static boolean isJson(String contentType) {
        String[] parts = contentType.toLowerCase(Locale.ROOT).split(";");
        String media = parts[0].trim();
        boolean json = media.equals("application/json") || media.equals("text/json")
                || (media.startsWith("application/") && media.endsWith("+json"));
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim();
            if (p.startsWith("charset=")) {
                String charset = p.substring("charset=".length()).replace("\"", "").trim();
                json &= charset.equals("utf-8") || charset.equals("utf8");
            }
        }
        return json;
    }

    private void refuse(RoutingContext ctx, Problem problem) {
        if (ctx.response().headWritten()) {
            return;
        }
        outcomes.refusedAtEdge(ctx.request().method().name(), problem);
        HttpEdge.answer(ctx.request(), problem, problems.toJson(problem));
    }
}
