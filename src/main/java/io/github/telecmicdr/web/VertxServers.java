package io.github.telecmicdr.web;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * Where the edge meets the HTTP servers Camel builds. camel-platform-http (4.18) makes each server
 * itself, for {@code camel.server.*} and {@code camel.management.*} alike, from HttpServerOptions it
 * creates inside {@code VertxPlatformHttpServer.startServer} and listens at once: there is no option
 * for an idle timeout, a connection handler or a handler ahead of its router. What it does take from
 * outside is the Vert.x instance, looked up in the registry. So the registry holds the Vert.x made
 * here, which hands every {@code createHttpServer} call to the edge, and the server it returns hands
 * the request handler Camel installs (its router) to the edge to put a front on.
 * <p>
 * Only public Vert.x interfaces are involved. Should Camel stop building its servers on the
 * registry's Vert.x, HttpEdge warns at start ("not built through the edge") and HttpEdgeTest fails.
 */
final class VertxServers {

    private VertxServers() {
    }

    /** A Vert.x whose HTTP servers are made by {@code build}, every other call going to {@code vertx}. */
    static Vertx building(Vertx vertx, BiFunction<Vertx, HttpServerOptions, HttpServer> build) {
        return proxy(Vertx.class, vertx, (proxy, method, args) -> {
            if (method.getName().equals("createHttpServer") && method.getReturnType() == HttpServer.class) {
                HttpServerOptions options = args != null && args.length == 1 && args[0] instanceof HttpServerOptions o ? o : new HttpServerOptions();
                return build.apply(vertx, options);
            }
            return null;
        });
    }

    /** The server, with {@code front} put before whatever request handler is installed on it, and {@code onClose} told of its close. */
    static HttpServer fronted(HttpServer server, UnaryOperator<Handler<HttpServerRequest>> front, Runnable onClose) {
        return proxy(HttpServer.class, server, (proxy, method, args) -> {
            if (method.getName().equals("requestHandler") && args != null && args.length == 1) {
                @SuppressWarnings("unchecked")
                Handler<HttpServerRequest> handler = (Handler<HttpServerRequest>) args[0];
                server.requestHandler(handler == null ? null : front.apply(handler));
                return proxy;
            }
            if (method.getName().equals("close")) {
                onClose.run();
            }
            return null;
        });
    }

    /** The interceptor answers a call or returns null to pass it on; fluent answers of the delegate become the proxy. */
    private static <T> T proxy(Class<T> type, T delegate, InvocationHandler interceptor) {
        InvocationHandler handler = (proxy, method, args) -> {
            switch (method.getName()) {
                case "equals":
                    if (method.getParameterCount() == 1) {
                        return proxy == args[0];
                    }
                    break;
                case "hashCode":
                    if (method.getParameterCount() == 0) {
                        return System.identityHashCode(proxy);
                    }
                    break;
                case "toString":
                    if (method.getParameterCount() == 0) {
                        return "edge:" + delegate;
                    }
                    break;
                default:
                    break;
            }
            Object intercepted = interceptor.invoke(proxy, method, args);
            if (intercepted != null) {
                return intercepted;
            }
            try {
                Object result = method.invoke(delegate, args);
                return result == delegate ? proxy : result;
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, handler));
    }
}
