package io.github.telecmicdr;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.telecmicdr.store.GroupCommit;
import io.github.telecmicdr.store.H2Durability;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.SQLException;

/**
 * Turns whatever stopped an HTTP exchange into an {@code application/problem+json} answer (RFC 9457).
 * Callers see the status and a sentence naming the field; stack traces stay in the log.
 */
public final class ProblemResponses {

    private static final Logger LOG = LoggerFactory.getLogger(ProblemResponses.class);
    public static final String CONTENT_TYPE = "application/problem+json";
    /** What every 503 tells the client to wait before it tries again, in seconds. */
    public static final String RETRY_AFTER_SECONDS = "30";

    private final ObjectMapper mapper;
    private volatile java.util.function.BiConsumer<Exchange, Problem> webhookRefusals = (exchange, problem) -> { };

    public ProblemResponses(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** Told of every refusal in the webhook route, for its log line and metrics. */
    public void onWebhookRefusal(java.util.function.BiConsumer<Exchange, Problem> listener) {
        this.webhookRefusals = listener;
    }

    /** Called from the routes' onException: the exchange carries the caught exception. */
    public void render(Exchange exchange) {
        Throwable caught = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        Problem problem = toProblem(caught, exchange);
        if (isWebhook(exchange)) {
            webhookRefusals.accept(exchange, problem);
        }
        exchange.getMessage().removeHeaders("*");
        if (problem.status() == 503) {
            exchange.getMessage().setHeader("Retry-After", RETRY_AFTER_SECONDS);
        }
        if (problem.status() == 401) {
            exchange.getMessage().setHeader("WWW-Authenticate", "Bearer");
        }
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, problem.status());
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, CONTENT_TYPE);
        exchange.getMessage().setBody(toJson(problem));
    }

    public String toJson(Problem problem) {
        ObjectNode body = mapper.createObjectNode();
        body.put("type", "about:blank");
        body.put("title", title(problem.status()));
        body.put("status", problem.status());
        body.put("detail", problem.detail());
        if (problem.field() != null) {
            body.put("field", problem.field());
        }
        return body.toString();
    }

    private static Problem toProblem(Throwable caught, Exchange exchange) {
        for (Throwable t = caught; t != null; t = t.getCause()) {
            if (t instanceof Problem p) {
                return p;
            }
        }
        for (Throwable t = caught; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql) {
                String state = sqlState(sql);
                if (isDataError(state)) {
                    // the message stays out of log and answer: both databases quote the refused value in it
                    LOG.warn("The database refused a value while handling {} (SQLState {})", handling(exchange), state);
                    return new Problem(400, "a value of this request cannot be stored (SQLState " + state
                            + ")" + nothingStored(exchange));
                }
                LOG.warn("Database unavailable while handling {}: {}", handling(exchange), t.getMessage());
                if (t instanceof GroupCommit.CommitTimeout) {
                    // handed to the writer and not committed in time: it may still be, so promise nothing
                    return new Problem(503, "the database did not commit in time; please retry (a notification stored"
                            + " meanwhile is answered as a duplicate)");
                }
                if (t instanceof H2Durability.NotForced) {
                    // written, and perhaps lost to a power cut: promise neither
                    return new Problem(503, "the database could not force the commit to the disk; please retry (a"
                            + " notification it kept is answered as a duplicate)");
                }
                return new Problem(503, "the database is not available" + nothingStored(exchange) + ", please retry");
            }
        }
        LOG.error("Unexpected failure in route {}", exchange.getFromRouteId(), caught);
        return new Problem(500, "internal error" + nothingStored(exchange));
    }

    /** What a webhook's error adds: TeleCMI retries what was not stored. Nothing for the API's reads. */
    private static String nothingStored(Exchange exchange) {
        return isWebhook(exchange) ? "; nothing was stored" : "";
    }

    private static boolean isWebhook(Exchange exchange) {
        return "telecmi-webhook".equals(exchange.getFromRouteId());
    }

    /** "POST telecmi-webhook", or the route alone once a step has removed the request's headers. */
    private static String handling(Exchange exchange) {
        Object method = exchange.getMessage().getHeader(Exchange.HTTP_METHOD);
        return method == null ? exchange.getFromRouteId() : method + " " + exchange.getFromRouteId();
    }

    /** The first SQLState in the chain: drivers and pools wrap the database's own exception. */
    static String sqlState(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return sql.getSQLState();
            }
        }
        return null;
    }

    /**
     * SQLState class 22 (data exception: too long, out of range, a character the column cannot
     * hold) and 23 (integrity constraint): the request is at fault, and a retry, which TeleCMI makes
     * of every 503, would fail forever. The unique (cmiuuid, kind) violation never gets here: the
     * store answers it as a duplicate. Everything else (08 connection, 57 operator, 40 rollback,
     * none at all from the pool's timeout) is the database being away: 503, retry.
     */
    static boolean isDataError(String sqlState) {
        return sqlState != null && (sqlState.startsWith("22") || sqlState.startsWith("23"));
    }

    static String title(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 409 -> "Conflict";
            case 413 -> "Content Too Large";
            case 414 -> "URI Too Long";
            case 415 -> "Unsupported Media Type";
            case 416 -> "Range Not Satisfiable";
            case 431 -> "Request Header Fields Too Large";
            case 500 -> "Internal Server Error";
            case 503 -> "Service Unavailable";
            default -> status >= 500 ? "Server Error" : "Client Error";
        };
    }
}
