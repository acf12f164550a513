package io.github.telecmicdr.web;

import io.github.telecmicdr.Problem;
import io.github.telecmicdr.api.ApiGuard;
import io.vertx.core.http.HttpServerRequest;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.component.platform.http.vertx.HttpMessage;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The routes' own token check (behind the edge's) reads the request's Authorization header, never
 * the Camel header of that name, which a query parameter {@code ?Authorization=} also fills.
 */
class ApiGuardRouteStepTest {

    static final String TOKEN = "route-step-token-31f0";
    final CamelContext camel = new DefaultCamelContext();
    final ApiGuard guard = new ApiGuard(TOKEN, null);

    /** A Vert.x request that answers only getHeader("Authorization"). */
    static HttpServerRequest requestWithAuthorization(String value) {
        return (HttpServerRequest) Proxy.newProxyInstance(HttpServerRequest.class.getClassLoader(), new Class<?>[] {HttpServerRequest.class},
                (proxy, method, args) -> method.getName().equals("getHeader") && "Authorization".equalsIgnoreCase(String.valueOf(args[0])) ? value : null);
    }

    Exchange httpExchange(String authorizationHeader, String camelHeader) {
        Exchange exchange = new DefaultExchange(camel);
        HttpMessage message = new HttpMessage(exchange, requestWithAuthorization(authorizationHeader), null);
        if (camelHeader != null) {
            message.setHeader("Authorization", camelHeader);
        }
        exchange.setIn(message);
        return exchange;
    }

    @Test
    void theTokenCountsOnlyFromTheRequestHeader() {
        assertDoesNotThrow(() -> guard.authenticate(httpExchange("Bearer " + TOKEN, "Bearer " + TOKEN)));
        assertDoesNotThrow(() -> guard.authenticate(httpExchange("bearer  " + TOKEN + " ", null)));

        Problem fromQuery = assertThrows(Problem.class, () -> guard.authenticate(httpExchange(null, "Bearer " + TOKEN)),
                "?Authorization=Bearer%20<token> fills the Camel header only");
        assertEquals(401, fromQuery.status());
        assertThrows(Problem.class, () -> guard.authenticate(httpExchange("Bearer wrong", "Bearer " + TOKEN)));

        Exchange notHttp = new DefaultExchange(camel);
        notHttp.getIn().setHeader("Authorization", "Bearer " + TOKEN);
        assertThrows(Problem.class, () -> guard.authenticate(notHttp), "no HTTP request, nothing to authenticate");
    }
}
