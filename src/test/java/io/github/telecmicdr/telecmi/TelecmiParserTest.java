package io.github.telecmicdr.telecmi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.telecmicdr.CdrRouterConfiguration;
import io.github.telecmicdr.Problem;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Method;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every TeleCMI variant in FACTS.md, read once here rather than over HTTP, and where the parser
 * draws the line: a field it cannot use is left out and the call kept; only the call's identity and
 * a number beyond its field's type are refused. What is answered and stored: WebhookContract.
 */
class TelecmiParserTest {

    static final ObjectMapper MAPPER = serviceMapper();
    static final TelecmiParser PARSER = new TelecmiParser(MAPPER);

    /** The service's own JSON configuration (duplicate keys refused, BigDecimal for every fraction). */
    static ObjectMapper serviceMapper() {
        try {
            Method m = CdrRouterConfiguration.class.getDeclaredMethod("objectMapper");
            m.setAccessible(true);
            return (ObjectMapper) m.invoke(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    static TelecmiNotification parse(String fields) {
        return PARSER.parseJson(("{\"cmiuuid\":\"c-1\"" + (fields.isEmpty() ? "" : "," + fields) + "}").getBytes(StandardCharsets.UTF_8));
    }

    static String kind(String fields) {
        return parse(fields).kind();
    }

    static Problem refused(String fields) {
        return assertThrows(Problem.class, () -> parse(fields), fields);
    }

    @Test
    void kindPartsThatAreNotTextAreUnknownAndNeverTheKindThatFansOut() {
        String answered = "\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"answered\"";
        assertEquals("incoming-answered-cdr", kind(answered));
        for (String notText : new String[] {"{\"a\":1}", "[\"cdr\"]", "true", "false"}) {
            assertEquals("unknown-incoming-answered-cdr", kind(answered.replace("\"cdr\"", notText)), "type " + notText);
            assertEquals("unknown-answered-cdr", kind(answered.replace("\"inbound\"", notText)), "direction " + notText);
            assertEquals("incoming-unknown-cdr", kind(answered.replace("\"answered\"", notText)), "status " + notText);
            // a duration says "answered" only when no status came at all: an unreadable one is not guessed at
            assertEquals("incoming-unknown-cdr", kind("\"status\":" + notText + ",\"answeredsec\":10"), "status " + notText);
            assertEquals("live-event-unknown", kind("\"type\":\"event\",\"status\":" + notText), "event status " + notText);
            // leg matters only as "b": anything else is leg a
            assertEquals("incoming-missed-cdr", kind("\"direction\":\"inbound\",\"status\":\"missed\",\"leg\":" + notText));
            assertEquals("outgoing-answered-cdr", kind("\"direction\":\"outbound\",\"status\":\"answered\",\"leg\":" + notText));
            assertEquals("incoming-answered-cdr", kind(answered + ",\"leg\":" + notText), "leg " + notText);
        }
        // numbers are text as sent, as before
        assertEquals("5-incoming-answered-cdr", kind(answered.replace("\"cdr\"", "5")));
        assertEquals("7-answered-cdr", kind(answered.replace("\"inbound\"", "7")));
        assertEquals("incoming-user-missed-cdr", kind("\"direction\":\"inbound\",\"status\":\"missed\",\"leg\":\"B\""));

        TelecmiNotification typeless = parse(answered.replace("\"cdr\"", "{\"a\":1}"));
        assertNull(typeless.cdr(), "no typed CDR, no fan-out, for a kind read from a guess");
        assertEquals(Map.of("type", "is neither a string nor a number"), typeless.rawOnly());
    }

    @Test
    void optionalFieldsOfAnotherTypeAreLeftOutAndTheCallKept() {
        TelecmiNotification n = parse("\"status\":\"answered\",\"record\":\"maybe\",\"answeredsec\":\"abc\",\"billedsec\":\"n/a\","
                + "\"waitedsec\":\"x\",\"voicemail\":\"perhaps\",\"click_to_call\":2,\"end_time\":0,\"time\":\"yesterday\","
                + "\"from\":{\"n\":1},\"to\":[1],\"hangup_reason\":true,\"filename\":{\"f\":\"a.mp3\"},\"team\":5,"
                + "\"custom\":{\"k\":[1,2]}");
        assertEquals(TelecmiNotification.INCOMING_ANSWERED_CDR, n.kind());
        Cdr cdr = n.cdr();
        assertFalse(cdr.recorded(), "an unreadable record is not recorded");
        assertNull(cdr.answeredSeconds());
        assertNull(cdr.callTime());
        assertNull(cdr.from());
        assertNull(cdr.to());
        assertNull(cdr.hangupReason());
        assertNull(cdr.recordingFilename());
        assertEquals("5", cdr.team());
        assertEquals("{\"k\":[1,2]}", cdr.custom(), "custom keeps any JSON as its text");
        assertEquals("is neither true nor false", n.rawOnly().get("record"));
        assertEquals("the field 'record' is neither true nor false, so no recording is fetched", n.unreadableRecord());
        assertEquals("is not a number", n.rawOnly().get("answeredsec"));
        assertEquals("is not a number", n.rawOnly().get("billedsec"));
        assertEquals("is neither true nor false", n.rawOnly().get("click_to_call"));
        assertEquals("is not a positive epoch time", n.rawOnly().get("end_time"));
        assertEquals("is neither a string nor a number", n.rawOnly().get("filename"));
        assertEquals("is neither a string nor a number", n.rawOnly().get("hangup_reason"));
        assertEquals(n.rawOnly().keySet(), java.util.Set.of("record", "answeredsec", "billedsec", "waitedsec", "voicemail",
                "click_to_call", "end_time", "time", "from", "to", "hangup_reason", "filename"));
    }

    @Test
    void numbersThatSayNothingUsableAreLeftOut() {
        for (String value : new String[] {"-1", "1.5", "\"1.5\"", "\"-3\"", "\"12 s\"", "\"\u0663\u0667\""}) {
            TelecmiNotification n = parse("\"status\":\"answered\",\"answeredsec\":" + value);
            assertNull(n.cdr().answeredSeconds(), value);
            assertFalse(n.rawOnly().get("answeredsec").isEmpty(), value);
        }
        assertEquals(37, parse("\"status\":\"answered\",\"duration\":\" 37.0 \"").cdr().answeredSeconds());
        assertEquals(0, parse("\"status\":\"answered\",\"answeredsec\":0E-4000000").cdr().answeredSeconds());
        for (String value : new String[] {"0", "-1634720920", "0.5", "1e-40", "\"-5\"", "9999999999999999", "{}"}) {
            TelecmiNotification n = parse("\"status\":\"answered\",\"time\":" + value + ",\"answer_time\":1634720905");
            assertEquals(Instant.parse("2021-10-20T09:08:25Z"), n.cdr().callTime(), "the next time field is read instead of time " + value);
            assertFalse(n.rawOnly().get("time").isEmpty(), value);
        }
    }

    @Test
    void theIdentityIsRefused() {
        assertEquals("cmiuuid", assertThrows(Problem.class, () -> PARSER.parseJson("{\"cmiuuid\":{\"a\":1}}".getBytes(StandardCharsets.UTF_8))).field());
        assertEquals("cmiuid", assertThrows(Problem.class, () -> PARSER.parseJson("{\"cmiuid\":true}".getBytes(StandardCharsets.UTF_8))).field());
        assertEquals("cmiuuid", assertThrows(Problem.class, () -> PARSER.parseJson("{\"status\":\"answered\"}".getBytes(StandardCharsets.UTF_8))).field());
        // an appid that cannot be read is never taken for an absent one, which the allowlist admits on the token alone
        for (String value : new String[] {"{\"id\":2222223}", "[2222223]", "true", "\"2222223\\u0000\"", "\"2222223\\ud800\"", "\"" + "7".repeat(65) + "\""}) {
            assertEquals("appid", refused("\"appid\":" + value).field(), value);
            assertEquals("app_id", refused("\"app_id\":" + value).field(), value);
        }
    }

    @Test
    void numbersBeyondTheirFieldsTypeAreRefusedNamingTheField() {
        String[][] cases = {
                {"\"answeredsec\":1e40", "answeredsec"},
                {"\"answeredsec\":2147483648", "answeredsec"},
                {"\"duration\":\"-2147483649\"", "duration"},
                {"\"billedsec\":\"99999999999\"", "billedsec"},
                {"\"waitedsec\":1e-4000000", "waitedsec"},
                {"\"time\":99999999999999999999", "time"},
                {"\"time\":\"9223372036854775808\"", "time"},
                {"\"end_time\":1e-4000000", "end_time"},
                {"\"start_time\":\"1e4000000\"", "start_time"},
                {"\"answer_time\":\"1E+2147483648\"", "answer_time"},
                {"\"answeredsec\":\"" + "1".repeat(1001) + "\"", "answeredsec"},
                {"\"from\":1e1000", "from"},
                {"\"status\":1e1000", "status"},
        };
        for (String[] c : cases) {
            Problem p = refused(c[0]);
            assertEquals(c[1], p.field(), c[0].length() > 60 ? c[0].substring(0, 60) : c[0]);
            assertEquals(400, p.status());
        }
    }

    // ---- every variant in FACTS.md --------------------------------------------------------------

    static final String SEED_ID = "16132200-57fa-47b5-888d-4ab5b7e631ee";
    static final Instant SEED_TIME = Instant.parse("2021-10-20T09:08:40.615Z");

    /** The vendor page's sample CDR (incoming-answered-cdr.seed.txt) as it arrives on the wire. */
    static String seed() throws IOException {
        return Files.readString(Path.of("samples/incoming-answered-cdr.json"));
    }

    static TelecmiNotification json(String body) {
        return PARSER.parseJson(body.getBytes(StandardCharsets.UTF_8));
    }

    static TelecmiNotification query(String rawQuery) {
        return PARSER.parseQuery(rawQuery);
    }

    /** The fields of a JSON body as a GET query, each value as its text, %-encoded the way a browser does. */
    static String asQuery(String body) throws IOException {
        List<String> pairs = new ArrayList<>();
        MAPPER.readTree(body).fields().forEachRemaining(e -> pairs.add(e.getKey() + "="
                + URLEncoder.encode(e.getValue().asText(), StandardCharsets.UTF_8)));
        return String.join("&", pairs);
    }

    @Test
    void theSeedCdrIsReadAsTheVendorDescribesIt() throws IOException {
        String seed = seed();
        TelecmiNotification n = json(seed);
        assertEquals(TelecmiNotification.INCOMING_ANSWERED_CDR, n.kind());
        assertEquals(SEED_ID, n.cmiuuid());
        assertEquals("2222223", n.appid(), "a number, kept as its digits");
        assertEquals("POST", n.method());
        assertEquals(seed, n.rawPayload(), "the body exactly as received");
        assertEquals(Map.of(), n.rawOnly());
        assertEquals(new Cdr(SEED_ID, "2222223", "inbound", "answered", "440000000002", "440000000001", "440000000000",
                "204_2222223", "Sales_2222223", 11, "recv_bye", true, "1634720915260737218351_2222223.mp3", SEED_ID,
                "salesivr", "{\"key\":\"value\"}", SEED_TIME), n.cdr());
        assertEquals(n.cdr(), n.call());
        assertEquals("recv_bye", n.hangupReason());
        assertTrue(n.recorded());
        assertNull(n.recordingSkipped(), "an .mp3 name in the allowlist is fetched");
    }

    @Test
    void theGetFormCarriesTheSameFieldsAsStringsAndReadsTheSame() throws IOException {
        String seed = seed();
        TelecmiNotification get = query(asQuery(seed));
        TelecmiNotification post = json(seed);
        assertEquals(post.kind(), get.kind());
        assertEquals(post.cdr(), get.cdr(), "every value a string, the same call");
        assertEquals("GET", get.method());
        JsonNode raw = MAPPER.readTree(get.rawPayload());
        List<String> names = new ArrayList<>();
        raw.fieldNames().forEachRemaining(names::add);
        List<String> sent = new ArrayList<>();
        MAPPER.readTree(seed).fieldNames().forEachRemaining(sent::add);
        assertEquals(sent, names, "the parameters as a JSON object, in the order they came");
        raw.forEach(v -> assertTrue(v.isTextual(), "every value a string: " + v));

        TelecmiNotification n = query("cmiuuid=g-1&appid=2222223&type=cdr&direction=inbound&status=answered"
                + "&from=%2B919876543210&to=04440001111&virtual_number=440000000000&answeredsec=42&record=false"
                + "&time=1634720920615&team=Sales%20Team&ivr_name=sales+ivr&custom=%7B%22k%22%3A%22v%22%7D&hangup_reason=sent_reject");
        Cdr cdr = n.cdr();
        assertEquals("+919876543210", cdr.from(), "%2B is a plus, kept");
        assertEquals("04440001111", cdr.to(), "leading 0 kept");
        assertEquals(42, cdr.answeredSeconds());
        assertFalse(cdr.recorded());
        assertEquals("Sales Team", cdr.team());
        assertEquals("sales ivr", cdr.ivrName(), "'+' is a space, as browsers send it");
        assertEquals("{\"k\":\"v\"}", cdr.custom());
        assertEquals("sent_reject", cdr.hangupReason());
        assertEquals(SEED_TIME, cdr.callTime());
        assertEquals("+919876543210", MAPPER.readTree(n.rawPayload()).get("from").textValue());
        assertTrue(MAPPER.readTree(n.rawPayload()).get("answeredsec").isTextual());
    }

    @Test
    void booleansAsJsonOrAsStringsAndStringFalseIsFalse() throws IOException {
        for (String yes : new String[] {"true", "\"true\"", "\"TRUE\"", "\" True \"", "1", "\"1\"", "\"yes\""}) {
            TelecmiNotification n = json(seed().replace("\"record\": true", "\"record\": " + yes));
            assertTrue(n.recorded(), yes);
            assertEquals(Map.of(), n.rawOnly(), yes);
        }
        for (String no : new String[] {"false", "\"false\"", "\"FALSE\"", "0", "\"0\"", "\"no\""}) {
            TelecmiNotification n = json(seed().replace("\"record\": true", "\"record\": " + no));
            assertFalse(n.recorded(), no);
            assertEquals(Map.of(), n.rawOnly(), no);
            assertNull(n.recordingSkipped(), "not recorded is not skipped: " + no);
        }
        assertTrue(query("cmiuuid=b-1&status=answered&record=true&filename=a.wav").recorded());
        assertFalse(query("cmiuuid=b-2&status=answered&record=false&filename=a.wav").recorded());
        // voicemail and click_to_call are read the same way: their string forms are no unusable field
        assertEquals(Map.of(), parse("\"status\":\"answered\",\"voicemail\":\"false\",\"click_to_call\":\"true\"").rawOnly());
    }

    @Test
    void theAppIdIsAppidOnCdrsAndAppUnderscoreIdInLiveEvents() {
        assertEquals("2222223", parse("\"appid\":2222223").appid());
        assertEquals("2222223", parse("\"appid\":\"2222223\"").appid());
        assertEquals("2222223", parse("\"app_id\":2222223").appid());
        assertEquals("2222223", parse("\"app_id\":\"2222223\"").appid());
        assertEquals("2222223", parse("\"type\":\"event\",\"status\":\"waiting\",\"app_id\":2222223").appid());
        assertEquals("2222223", parse("\"status\":\"answered\",\"app_id\":\"2222223\"").cdr().appid(), "and on the CDR");
        assertNull(parse("\"status\":\"answered\"").appid(), "older shapes carry none");
        assertEquals("2222223", query("cmiuuid=a-1&app_id=2222223").appid());
    }

    @Test
    void chubIndiaAnsweredCdrWithStringBooleansAppIdAndNoOptionalFields() {
        TelecmiNotification n = json("{\"app_id\":\"2222223\",\"type\":\"cdr\",\"direction\":\"inbound\",\"cmiuuid\":\"india-1\","
                + "\"user\":\"101_2222223\",\"status\":\"answered\",\"to\":\"+914471234567\",\"from\":\"09876543210\","
                + "\"time\":1634720920615,\"answeredsec\":\"37\",\"record\":\"true\",\"voicemail\":\"false\",\"click_to_call\":\"false\","
                + "\"filename\":\"1634720915260737218351_2222223.wav\"}");
        assertEquals(TelecmiNotification.INCOMING_ANSWERED_CDR, n.kind());
        assertEquals(Map.of(), n.rawOnly(), "nothing unusable: the missing fields are just absent");
        assertEquals(new Cdr("india-1", "2222223", "inbound", "answered", "09876543210", "+914471234567", null, "101_2222223",
                null, 37, null, true, "1634720915260737218351_2222223.wav", null, null, null, SEED_TIME), n.cdr());
        assertNull(n.hangupReason(), "no hangup_reason: nothing to alert on");
        assertNull(n.recordingSkipped(), "a .wav is fetched");
    }

    @Test
    void piopiyShapeWithDurationEpochSecondsAndCustomThatIsNotJson() {
        String custom = "{'crm_id': 'A-17', 'lead': 'yes'}";
        TelecmiNotification n = json("{\"cmiuuid\":\"piopiy-1\",\"direction\":\"inbound\",\"status\":\"answered\","
                + "\"from\":919876543210,\"to\":\"914471234567\",\"duration\":54,\"start_time\":1634720900,"
                + "\"answer_time\":\"1634720905\",\"end_time\":1634720959,\"extra_params\":\"" + custom + "\",\"record\":false}");
        Cdr cdr = n.cdr();
        assertEquals(54, cdr.answeredSeconds(), "duration for answeredsec");
        assertEquals(Instant.parse("2021-10-20T09:08:25Z"), cdr.callTime(), "answer_time, in seconds");
        assertEquals(custom, cdr.custom(), "extra_params kept as the original string");
        assertEquals("919876543210", cdr.from(), "a number, kept as its digits");
        assertEquals("914471234567", cdr.to());
        assertFalse(cdr.recorded());
        assertEquals(Map.of(), n.rawOnly());
    }

    @Test
    void olderShapeWithCmiuidAgentAndNoTypeStatusOrAppid() {
        TelecmiNotification n = json("{\"cmiuid\":\"old-1\",\"duration\":\"12\",\"billedsec\":\"60\",\"filename\":\"x.wav\","
                + "\"record\":\"true\",\"from\":\"440000000002\",\"to\":\"440000000001\",\"time\":\"1634720920615\",\"agent\":\"204_2222223\"}");
        assertEquals(TelecmiNotification.INCOMING_ANSWERED_CDR, n.kind(), "no status: an answered duration says what happened");
        assertEquals("old-1", n.cmiuuid());
        assertNull(n.appid());
        assertEquals(new Cdr("old-1", null, "inbound", "answered", "440000000002", "440000000001", null, "204_2222223", null, 12,
                null, true, "x.wav", null, null, null, SEED_TIME), n.cdr());
        assertEquals(Map.of(), n.rawOnly());
        // without a duration either, nothing says it was answered: no CDR, no fan-out
        TelecmiNotification bare = json("{\"cmiuid\":\"old-2\",\"from\":\"440000000002\"}");
        assertEquals("incoming-unknown-cdr", bare.kind());
        assertNull(bare.cdr());
    }

    @Test
    void numbersAsStringsOrNumbersAndPhoneNumbersKeptAsText() {
        Cdr asNumbers = parse("\"status\":\"answered\",\"from\":440000000002,\"to\":440000000001,\"virtual_number\":440000000000,"
                + "\"answeredsec\":11").cdr();
        Cdr asStrings = parse("\"status\":\"answered\",\"from\":\"440000000002\",\"to\":\"440000000001\",\"virtual_number\":\"440000000000\","
                + "\"answeredsec\":\"11\"").cdr();
        assertEquals(asNumbers, asStrings);
        assertEquals("440000000000", asNumbers.virtualNumber());
        assertEquals(11, asStrings.answeredSeconds());
        assertEquals("440000000000", parse("\"status\":\"answered\",\"virtual_number\":4.4e11").cdr().virtualNumber(), "digits, no exponent");
        Cdr text = parse("\"status\":\"answered\",\"from\":\"09876543210\",\"to\":\"+914471234567\",\"answeredsec\":\" 37 \"").cdr();
        assertEquals("09876543210", text.from(), "a leading 0 is meaningful");
        assertEquals("+914471234567", text.to(), "so is a leading +");
        assertEquals(37, text.answeredSeconds());
        // outgoing CDRs send virtual_number as a string, live events from/to as strings
        assertEquals("440000000000", parse("\"direction\":\"outbound\",\"status\":\"answered\",\"virtual_number\":\"440000000000\"")
                .call().virtualNumber());
        assertEquals("440000000002", parse("\"type\":\"event\",\"status\":\"waiting\",\"from\":\"440000000002\"").call().from());
    }

    @Test
    void timeIsEpochMillisecondsOrSecondsAsNumberOrString() {
        String[][] cases = {{"1634720920615", "2021-10-20T09:08:40.615Z"}, {"1634720920", "2021-10-20T09:08:40Z"},
                {"\"1634720920615\"", "2021-10-20T09:08:40.615Z"}, {"\"1634720920\"", "2021-10-20T09:08:40Z"},
                {"1634720920.5", "2021-10-20T09:08:40Z"}};
        for (String[] c : cases) {
            assertEquals(Instant.parse(c[1]), parse("\"status\":\"answered\",\"time\":" + c[0]).cdr().callTime(), c[0]);
        }
        // PIOPIY: start/answer/end in seconds; the call's time is when it was answered, else when it started
        String piopiy = "\"status\":\"answered\",\"start_time\":1634720900,\"answer_time\":\"1634720905\",\"end_time\":1634720959";
        assertEquals(Instant.parse("2021-10-20T09:08:25Z"), parse(piopiy).cdr().callTime());
        assertEquals(Instant.parse("2021-10-20T09:08:20Z"), parse("\"status\":\"answered\",\"start_time\":\"1634720900\"").cdr().callTime());
        assertEquals(Instant.parse("2021-10-20T09:08:20Z"), parse("\"status\":\"answered\",\"start_time\":1634720900000").cdr().callTime(),
                "start_time in milliseconds too");
        assertEquals(SEED_TIME, parse(piopiy + ",\"time\":1634720920615").cdr().callTime(), "time first");
        assertNull(parse("\"status\":\"answered\",\"end_time\":1634720959").cdr().callTime(), "the end is not the call's time");
    }

    @Test
    void durationIsAnsweredsecUnderAnotherName() {
        assertEquals(54, parse("\"status\":\"answered\",\"duration\":54").cdr().answeredSeconds());
        assertEquals(12, parse("\"status\":\"answered\",\"duration\":\"12\"").cdr().answeredSeconds());
        assertEquals(11, parse("\"status\":\"answered\",\"answeredsec\":11,\"duration\":54").cdr().answeredSeconds(), "answeredsec first");
        assertEquals(12, query("cmiuuid=d-1&status=answered&duration=12").cdr().answeredSeconds());
    }

    @Test
    void customAndExtraParamsAreKeptAsTheOriginalString() {
        String[] customs = {"{\"key\":\"value\"}", "{'crm_id': 'A-17', 'lead': 'yes'}", "not json at all", "{\"unclosed\": [1,",
                "{\n\t\"key\": \"value\"\n}", "  {\"spaced\" : 1}  "};
        for (String custom : customs) {
            String quoted = MAPPER.getNodeFactory().textNode(custom).toString();
            assertEquals(custom, parse("\"status\":\"answered\",\"custom\":" + quoted).cdr().custom(), custom);
            assertEquals(custom, parse("\"status\":\"answered\",\"extra_params\":" + quoted).cdr().custom(), custom);
            assertEquals(custom, query("cmiuuid=c-2&status=answered&extra_params=" + URLEncoder.encode(custom, StandardCharsets.UTF_8))
                    .cdr().custom(), custom);
        }
        assertEquals("{\"key\":\"value\"}", parse("\"type\":\"event\",\"status\":\"waiting\",\"custom\":\"{\\\"key\\\":\\\"value\\\"}\"")
                .call().custom(), "on every kind");
    }

    @Test
    void recordingFileNamesEndInMp3InTheDocsAndWavInProduction() {
        for (String file : new String[] {"1634720915260737218351_2222223.mp3", "1634720915260737218351_2222223.wav"}) {
            TelecmiNotification n = parse("\"status\":\"answered\",\"record\":true,\"filename\":\"" + file + "\"");
            assertEquals(file, n.cdr().recordingFilename());
            assertTrue(n.recorded());
            assertNull(n.recordingSkipped(), file + " is fetched");
        }
    }

    @Test
    void otherNotificationsAtTheSameUrlEachHaveAKindOfTheirOwnAndNeverFanOut() {
        String[][] deliveries = {
                {"\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"missed\",\"appid\":2222223,\"waitedsec\":14,"
                        + "\"voicemail\":true,\"voicename\":\"vm.wav\",\"from\":440000000002", "incoming-missed-cdr"},
                {"\"type\":\"cdr\",\"direction\":\"inbound\",\"leg\":\"b\",\"status\":\"missed\",\"hangup_reason\":\"recv_cancel\","
                        + "\"user\":\"204_2222223\"", "incoming-user-missed-cdr"},
                {"\"type\":\"cdr\",\"direction\":\"outbound\",\"leg\":\"a\",\"status\":\"answered\",\"call_id\":\"c-1\",\"request_id\":\"r-1\","
                        + "\"virtual_number\":\"440000000000\",\"answeredsec\":5,\"record\":true,\"filename\":\"out.wav\"", "outgoing-answered-cdr"},
                {"\"type\":\"cdr\",\"direction\":\"outbound\",\"leg\":\"b\",\"status\":\"answered\"", "outgoing-answered-cdr-leg-b"},
                {"\"type\":\"cdr\",\"direction\":\"outbound\",\"status\":\"missed\"", "outgoing-missed-cdr"},
                {"\"type\":\"cdr\",\"direction\":\"outbound\",\"leg\":\"b\",\"status\":\"missed\"", "outgoing-missed-cdr-leg-b"},
                {"\"type\":\"event\",\"status\":\"waiting\",\"app_id\":2222223,\"from\":\"440000000002\"", "live-event-waiting"},
                {"\"type\":\"event\",\"status\":\"answered\",\"app_id\":2222223,\"direction\":\"inbound\",\"record\":true,"
                        + "\"filename\":\"a.mp3\",\"hangup_reason\":\"recv_cancel\"", "live-event-answered"},
                {"\"type\":\"event\",\"status\":\"started\",\"app_id\":2222223,\"from\":\"440000000002\"", "live-event-started"},
        };
        Set<String> kinds = new HashSet<>();
        for (String[] d : deliveries) {
            TelecmiNotification n = parse(d[0]);
            assertEquals(d[1], n.kind(), d[0]);
            assertTrue(TelecmiNotification.DOCUMENTED_KINDS.contains(n.kind()), n.kind());
            assertTrue(kinds.add(n.kind()), "a kind of its own, so no notification is a duplicate of another: " + n.kind());
            // only an incoming answered CDR is a typed CDR, alerted on or fetched
            assertNull(n.cdr(), d[1]);
            assertNull(n.hangupReason(), d[1]);
            assertFalse(n.recorded(), d[1]);
            assertNull(n.recordingSkipped(), d[1]);
            assertEquals(Map.of(), n.rawOnly(), d[1]);
        }
        assertFalse(kinds.contains(TelecmiNotification.INCOMING_ANSWERED_CDR));

        // a destination still gets every kind's normalised fields
        Cdr userMissed = parse(deliveries[1][0]).call();
        assertEquals("recv_cancel", userMissed.hangupReason());
        assertEquals("204_2222223", userMissed.user());
        assertEquals("missed", userMissed.status());
        Cdr outgoing = parse(deliveries[2][0]).call();
        assertEquals("outbound", outgoing.direction());
        assertEquals("440000000000", outgoing.virtualNumber());
        assertEquals(5, outgoing.answeredSeconds());
        assertEquals("2222223", parse(deliveries[6][0]).appid(), "app_id in live events");
        assertEquals("440000000002", parse(deliveries[0][0]).call().from());

        // "incoming" and "outgoing" read as inbound and outbound
        assertEquals("incoming-missed-cdr", kind("\"direction\":\"incoming\",\"status\":\"missed\""));
        assertEquals("outgoing-answered-cdr-leg-b", kind("\"direction\":\"outgoing\",\"status\":\"answered\",\"leg\":\"b\""));
    }

    @Test
    void aLiveEventIsNeverOfTheKindOfItsCallsCdr() throws IOException {
        // the live event of the seed call, every CDR field with it: the kind still says event
        for (String status : new String[] {"answered", "waiting", "started", "ANSWERED", "missed"}) {
            TelecmiNotification event = json(seed().replace("\"type\": \"cdr\"", "\"type\": \"event\"")
                    .replace("\"status\": \"answered\"", "\"status\": \"" + status + "\""));
            assertEquals("live-event-" + status.toLowerCase(java.util.Locale.ROOT), event.kind());
            assertEquals(SEED_ID, event.cmiuuid(), "the same call");
            assertNotEquals(json(seed()).kind(), event.kind());
            assertNull(event.cdr());
            assertFalse(event.recorded(), "a live event fetches nothing");
        }
    }

    @Test
    void theRawPayloadIsTheBodyAsReceived() {
        String body = "{ \"cmiuuid\" : \"raw-1\", \"status\":\"answered\",\n  \"team\": \"Ventas – São Paulo 東京 \uD83D\uDCDE\","
                + " \"ivr_name\":\"\\u00e9cole\", \"future_field\": {\"nested\": [1, 2.50, null]}, \"n\": 1.0e3 }";
        TelecmiNotification n = json(body);
        assertEquals(body, n.rawPayload());
        assertEquals("Ventas – São Paulo 東京 \uD83D\uDCDE", n.cdr().team());
        assertEquals("école", n.cdr().ivrName());
        assertEquals(Map.of(), n.rawOnly(), "unknown fields are the payload's, not unusable");
    }

    @Test
    void aByteOrderMarkBeforeTheJsonIsIgnoredAndNotStored() {
        String body = "{\"cmiuuid\":\"bom-1\",\"status\":\"answered\"}";
        TelecmiNotification n = json("\uFEFF" + body);
        assertEquals("bom-1", n.cmiuuid());
        assertEquals(body, n.rawPayload(), "the JSON text: the API embeds it in JSON of its own, where a BOM is invalid");
        Problem onlyAMark = assertThrows(Problem.class, () -> json("\uFEFF"));
        assertTrue(onlyAMark.getMessage().contains("empty"), onlyAMark.getMessage());
        Problem markInside = assertThrows(Problem.class, () -> json("{\"cmiuuid\":\"bom-2\"}\uFEFF"));
        assertTrue(markInside.getMessage().contains("malformed") || markInside.getMessage().contains("trailing"), markInside.getMessage());
    }

    @Test
    void valuesTheirColumnCannotHoldAreLeftOutWithWhy() throws IOException {
        String longUser = "u".repeat(1001);
        TelecmiNotification n = json(seed()
                .replace("\"1634720915260737218351_2222223.mp3\"", "\"rec\\u0000.mp3\"")
                .replace("\"Sales_2222223\"", "\"Sales\\tTeam\"")
                .replace("\"204_2222223\"", "\"" + longUser + "\"")
                .replace("\"salesivr\"", "\"sales\\u0000ivr\"")
                .replace("\"recv_bye\"", "\"recv_bye\\r\\n\""));
        Cdr cdr = n.cdr();
        assertTrue(cdr.recorded());
        assertNull(cdr.recordingFilename());
        assertEquals("recording file name contains a NUL character", n.recordingSkipped());
        assertEquals("Sales\tTeam", cdr.team(), "a control character other than NUL is the column's to hold");
        assertEquals("recv_bye\r\n", cdr.hangupReason());
        assertNull(cdr.user());
        assertNull(cdr.ivrName());
        assertEquals(Map.of("user", "is longer than 1000 characters", "ivr_name", "contains a NUL character",
                "filename", "contains a NUL character"), n.rawOnly());

        // half a surrogate pair is valid JSON, and no UTF-8 writer can write it back; a whole pair is an emoji
        TelecmiNotification halves = json(seed().replace("\"Sales_2222223\"", "\"x\\ud800y\"").replace("\"salesivr\"", "\"\\udc00\"")
                .replace("\"204_2222223\"", "\"agent \\ud83d\\ude00\""));
        assertNull(halves.cdr().team());
        assertNull(halves.cdr().ivrName());
        assertEquals("agent \ud83d\ude00", halves.cdr().user());
        assertEquals(Map.of("team", "contains half a surrogate pair", "ivr_name", "contains half a surrogate pair"), halves.rawOnly());
        assertEquals("unknown-answered-cdr", json(seed().replace("\"inbound\"", "\"in\\ud800\"")).kind(), "a kind part holding half a pair");

        TelecmiNotification get = query("cmiuuid=g-2&status=answered&record=true&filename=rec%07.wav&from=%2B91%0098&custom=a%00b&to=0444");
        assertEquals("recording file name contains a control character", get.recordingSkipped());
        assertNull(get.cdr().from());
        assertNull(get.cdr().custom());
        assertEquals("0444", get.cdr().to());
    }

    @Test
    void longStatusesThatBeginAlikeMakeDifferentKindsAndShortOnesKeepTheirSpelling() {
        String sales = kind("\"type\":\"event\",\"status\":\"transferred-to-queue-sales\"");
        String support = kind("\"type\":\"event\",\"status\":\"transferred-to-queue-support\"");
        assertTrue(sales.matches("live-event-transferred-t-[0-9a-f]{6}"), sales);
        assertTrue(support.matches("live-event-transferred-t-[0-9a-f]{6}"), support);
        assertNotEquals(sales, support, "half of the deduplication key: the second would be a duplicate");
        assertEquals(sales, kind("\"type\":\"event\",\"status\":\"Transferred To Queue Sales\""), "case and punctuation fold as before");
        assertNotEquals(kind("\"direction\":\"inbound\",\"status\":\"answered-after-transfer-a\""),
                kind("\"direction\":\"inbound\",\"status\":\"answered-after-transfer-b\""));
        // twenty characters or fewer: as before
        assertEquals("live-event-transferred-to-queue", kind("\"type\":\"event\",\"status\":\"transferred_to_queue\""));
        assertEquals("incoming-missed-cdr", kind("\"direction\":\"inbound\",\"status\":\"Missed\""));
        // parts of twenty each, the type cut to fit the column: cut as before, not hashed
        String twenty = "abcdefghijklmnopqrst";
        assertEquals("abcdefghijklmnopqr-" + twenty + "-" + twenty + "-cdr",
                kind("\"type\":\"" + twenty + "\",\"direction\":\"" + twenty + "\",\"status\":\"" + twenty + "\""));
    }

    @Test
    void kindsBuiltFromLongPartsFitTheirColumnAndAnAnsweredStatusTooLongForItsColumnReadsAnswered() {
        String body = "\"type\":\"" + "t".repeat(1000) + "\",\"direction\":\"" + "d".repeat(1000) + "\",\"status\":\""
                + "s".repeat(1000) + "\",\"leg\":\"" + "l".repeat(1000) + "\"";
        String kind = kind(body);
        assertTrue(kind.length() <= TelecmiNotification.MAX_KIND, kind);
        assertEquals(kind, kind(body), "the same kind for the same parts: half of the deduplication key");
        TelecmiNotification answered = parse("\"status\":\"answered" + "!".repeat(1200) + "\"");
        assertEquals(TelecmiNotification.INCOMING_ANSWERED_CDR, answered.kind());
        assertEquals("answered", answered.cdr().status());
    }
}
