package io.github.telecmicdr.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import io.github.telecmicdr.testing.RunningService;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;
import org.apache.camel.support.service.ServiceHelper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;

/** TeleCMI's pull API as WireMock serves it in these tests: rows as TeleCMI's documentation shows them, pages, requests. */
final class PullApi {

    static final String APPID = "2222223";
    static final String SECRET = "telecmi-secret-5a4b3c2d1e";
    static final ObjectMapper JSON = new ObjectMapper();

    private PullApi() {
    }

    /** The service reconciling against this WireMock every 500 ms, windows ending now. */
    static RunningService.Builder service(WireMockServer telecmi) {
        return RunningService.builder()
                .property("telecmi.api-base-url", "http://127.0.0.1:" + telecmi.port())
                .property("telecmi.appid", APPID)
                .property("telecmi.secret", SECRET)
                .property("reconcile.interval", "500ms")
                .property("reconcile.delay", "PT0S")
                .property("delivery.poll-interval-ms", "100")
                .property("delivery.backoff-initial", "200ms")
                .property("delivery.backoff-max", "400ms");
    }

    /** A row of /v2/answered as TeleCMI documents it: cmiuid, duration, agent, "true", numbers as numbers and as text. */
    static String row(String cmiuid, String hangupReason, boolean recorded) {
        return "{\"cmiuid\":\"" + cmiuid + "\",\"duration\":67,\"agent\":\"201_" + APPID + "\","
                + "\"notes\":[{\"msg\":\"Support Query\",\"date\":1652105272029,\"agent\":\"201_" + APPID + "\"}],"
                + "\"billedsec\":\"61\",\"filename\":\"" + cmiuid + ".mp3\",\"rate\":0,\"record\":\"" + recorded + "\",\"name\":\"unknown\","
                + "\"from\":919000000001,\"to\":\"0919999999999\",\"time\":1652105272029"
                + (hangupReason == null ? "" : ",\"hangup_reason\":\"" + hangupReason + "\"") + "}";
    }

    static String page(List<String> rows, long count) {
        return "{\"count\":" + count + ",\"cdr\":[" + String.join(",", rows) + "]}";
    }

    static ResponseDefinitionBuilder json(String body) {
        return aResponse().withStatus(200).withHeader("Content-Type", "application/json").withBody(body);
    }

    /** Every page asked for answers these rows (page 1) or none. */
    static void serve(WireMockServer telecmi, List<String> rows) {
        serve(telecmi, rows, 0);
    }

    /** The same, each answer taking {@code millis}. */
    static void serve(WireMockServer telecmi, List<String> rows, int millis) {
        telecmi.stubFor(post(urlPathEqualTo("/v2/answered")).atPriority(10)
                .willReturn(json(page(List.of(), rows.size())).withFixedDelay(millis)));
        telecmi.stubFor(post(urlPathEqualTo("/v2/answered")).atPriority(1).withRequestBody(matchingJsonPath("$.page", equalTo("1")))
                .willReturn(json(page(rows, rows.size())).withFixedDelay(millis)));
    }

    /** The pull API's requests so far, their JSON bodies in order. */
    static List<JsonNode> requests(WireMockServer telecmi) {
        List<JsonNode> bodies = new ArrayList<>();
        for (LoggedRequest r : telecmi.findAll(postRequestedFor(urlPathEqualTo("/v2/answered")))) {
            bodies.add(parse(r.getBodyAsString()));
        }
        return bodies;
    }

    static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** GET /api/reconcile. */
    static JsonNode status(RunningService service) {
        RunningService.Response r = service.api("/api/reconcile?limit=500");
        if (r.status() != 200) {
            throw new AssertionError("GET /api/reconcile answered " + r.status() + ": " + r.body());
        }
        return parse(r.body());
    }

    /** The windows GET /api/reconcile lists with this outcome, oldest first. */
    static List<JsonNode> windows(RunningService service, String outcome) {
        List<JsonNode> windows = new ArrayList<>();
        for (JsonNode w : status(service).get("windows")) {
            if (w.get("outcome").asText().equals(outcome)) {
                windows.add(0, w);
            }
        }
        return windows;
    }

    /** Counts the rounds of the reconciliation route (each tick of its timer, whatever it did). */
    static AtomicInteger countRounds(CamelContext camel) {
        AtomicInteger rounds = new AtomicInteger();
        EventNotifierSupport notifier = new EventNotifierSupport() {
            @Override
            public void notify(CamelEvent event) {
                if (event instanceof CamelEvent.ExchangeCompletedEvent done && "telecmi-reconcile".equals(done.getExchange().getFromRouteId())) {
                    rounds.incrementAndGet();
                }
            }
        };
        ServiceHelper.startService(notifier);
        camel.getManagementStrategy().addEventNotifier(notifier);
        return rounds;
    }
}
