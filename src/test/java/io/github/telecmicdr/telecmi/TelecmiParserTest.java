package io.github.telecmicdr.telecmi;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.telecmicdr.CdrRouterConfiguration;
import io.github.telecmicdr.Problem;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Where the parser draws the line: a field it cannot use is left out and the call kept; only the
 * call's identity and a number beyond its field's type are refused. Over HTTP and in the database:
 * WebhookContract.
 */
class TelecmiParserTest {

    static final TelecmiParser PARSER = new TelecmiParser(serviceMapper());

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
        for (String value : new String[] {"{\"id\":2222223}", "[2222223]", "true", "\"2222223\\u0000\"", "\"" + "7".repeat(65) + "\""}) {
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
}
