package io.github.telecmicdr.resilience;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import javax.sql.DataSource;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whatever arrives, the answer is a 2xx with the notification stored or a 4xx naming the problem:
 * never a 5xx, never an exception in the log, never a half-written row. Random JSON values, random
 * TeleCMI-like objects with a random type per field, random query strings and random bytes.
 */
class HostileInputPropertiesTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    static final List<String> FIELDS = List.of("cmiuuid", "cmiuid", "appid", "app_id", "type", "direction", "status", "leg",
            "from", "to", "virtual_number", "user", "agent", "team", "answeredsec", "duration", "billedsec", "waitedsec",
            "hangup_reason", "record", "voicemail", "click_to_call", "filename", "conversation_uuid", "ivr_name", "custom",
            "extra_params", "time", "start_time", "answer_time", "end_time", "x", "<b>", "'; DROP TABLE cdr; --");
    static RunningService service;
    static int logMark;

    @BeforeContainer
    static void start() {
        logMark = LogCapture.get().mark();
        // what the random calls plan is stored, never worked (a download would go to the real TeleCMI): the delivery
        // routes are not started, rather than polling once a minute, which kept the stop waiting 15 s for the poll
        service = RunningService.builder().property("camel.main.auto-startup-exclude-pattern", "delivery:*").build();
        assertEquals(List.of(), service.camelContext().getRoutes().stream()
                .filter(r -> r.getEndpoint().getEndpointUri().startsWith("delivery:"))
                .filter(r -> service.camelContext().getRouteController().getRouteStatus(r.getRouteId()).isStarted())
                .map(org.apache.camel.Route::getRouteId).toList(), "delivery routes started");
    }

    @AfterContainer
    static void stop() throws Exception {
        try {
            DataSource ds = service.camelContext().getRegistry().lookupByNameAndType("dataSource", DataSource.class);
            try (Connection c = ds.getConnection(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM notification n WHERE n.kind = 'incoming-answered-cdr'"
                         + " AND NOT EXISTS (SELECT 1 FROM cdr c WHERE c.notification_id = n.id AND c.cmiuuid = n.cmiuuid)")) {
                rs.next();
                assertEquals(0, rs.getInt(1), "answered CDR notifications without their typed row");
            }
            assertEquals(List.of(), LogCapture.get().troubleSince(logMark), "errors or exceptions in the log");
        } finally {
            service.close();
        }
    }

    static void assertHonest(Response r, String sent) {
        String shown = sent.length() > 300 ? sent.substring(0, 300) + "…" : sent;
        assertTrue(r.status() == 200 || (r.status() >= 400 && r.status() < 500), r.status() + " for " + shown + " -> " + r.body());
        if (r.status() == 200) {
            assertTrue(r.body().startsWith("{\"status\":\"stored\"") || r.body().startsWith("{\"status\":\"duplicate\""), r.body());
        } else {
            assertEquals("application/problem+json", r.contentType(), shown);
            assertTrue(r.body().contains("\"detail\":"), r.body());
        }
    }

    void assertStoredIfAcknowledged(Response r) throws Exception {
        if (r.status() == 200) {
            JsonNode receipt = JSON.readTree(r.body());
            Response stored = service.api("/api/notifications?cmiuuid=" + receipt.get("cmiuuid").asText());
            assertEquals(200, stored.status());
            assertTrue(JSON.readTree(stored.body()).get("notifications").size() >= 1, "acknowledged but not stored: " + r.body());
            if (receipt.get("kind").asText().equals("incoming-answered-cdr")) {
                assertEquals(200, service.api("/api/cdrs/" + receipt.get("cmiuuid").asText()).status());
            }
        }
    }

    @Property(tries = 250)
    void anyJsonValue(@ForAll("jsonValues") JsonNode value) throws Exception {
        String body = value.toString();
        Response r = service.postWebhook(body);
        assertHonest(r, body);
        assertStoredIfAcknowledged(r);
    }

    @Property(tries = 400)
    void telecmiLikeObjectsWithRandomTypes(@ForAll("telecmiObjects") ObjectNode cdr) throws Exception {
        String body = cdr.toString();
        Response r = service.postWebhook(body);
        assertHonest(r, body);
        assertStoredIfAcknowledged(r);
    }

    @Property(tries = 250)
    void randomQueryStrings(@ForAll("queries") String query) throws Exception {
        Response r = service.raw("GET " + service.webhookPath() + "?" + query + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", null);
        assertHonest(r, query);
        assertStoredIfAcknowledged(r);
    }

    @Property(tries = 250)
    void randomBytes(@ForAll("bodies") byte[] body) throws Exception {
        Response r = service.postWebhookBytes(body, "application/json");
        assertHonest(r, new String(body, StandardCharsets.ISO_8859_1));
        assertStoredIfAcknowledged(r);
    }

    static final List<String> OPTIONAL_FIELDS = FIELDS.stream()
            .filter(f -> !List.of("cmiuuid", "cmiuid", "appid", "app_id").contains(f)).toList();

    /**
     * One bad field never loses the call: whatever type or text arrives in the fields other than
     * the call's identity, short of a number beyond its field's type, the call is stored and its
     * raw payload kept as received.
     */
    @Property(tries = 300)
    void optionalFieldsOfAnyTypeNeverLoseTheCall(@ForAll("optionalFields") Map<String, JsonNode> fields) throws Exception {
        String cmiuuid = java.util.UUID.randomUUID().toString();
        ObjectNode object = NODES.objectNode().put("cmiuuid", cmiuuid);
        fields.forEach(object::set);
        String body = object.toString();
        Response r = service.postWebhook(body);
        assertEquals(200, r.status(), body + " -> " + r.body());
        assertStoredIfAcknowledged(r);
        Response stored = service.api("/api/notifications?cmiuuid=" + cmiuuid);
        // as sent: UTF-8 has no lone surrogates, so the encoder writes '?' for them
        String sent = new String(body.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
        assertTrue(stored.body().contains("\"payload\":" + sent), "the payload as received: " + stored.body());
    }

    @Property(tries = 200)
    void optionalParametersOfAnyTextNeverLoseTheCall(@ForAll("optionalTexts") Map<String, String> fields) throws Exception {
        StringBuilder query = new StringBuilder("cmiuuid=" + java.util.UUID.randomUUID());
        fields.forEach((name, value) -> query.append('&').append(escape(name)).append('=').append(escape(value)));
        Response r = service.getWebhook(query.toString());
        assertEquals(200, r.status(), query + " -> " + r.body());
        assertStoredIfAcknowledged(r);
    }

    /** Text as TeleCMI's fields hold it, and what a sender gets wrong; never a number beyond a field's type. */
    static Arbitrary<String> optionalText() {
        return Arbitraries.oneOf(
                Arbitraries.strings().excludeChars("0123456789".toCharArray()).ofMaxLength(40),
                Arbitraries.of("maybe", "perhaps", "n/a", "x", "yesterday", "yes", "TRUE", "1", "2", "-5", "1.5", " 37 ", "0",
                        "1634720920", "+91 98765 43210", "a.mp3", "a\u0007.mp3", "\u0000", "{'k': 'v'}"));
    }

    @Provide
    Arbitrary<Map<String, JsonNode>> optionalFields() {
        Arbitrary<JsonNode> values = Arbitraries.oneOf(
                optionalText().map(s -> (JsonNode) NODES.textNode(s)),
                Arbitraries.integers().between(-1_000_000, 1_000_000).map(i -> (JsonNode) NODES.numberNode(i)),
                Arbitraries.bigDecimals().between(BigDecimal.valueOf(-1_000_000), BigDecimal.valueOf(1_000_000)).ofScale(3)
                        .map(d -> (JsonNode) NODES.numberNode(d)),
                Arbitraries.of(true, false).map(b -> (JsonNode) NODES.booleanNode(b)),
                nested(scalars()));
        return Arbitraries.maps(Arbitraries.of(OPTIONAL_FIELDS), values).ofMinSize(1).ofMaxSize(12);
    }

    @Provide
    Arbitrary<Map<String, String>> optionalTexts() {
        return Arbitraries.maps(Arbitraries.of(OPTIONAL_FIELDS), optionalText()).ofMinSize(1).ofMaxSize(12);
    }

    static final List<String> NUMBER_FIELDS = List.of("time", "answer_time", "start_time", "end_time", "answeredsec", "duration",
            "billedsec", "waitedsec", "from", "to", "virtual_number");

    /** A number as sent: which field, its value, as a JSON number or a string, by POST or by GET. */
    record SentNumber(String field, BigDecimal value, boolean asString, boolean byGet) {
        String text() {
            return value.toString();
        }
    }

    /**
     * Huge exponents cost nothing to send: whatever the number, the answer is 200 or a 400 naming
     * its field, at once (no seconds of CPU, no OutOfMemoryError, no 5xx).
     */
    @Property(tries = 300)
    void numbersWithHugeExponents(@ForAll("sentNumbers") SentNumber sent) throws Exception {
        String cmiuuid = java.util.UUID.randomUUID().toString();
        Response r;
        String shown;
        if (sent.byGet()) {
            shown = "cmiuuid=" + cmiuuid + "&" + sent.field() + "=" + escape(sent.text());
            r = service.getWebhook(shown);
        } else {
            ObjectNode body = NODES.objectNode().put("cmiuuid", cmiuuid).put("status", "answered");
            // written by hand: Jackson would write the BigDecimal in its own notation
            shown = body.toString().replaceFirst("}$", ",\"" + sent.field() + "\":"
                    + (sent.asString() ? "\"" + sent.text() + "\"" : sent.text()) + "}");
            r = service.postWebhook(shown);
        }
        assertHonest(r, shown);
        if (r.status() != 200) {
            assertEquals(400, r.status(), shown + " -> " + r.body());
            assertEquals(sent.field(), JSON.readTree(r.body()).path("field").asText(), shown + " -> " + r.body());
        }
        assertStoredIfAcknowledged(r);
    }

    @Provide
    Arbitrary<SentNumber> sentNumbers() {
        Arbitrary<BigInteger> unscaled = Arbitraries.oneOf(
                Arbitraries.bigIntegers().between(BigInteger.TEN.pow(30).negate(), BigInteger.TEN.pow(30)),
                Arbitraries.bigIntegers().between(BigInteger.ONE, BigInteger.valueOf(2_000_000_000_000L)));
        Arbitrary<Integer> scale = Arbitraries.oneOf(
                Arbitraries.integers().between(-40, 40),
                Arbitraries.integers().between(-4_000_000, 4_000_000),
                Arbitraries.integers().between(Integer.MIN_VALUE, Integer.MAX_VALUE),
                Arbitraries.of(Integer.MIN_VALUE, Integer.MIN_VALUE + 1, Integer.MAX_VALUE, -1_000, -999, -300_000_000, 16_000_000));
        Arbitrary<BigDecimal> values = Combinators.combine(unscaled, scale).as(BigDecimal::new);
        return Combinators.combine(Arbitraries.of(NUMBER_FIELDS), values, Arbitraries.of(true, false), Arbitraries.of(true, false))
                .as(SentNumber::new);
    }

    @Provide
    Arbitrary<JsonNode> jsonValues() {
        return Arbitraries.recursive(HostileInputPropertiesTest::scalars, HostileInputPropertiesTest::nested, 0, 4);
    }

    static Arbitrary<JsonNode> scalars() {
        return Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(40).map(s -> (JsonNode) NODES.textNode(s)),
                Arbitraries.strings().withCharRange('\u0000', '\uffff').ofMaxLength(20).map(s -> (JsonNode) NODES.textNode(s)),
                Arbitraries.longs().map(l -> (JsonNode) NODES.numberNode(l)),
                Arbitraries.bigIntegers().between(BigInteger.TEN.pow(30).negate(), BigInteger.TEN.pow(30)).map(b -> (JsonNode) NODES.numberNode(b)),
                Arbitraries.doubles().map(d -> (JsonNode) NODES.numberNode(new BigDecimal(d))),
                Arbitraries.of(true, false).map(b -> (JsonNode) NODES.booleanNode(b)),
                Arbitraries.just(NODES.nullNode()));
    }

    static Arbitrary<JsonNode> nested(Arbitrary<JsonNode> inner) {
        Arbitrary<JsonNode> arrays = inner.list().ofMaxSize(4).map(items -> {
            ArrayNode a = NODES.arrayNode();
            items.forEach(a::add);
            return a;
        });
        Arbitrary<JsonNode> objects = Arbitraries.maps(Arbitraries.strings().ofMaxLength(12), inner).ofMaxSize(5).map(m -> {
            ObjectNode o = NODES.objectNode();
            m.forEach(o::set);
            return o;
        });
        return Arbitraries.oneOf(arrays, objects);
    }

    @Provide
    Arbitrary<ObjectNode> telecmiObjects() {
        Arbitrary<String> cmiuuid = Arbitraries.oneOf(
                Arbitraries.create(() -> java.util.UUID.randomUUID().toString()),
                Arbitraries.strings().ofMaxLength(70));
        Arbitrary<Map<String, JsonNode>> fields = Arbitraries.maps(Arbitraries.of(FIELDS), Arbitraries.oneOf(scalars(),
                Arbitraries.of("true", "false", "TRUE", "1", "0", "answered", "missed", "event", "cdr", "inbound", "outbound", "b",
                                "recv_cancel", "1634720920615", "1634720920", "+91 98765 43210", "0044 20", "a.mp3", "../x.wav", "{'k': 'v'}")
                        .map(s -> (JsonNode) NODES.textNode(s)),
                nested(scalars()))).ofMaxSize(12);
        return Combinators.combine(cmiuuid, fields, Arbitraries.integers().between(0, 9)).as((id, map, dice) -> {
            ObjectNode o = NODES.objectNode();
            map.forEach(o::set);
            if (dice > 1) {
                o.put("cmiuuid", id);
            }
            return o;
        });
    }

    @Provide
    Arbitrary<String> queries() {
        Arbitrary<String> names = Arbitraries.oneOf(Arbitraries.of(FIELDS).map(HostileInputPropertiesTest::escape),
                Arbitraries.strings().withChars("abc%=&+0123456789ABCDEF;").ofMaxLength(6));
        Arbitrary<String> values = Arbitraries.oneOf(
                Arbitraries.strings().withChars("abcXYZ019-_.~%+!$'()*,;:@/?").ofMaxLength(12),
                Arbitraries.strings().ofMaxLength(8).map(HostileInputPropertiesTest::escape),
                Arbitraries.create(() -> java.util.UUID.randomUUID().toString()));
        return Combinators.combine(names, values).as((n, v) -> n + "=" + v).list().ofMaxSize(8).map(pairs -> String.join("&", pairs));
    }

    static String escape(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    @Provide
    Arbitrary<byte[]> bodies() {
        return Arbitraries.oneOf(
                Arbitraries.bytes().array(byte[].class).ofMaxSize(200),
                Arbitraries.strings().ofMaxLength(100).map(s -> ("{\"cmiuuid\":\"" + s + "\"}").getBytes(StandardCharsets.UTF_8)),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(30).map(b -> {
                    byte[] prefix = "{\"cmiuuid\":\"abc\",\"team\":\"".getBytes(StandardCharsets.UTF_8);
                    byte[] out = java.util.Arrays.copyOf(prefix, prefix.length + b.length + 2);
                    System.arraycopy(b, 0, out, prefix.length, b.length);
                    out[out.length - 2] = '"';
                    out[out.length - 1] = '}';
                    return out;
                }));
    }
}
