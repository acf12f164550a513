package io.github.telecmicdr.alert;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What a CDR's text becomes in an alert: escaped for HTML, one line in the text part and headers. */
class AlertTextTest {

    @Test
    void htmlEscapesEveryCharacterThatCouldOpenMarkup() {
        assertEquals("&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#39;q&#39;", AlertEmails.escapeHtml("<img src=x onerror=\"alert(1)\"> & 'q'"));
        assertEquals("São Paulo 東京", AlertEmails.escapeHtml("São Paulo 東京"));
    }

    @Test
    void lineBreaksAndControlCharactersBecomeOneSpace() {
        assertEquals("Sales Recording: https://evil", AlertEmails.oneLine("Sales\r\n\r\nRecording: https://evil"));
        assertEquals("a b c d e", AlertEmails.oneLine("a\u2028b\u0085c\u0000d\te"));
        assertEquals("x Bcc: thief@evil.example", AlertEmails.headerSafe("  x\r\nBcc: thief@evil.example\n"));
    }

    @Test
    void hangupReasonsInWords() {
        assertEquals("the agent did not answer", AlertEmails.describe("recv_cancel"));
        assertEquals("the agent rejected the call", AlertEmails.describe("sent_reject"));
        assertEquals("the agent ended the call", AlertEmails.describe("sent_bye"));
        assertEquals("the caller ended the call", AlertEmails.describe("recv_bye"));
        assertEquals("call ended (busy)", AlertEmails.describe("busy"));
        assertEquals("call ended", AlertEmails.describe(null));
    }
}
