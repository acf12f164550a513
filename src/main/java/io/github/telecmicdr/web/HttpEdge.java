package io.github.telecmicdr.web;

import io.github.telecmicdr.Problem;
import io.github.telecmicdr.ProblemResponses;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.StartupListener;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServer;
import org.apache.camel.support.jsse.SSLContextParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * What every connection and request meets before the routes, on both ports (webhook/API and
 * management): at most {@code http.max-connections} open connections, a connection with no request
 * in progress closed after {@code http.idle-timeout-ms} (silent, or trickling a request head), every
 * request answered within {@code webhook.request-timeout-ms} of its head (else 408), a URL with a
 * broken %-escape answered 400 (Vert.x would log the whole URL, query and webhook token included,
 * with a stack trace), and a body refused before it is read wherever none is expected.
 */
public final class HttpEdge {

    private static final Logger LOG = LoggerFactory.getLogger(HttpEdge.class);

    /** Before Camel's route handlers (order 0 and up) and the webhook's own gate (-100). */
    static final int BODY_CHECK_ORDER = -110;
    /** First of all, before the ops page's headers (-130) and the API's guard (-120). */
    static final int STOPPING_ORDER = -140;
    /** What a request that comes while the service stops is told: nothing was taken, come back. */
    static final Problem STOPPING = new Problem(503, "the service is stopping, please retry");

    /** The settings, in milliseconds; zero or less turns a limit off. */
    public record Limits(long idleTimeoutMs, long requestTimeoutMs, int maxConnections) {
    }

    private final Limits limits;
    private final ProblemResponses problems;
    private final List<String> bodyPaths;
    private final List<Consumer<Router>> publicGuards = new CopyOnWriteArrayList<>();
    private final Map<String, BiConsumer<String, Problem>> reporters = new ConcurrentHashMap<>();
    private final Set<VertxPlatformHttpRouter> guardedRouters = ConcurrentHashMap.newKeySet();
    private final Map<HttpServer, Server> servers = new ConcurrentHashMap<>();
    private volatile CamelContext context;
    /** Set once Camel begins to stop: every new request on the public port is answered 503. */
    private volatile boolean stopping;

    /** {@code bodyPaths}: path prefixes on the webhook/API port whose requests carry a body. */
    public HttpEdge(Limits limits, ProblemResponses problems, List<String> bodyPaths) {
        this.limits = limits;
        this.problems = problems;
        this.bodyPaths = List.copyOf(bodyPaths);
    }

    /**
     * Binds the Vert.x Camel builds both HTTP servers on (one instance for both, from {@code options})
     * and closes it once the context has stopped them.
     */
    public void install(CamelContext context, VertxOptions options) throws Exception {
        this.context = context;
        Vertx vertx = Vertx.vertx(options);
        context.getRegistry().bind("vertx", VertxServers.building(vertx, this::serverFor));
        context.addStartupListener(new StartupListener() {
            @Override
            public void onCamelContextStarted(CamelContext started, boolean alreadyStarted) {
                // the servers are logged once fully started, below
            }

            @Override
            public void onCamelContextFullyStarted(CamelContext started, boolean alreadyStarted) {
                logServers();
            }
        });
        context.addLifecycleStrategy(new org.apache.camel.support.LifecycleStrategySupport() {
            @Override
            public void onContextStopping(CamelContext stopping) {
                // before the routes stop: from here on a new request is told to come back, not
                // answered 404 by a router whose routes are gone, or 500 by a route being stopped
                HttpEdge.this.stopping = true;
            }

            @Override
            public void onContextStopped(CamelContext stopped) {
                // after every service, the HTTP servers included, has stopped
                vertx.close().toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).exceptionally(e -> null).join();
            }
        });
    }

    /**
     * The TLS key store's password as Camel Main loaded it (camel.ssl.*, from the file, -D or the
     * environment), for the list of secrets kept out of stored errors; empty without TLS.
     */
    public static String keyStorePassword(CamelContext context) {
        SSLContextParameters tls = context.getSSLContextParameters();
        if (tls == null || tls.getKeyManagers() == null || tls.getKeyManagers().getKeyStore() == null) {
            return "";
        }
        String password = tls.getKeyManagers().getKeyStore().getPassword();
        return password == null ? "" : password;
    }

    /** Installs {@code guard} on the webhook/API port's router before it serves its first request. */
    public void guardPublicRouter(Consumer<Router> guard) {
        publicGuards.add(guard);
    }

    /** Refusals of requests under {@code pathPrefix} are told to {@code reporter} (method, problem) instead of logged here. */
    public void reportRefusalsUnder(String pathPrefix, BiConsumer<String, Problem> reporter) {
        reporters.put(pathPrefix, reporter);
    }

    /** Answers {@code problem} before the rest of the request is read, with one log line, and closes the connection. */
    public void refuse(HttpServerRequest request, Problem problem) {
        if (request.response().headWritten()) {
            return;
        }
        report(request, problem);
        answer(request, problem, problems.toJson(problem));
    }

    /**
     * Writes the problem and closes the connection: an unread body is not wanted, and reading
     * (or draining) it is what a slow or oversized sender would have us do.
     */
    public static void answer(HttpServerRequest request, Problem problem, String json) {
        HttpServerResponse response = request.response();
        if (response.headWritten()) {
            return;
        }
        // the close below ends the unread body; that is the intent, not an error to log
        request.exceptionHandler(ignored -> { });
        if (problem.status() == 503) {
            // as every 503 of the service: TeleCMI's cue to try again
            response.putHeader(HttpHeaders.RETRY_AFTER, ProblemResponses.RETRY_AFTER_SECONDS);
        }
        response.setStatusCode(problem.status())
                .putHeader(HttpHeaders.CONTENT_TYPE, ProblemResponses.CONTENT_TYPE)
                .putHeader(HttpHeaders.CONNECTION, "close")
                .end(json)
                .onComplete(done -> {
                    // HTTP/1.x only: on HTTP/2 ending the stream is enough, closing would drop the others
                    if (request.version() != HttpVersion.HTTP_2) {
                        request.connection().close();
                    }
                });
    }

    private void report(HttpServerRequest request, Problem problem) {
        String path = request.path();
        if (path != null) {
            for (Map.Entry<String, BiConsumer<String, Problem>> reporter : reporters.entrySet()) {
                if (path.startsWith(reporter.getKey())) {
                    reporter.getValue().accept(request.method().name(), problem);
                    return;
                }
            }
        }
        // the first path segment only: the rest may hold a token, and the query is never logged
        LOG.info("HTTP {} {} refused: status={} field={}: {}", request.method().name(), firstSegment(path),
                problem.status(), problem.field(), problem.detail());
    }

    static String firstSegment(String path) {
        if (path == null || path.isEmpty()) {
            return "-";
        }
        int end = path.indexOf('/', 1);
        String segment = end < 0 ? path : path.substring(0, end) + "/...";
        segment = segment.replaceAll("[^\\x21-\\x7e]", "?");
        return segment.length() > 40 ? segment.substring(0, 40) + "..." : segment;
    }

    /** The longest request line read (method, path and query): a GET notification's every field is in it. */
    static final int MAX_REQUEST_LINE = 64 * 1024;

    /** Called (through VertxServers) each time Camel creates an HTTP server, before it listens. */
    private HttpServer serverFor(Vertx vertx, HttpServerOptions camelOptions) {
        HttpServerOptions options = new HttpServerOptions(camelOptions)
                // HTTP/1.1 only (TeleCMI and the API speak it): with h2c on, Vert.x meets a plain
                // connection only once its first bytes arrive, so silent connections would escape the
                // cap and the timeouts below; and one connection is one request at a time
                .setHttp2ClearTextEnabled(false)
                .setUseAlpn(false)
                // TeleCMI's GET carries every field in the query: 4 KiB (Netty's default) lost a call
                // whose custom field was a few KiB; the headers keep their 8 KiB
                .setMaxInitialLineLength(MAX_REQUEST_LINE);
        if (limits.idleTimeoutMs() > 0) {
            // no byte either way for this long, whatever the connection is doing: closed
            options.setIdleTimeout(Math.toIntExact(limits.idleTimeoutMs())).setIdleTimeoutUnit(TimeUnit.MILLISECONDS);
        }
        // the router Camel just bound for this server; the server does not listen yet
        guardNewRouters();
        Server server = new Server(options.isSsl());
        HttpServer created = vertx.createHttpServer(options);
        created.connectionHandler(server::connected);
        created.invalidRequestHandler(this::refuseUnreadable);
        long sweep = vertx.setPeriodic(sweepPeriodMs(), id -> server.sweep());
        HttpServer fronted = VertxServers.fronted(created, server::front, () -> vertx.cancelTimer(sweep));
        servers.put(fronted, server);
        return fronted;
    }

    private long sweepPeriodMs() {
        long shortest = Long.MAX_VALUE;
        for (long limit : new long[] {limits.idleTimeoutMs(), limits.requestTimeoutMs()}) {
            if (limit > 0) {
                shortest = Math.min(shortest, limit);
            }
        }
        // a limit is enforced within a quarter of itself (at most a second) after it passes
        return Math.max(20, Math.min(1000, shortest / 4));
    }

    private void guardNewRouters() {
        CamelContext camel = context;
        if (camel == null) {
            return;
        }
        for (VertxPlatformHttpRouter router : camel.getRegistry().findByType(VertxPlatformHttpRouter.class)) {
            if (!guardedRouters.add(router)) {
                continue;
            }
            boolean publicPort = !router.isManagementServer();
            if (publicPort) {
                router.route().order(STOPPING_ORDER).handler(ctx -> {
                    if (stopping) {
                        refuse(ctx.request(), STOPPING);
                    } else {
                        ctx.next();
                    }
                });
                publicGuards.forEach(guard -> guard.accept(router));
            }
            List<String> allowed = publicPort ? bodyPaths : List.of();
            router.route().order(BODY_CHECK_ORDER).handler(ctx -> refuseUnexpectedBody(ctx, allowed, publicPort));
        }
    }

    private void refuseUnexpectedBody(RoutingContext ctx, List<String> bodyPathsHere, boolean publicPort) {
        String path = ctx.normalizedPath();
        for (String prefix : bodyPathsHere) {
            if (path != null && path.startsWith(prefix)) {
                ctx.next();
                return;
            }
        }
        if (announcesBody(ctx.request())) {
            // a webhook URL mistyped in TeleCMI's settings is told so, not that its body is unwanted
            refuse(ctx.request(), publicPort && !routed(path) ? new Problem(404, "no route serves this path", "path")
                    : new Problem(413, "this request takes no body", "body"));
            return;
        }
        ctx.next();
    }

    /** Whether a route's platform-http path (its fixed part, before any {parameter}) matches. */
    private boolean routed(String path) {
        CamelContext camel = context;
        if (path == null || camel == null) {
            return false;
        }
        for (org.apache.camel.Route route : camel.getRoutes()) {
            if (route.getEndpoint() instanceof PlatformHttpEndpoint http && http.getPath() != null) {
                String served = http.getPath();
                int parameter = served.indexOf('{');
                if (parameter >= 0 ? path.startsWith(served.substring(0, parameter)) : path.equals(served) || path.startsWith(served + "/")) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * A request the HTTP decoder could not read (a request line or headers over their limits, a
     * broken head): answered as a problem with one log line, as every other refusal; Vert.x alone
     * would close it with an empty 414, 431 or 400 that nothing logs.
     */
    private void refuseUnreadable(HttpServerRequest request) {
        Throwable cause = request.decoderResult().cause();
        if (cause instanceof TooLongHttpLineException) {
            refuse(request, new Problem(414, "the request line is longer than " + MAX_REQUEST_LINE / 1024 + " KiB", "query"));
        } else if (cause instanceof TooLongHttpHeaderException) {
            refuse(request, new Problem(431, "the request's headers are larger than " + HttpServerOptions.DEFAULT_MAX_HEADER_SIZE / 1024 + " KiB", "headers"));
        } else {
            refuse(request, new Problem(400, "the request's head could not be read", "request"));
        }
    }

    static boolean announcesBody(HttpServerRequest request) {
        if (request.headers().contains(HttpHeaders.TRANSFER_ENCODING)) {
            return true;
        }
        String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (length == null) {
            return false;
        }
        try {
            return Long.parseLong(length.trim()) != 0;
        } catch (NumberFormatException e) {
            return true;
        }
    }

    /** A problem with the URL as sent, before anything decodes it; null when there is none. */
    static Problem brokenUrl(String uri) {
        if (uri == null) {
            return Problem.badRequest("path", "the request names no path");
        }
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        if (hasBrokenEscape(path)) {
            return Problem.badRequest("path", "the path has a broken %-escape");
        }
        if (q >= 0 && hasBrokenEscape(uri.substring(q + 1))) {
            return Problem.badRequest("query", "the query string has a broken %-escape");
        }
        return null;
    }

    static boolean hasBrokenEscape(String s) {
        for (int i = s.indexOf('%'); i >= 0; i = s.indexOf('%', i + 1)) {
            if (i + 2 >= s.length() || Character.digit(s.charAt(i + 1), 16) < 0 || Character.digit(s.charAt(i + 2), 16) < 0) {
                return true;
            }
        }
        return false;
    }

    private void logServers() {
        CamelContext camel = context;
        for (VertxPlatformHttpRouter router : camel.getRegistry().findByType(VertxPlatformHttpRouter.class)) {
            VertxPlatformHttpServer camelServer = router.getServer();
            if (camelServer == null) {
                continue;
            }
            Server server = camelServer.getServer() == null ? null : servers.get(camelServer.getServer());
            String what = router.isManagementServer() ? "Health and metrics" : "Webhook and API";
            if (server == null) {
                LOG.warn("{} HTTP server on port {} was not built through the edge: connection limits and timeouts do not apply",
                        what, camelServer.getPort());
                continue;
            }
            LOG.info("{} served on {}://{}:{}", what, server.ssl ? "https" : "http", camelServer.getHost(), camelServer.getPort());
        }
    }

    /** The connections of one server (one port). */
    private final class Server {
        private final boolean ssl;
        private final AtomicInteger open = new AtomicInteger();
        private final Map<HttpConnection, Watch> watched = new ConcurrentHashMap<>();
        private volatile long lastFullWarning;

        Server(boolean ssl) {
            this.ssl = ssl;
        }

        void connected(HttpConnection connection) {
            if (open.incrementAndGet() > limits.maxConnections() && limits.maxConnections() > 0) {
                open.decrementAndGet();
                warnFull(connection);
                connection.close();
                return;
            }
            watched.put(connection, new Watch(connection, System.nanoTime()));
            connection.closeHandler(closed -> {
                if (watched.remove(connection) != null) {
                    open.decrementAndGet();
                }
            });
        }

        private void warnFull(HttpConnection connection) {
            long now = System.nanoTime();
            // a flood would otherwise write a line per connection
            if (now - lastFullWarning > TimeUnit.MINUTES.toNanos(1) || lastFullWarning == 0) {
                lastFullWarning = now;
                LOG.warn("HTTP port {} has http.max-connections ({}) open: new connections are closed at once (logged at most once a minute)",
                        connection.localAddress() == null ? "?" : connection.localAddress().port(), limits.maxConnections());
            }
        }

        Handler<HttpServerRequest> front(Handler<HttpServerRequest> router) {
            return request -> {
                Watch watch = watched.get(request.connection());
                if (watch != null) {
                    watch.started(request, Vertx.currentContext());
                }
                Problem broken = brokenUrl(request.uri());
                if (broken != null) {
                    refuse(request, broken);
                    return;
                }
                router.handle(request);
            };
        }

        /** Runs on a timer: closes idle connections and answers 408 for requests past their deadline. */
        void sweep() {
            long now = System.nanoTime();
            long idle = TimeUnit.MILLISECONDS.toNanos(limits.idleTimeoutMs());
            long deadline = TimeUnit.MILLISECONDS.toNanos(limits.requestTimeoutMs());
            for (Watch watch : watched.values()) {
                HttpServerRequest request = watch.request;
                if (request == null || request.response().ended()) {
                    if (idle > 0 && now - watch.waitingSince(request, now) > idle) {
                        watch.connection.close();
                    }
                } else if (deadline > 0 && now - watch.requestStartedAt > deadline && !request.response().headWritten()) {
                    watch.context.runOnContext(v -> timedOut(watch, request));
                }
            }
        }

        private void timedOut(Watch watch, HttpServerRequest request) {
            if (watch.request != request || request.response().headWritten()) {
                return;
            }
            refuse(request, new Problem(408, "the request was not complete and answered within "
                    + limits.requestTimeoutMs() + " ms", "body"));
        }
    }

    /** One connection: when it opened, its current request, and (for the sweeper) since when it waits for the next. */
    private static final class Watch {
        final HttpConnection connection;
        final long connectedAt;
        volatile HttpServerRequest request;
        volatile long requestStartedAt;
        volatile Context context;
        // touched by the sweeper only
        private HttpServerRequest answered;
        private long answeredSeenAt;

        Watch(HttpConnection connection, long connectedAt) {
            this.connection = connection;
            this.connectedAt = connectedAt;
        }

        void started(HttpServerRequest request, Context context) {
            this.context = context;
            this.requestStartedAt = System.nanoTime();
            this.request = request;
        }

        /** Since when the connection has had no request in progress (as the sweeper first saw it). */
        long waitingSince(HttpServerRequest request, long now) {
            if (request == null) {
                return connectedAt;
            }
            if (answered != request) {
                answered = request;
                answeredSeenAt = now;
            }
            return answeredSeenAt;
        }
    }
}
