package io.github.telecmicdr.reconcile;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.telecmicdr.CdrRouterConfiguration;
import io.github.telecmicdr.Problem;
import io.github.telecmicdr.telecmi.Cdr;
import io.github.telecmicdr.telecmi.TelecmiNotification;
import io.github.telecmicdr.telecmi.TelecmiParser;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A row of TeleCMI's pull API reads as the webhook of the same call would, so the two meet on one key. */
class PulledRowTest {

    static final TelecmiParser PARSER = new TelecmiParser(serviceMapper());

    static ObjectMapper serviceMapper() {
        try {
            Method m = CdrRouterConfiguration.class.getDeclaredMethod("objectMapper");
            m.setAccessible(true);
            return (ObjectMapper) m.invoke(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aDocumentedRowIsAnIncomingAnsweredCdrOfTheAccount() {
        // TeleCMI's own sample row of POST /v2/answered
        String row = "{\"cmiuid\":\"0a562832-ac7c-48c6-8847-47c8bf2a0b7d\",\"duration\":67,\"agent\":\"201_1111112\","
                + "\"notes\":[{\"msg\":\"Support Query\",\"date\":1652105272029,\"agent\":\"201_1111112\"}],\"billedsec\":61,"
                + "\"filename\":\"1652085467968095564833_1111112.mp3\",\"rate\":0,\"record\":\"true\",\"name\":\"unknown\","
                + "\"from\":919000000001,\"to\":919999999999,\"time\":1652105272029}";
        TelecmiNotification n = PARSER.parsePulledRow(row, "1111112");
        assertEquals(TelecmiNotification.INCOMING_ANSWERED_CDR, n.kind(), "the webhook's kind: the same call deduplicates");
        assertEquals("0a562832-ac7c-48c6-8847-47c8bf2a0b7d", n.cmiuuid());
        assertEquals("1111112", n.appid());
        assertNull(n.method(), "it came by no HTTP method of TeleCMI's");
        assertEquals(row, n.rawPayload(), "the row is the raw payload");
        Cdr cdr = n.cdr();
        assertEquals(67, cdr.answeredSeconds());
        assertEquals("201_1111112", cdr.user());
        assertTrue(cdr.recorded());
        assertEquals("1652085467968095564833_1111112.mp3", cdr.recordingFilename());
        assertEquals("919000000001", cdr.from());
        assertEquals("919999999999", cdr.to());
        assertEquals("answered", cdr.status());
        assertEquals("inbound", cdr.direction());
        assertEquals(Instant.ofEpochMilli(1652105272029L), cdr.callTime());
        assertNull(cdr.hangupReason());
        assertNull(n.recordingSkipped());
    }

    @Test
    void whatTheRowSaysWins() {
        TelecmiNotification n = PARSER.parsePulledRow("{\"cmiuid\":\"c-2\",\"appid\":\"3333333\",\"duration\":\"5\",\"record\":\"false\","
                + "\"hangup_reason\":\"recv_cancel\"}", "1111112");
        assertEquals("3333333", n.appid());
        assertEquals("recv_cancel", n.hangupReason());
        assertEquals(5, n.cdr().answeredSeconds());
        assertTrue(!n.recorded(), "the string \"false\" is false");
        assertEquals("incoming-missed-cdr", PARSER.parsePulledRow("{\"cmiuid\":\"c-3\",\"status\":\"missed\"}", "1").kind());
    }

    @Test
    void aRowThatIsNotACallIsRefusedNamingTheField() {
        assertEquals("cmiuuid", assertThrows(Problem.class, () -> PARSER.parsePulledRow("{\"duration\":5}", "1")).field());
        assertEquals("cmiuid", assertThrows(Problem.class, () -> PARSER.parsePulledRow("{\"cmiuid\":\"a b\"}", "1")).field());
        assertEquals("cdr", assertThrows(Problem.class, () -> PARSER.parsePulledRow("[1]", "1")).field());
        assertEquals("cdr", assertThrows(Problem.class, () -> PARSER.parsePulledRow("\"x\"", "1")).field());
    }
}
