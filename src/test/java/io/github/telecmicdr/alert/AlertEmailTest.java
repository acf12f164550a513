package io.github.telecmicdr.alert;

import com.fasterxml.jackson.databind.JsonNode;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import jakarta.mail.Multipart;
import jakarta.mail.internet.MimeMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Email alerts over real SMTP (GreenMail), driven by hangup_reason and alert.hangup-reasons. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AlertEmailTest {

    static final String SMTP_PASSWORD = "smtp-secret-password-4711";
    GreenMail smtp;
    RunningService service;

    @BeforeAll
    void start() {
        LogCapture.get();
        smtp = new GreenMail(new ServerSetup(RunningService.freePort(), "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        smtp.start();
        smtp.setUser("router@example.com", "router", SMTP_PASSWORD);
        service = RunningService.builder()
                .property("mail.smtp.host", "127.0.0.1")
                .property("mail.smtp.port", String.valueOf(smtp.getSmtp().getPort()))
                .property("mail.smtp.username", "router")
                .property("mail.smtp.password", SMTP_PASSWORD)
                .property("alert.to", "oncall@example.com, lead@example.com")
                .property("alert.from", "router@example.com")
                .property("alert.time-zone", "Asia/Kolkata")
                .property("public.base-url", "https://cdr.example.com")
                .property("delivery.poll-interval-ms", "100")
                .build();
    }

    @AfterAll
    void stop() {
        service.close();
        smtp.stop();
        assertTrue(LogCapture.get().linesContaining(SMTP_PASSWORD).isEmpty(), "SMTP password in the log");
    }

    static String cdr(String id, String hangupReason, String team) {
        return "{\"cmiuuid\":\"" + id + "\",\"appid\":2222223,\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"answered\","
                + "\"from\":\"+919876543210\",\"to\":440000000001,\"virtual_number\":440000000000,\"user\":\"204_2222223\","
                + "\"team\":" + team + ",\"answeredsec\":11,\"time\":1634720920615,\"hangup_reason\":\"" + hangupReason + "\","
                + "\"record\":false,\"ivr_name\":\"salesivr\"}";
    }

    /** GreenMail keeps one copy per recipient: two for each alert here (alert.to names two). */
    List<MimeMessage> messagesFor(String id) throws Exception {
        List<MimeMessage> found = new ArrayList<>();
        for (MimeMessage m : smtp.getReceivedMessages()) {
            if (m.getMessageID().contains(id)) {
                found.add(m);
            }
        }
        return found;
    }

    @Test
    void everyHangupReasonIsAlertedOrNotAsConfigured() throws Exception {
        String[] alerted = {"recv_cancel", "sent_reject"};
        String[] quiet = {"sent_bye", "recv_bye"};
        List<String> quietIds = new ArrayList<>();
        for (String reason : quiet) {
            String id = UUID.randomUUID().toString();
            quietIds.add(id);
            assertEquals(200, service.postWebhook(cdr(id, reason, "\"Sales\"")).status());
            assertEquals(0, service.cdr(id).get("deliveries").size(), reason + " plans nothing");
        }
        for (String reason : alerted) {
            String id = UUID.randomUUID().toString();
            assertEquals(200, service.postWebhook(cdr(id, reason, "\"Sales\"")).status());
            JsonNode delivery = service.awaitFinished(id, "alert-email");
            assertEquals("done", delivery.get("state").asText(), reason);
            assertEquals(2, messagesFor(id).size(), reason);
        }
        for (String id : quietIds) {
            assertTrue(messagesFor(id).isEmpty());
        }
    }

    @Test
    void theAlertSaysWhatHappenedSafely() throws Exception {
        String id = UUID.randomUUID().toString();
        String team = "\"São Paulo 東京 <script>alert(1)</script>\\r\\nBcc: thief@evil.example\"";
        assertEquals(200, service.postWebhook(cdr(id, "recv_cancel", team)).status());
        service.awaitFinished(id, "alert-email");
        MimeMessage m = messagesFor(id).get(0);

        assertEquals("<" + id + ".alert@telecmi-cdr-router>", m.getMessageID());
        assertEquals("router@example.com", m.getFrom()[0].toString());
        assertEquals(List.of("oncall@example.com", "lead@example.com"),
                Arrays.stream(m.getAllRecipients()).map(Object::toString).toList(), "recipients only from configuration");
        assertNull(m.getHeader("Bcc"));
        String subject = m.getSubject();
        assertTrue(subject.contains("the agent did not answer"), subject);
        assertTrue(subject.contains("+919876543210"), subject);
        assertTrue(subject.contains("São Paulo 東京"), subject);
        assertFalse(subject.contains("\r") || subject.contains("\n"), subject);
        assertTrue(m.getHeader("Subject")[0].startsWith("=?UTF-8?"), "encoded subject");

        Multipart parts = (Multipart) m.getContent();
        assertEquals(2, parts.getCount());
        String text = (String) parts.getBodyPart(0).getContent();
        String html = (String) parts.getBodyPart(1).getContent();
        assertTrue(parts.getBodyPart(0).isMimeType("text/plain"));
        assertTrue(parts.getBodyPart(1).isMimeType("text/html"));
        for (String expected : new String[] {id, "+919876543210", "440000000001", "440000000000", "204_2222223", "11 s", "salesivr", "recv_cancel"}) {
            assertTrue(text.contains(expected), expected + " in\n" + text);
            assertTrue(html.contains(expected), expected + " in\n" + html);
        }
        assertTrue(text.contains("2021-10-20 14:38:40 IST"), "call time in alert.time-zone:\n" + text);
        assertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), html);
        assertFalse(html.contains("<script>"), html);
        assertTrue(text.contains("Recording:       none"), text);
    }

    @Test
    void recordedCallsLinkTheirRecording() throws Exception {
        String id = UUID.randomUUID().toString();
        assertEquals(200, service.postWebhook(cdr(id, "sent_reject", "\"Sales\"")
                .replace("\"record\":false", "\"record\":true,\"filename\":\"" + id + ".wav\"")).status());
        service.awaitFinished(id, "alert-email");
        String text = (String) ((Multipart) messagesFor(id).get(0).getContent()).getBodyPart(0).getContent();
        assertTrue(text.contains("https://cdr.example.com/recordings/" + id), text);
    }

    @Test
    void aDuplicateCdrSendsNoSecondAlert() throws Exception {
        String id = UUID.randomUUID().toString();
        assertEquals(200, service.postWebhook(cdr(id, "recv_cancel", "\"Sales\"")).status());
        service.awaitFinished(id, "alert-email");
        assertTrue(service.postWebhook(cdr(id, "recv_cancel", "\"Sales\"")).body().contains("duplicate"));
        // a later alert arriving proves the poller has run since the duplicate
        String later = UUID.randomUUID().toString();
        service.postWebhook(cdr(later, "recv_cancel", "\"Sales\""));
        service.awaitFinished(later, "alert-email");
        assertEquals(2, messagesFor(id).size(), "one message, one copy per recipient");
        assertEquals(1, service.cdr(id).get("deliveries").size());
    }

    @Test
    void whichReasonsAlertIsASettingNotCode() throws Exception {
        try (RunningService byeOnly = RunningService.builder()
                .property("mail.smtp.host", "127.0.0.1")
                .property("mail.smtp.port", String.valueOf(smtp.getSmtp().getPort()))
                .property("alert.hangup-reasons", "sent_bye")
                .property("delivery.poll-interval-ms", "100")
                .build()) {
            String bye = UUID.randomUUID().toString();
            String cancel = UUID.randomUUID().toString();
            byeOnly.postWebhook(cdr(bye, "sent_bye", "\"Sales\""));
            byeOnly.postWebhook(cdr(cancel, "recv_cancel", "\"Sales\""));
            assertEquals("done", byeOnly.awaitFinished(bye, "alert-email").get("state").asText());
            assertNull(byeOnly.delivery(cancel, "alert-email"));
        }
    }

    @Test
    void aLineBreakInAFieldCannotAddALineToTheText() throws Exception {
        String id = UUID.randomUUID().toString();
        String team = "\"Sales\\n\\nRecording: https://evil.example/x\\r\\nFrom:\\u2028 x\\u0085y\"";
        assertEquals(200, service.postWebhook(cdr(id, "recv_cancel", team)).status());
        service.awaitFinished(id, "alert-email");
        Multipart parts = (Multipart) messagesFor(id).get(0).getContent();
        String text = (String) parts.getBodyPart(0).getContent();
        List<String> recordingLines = text.lines().filter(l -> l.startsWith("Recording:")).toList();
        assertEquals(List.of("Recording:       none"), recordingLines, text);
        long templateLines = Files.readString(Path.of("src/main/resources/templates/alert-email.txt")).lines().count();
        assertEquals(templateLines, text.lines().count(), "no line added by a field:\n" + text);
        String html = (String) parts.getBodyPart(1).getContent();
        assertFalse(html.contains("\u2028") || html.contains("\u0085"), html);
    }

    @Test
    void withoutAnSmtpHostAlertsLandInTheOutbox() throws Exception {
        try (RunningService embedded = RunningService.builder().property("delivery.poll-interval-ms", "100").build()) {
            String id = UUID.randomUUID().toString();
            embedded.postWebhook(cdr(id, "recv_cancel", "\"Sales\""));
            assertEquals("done", embedded.awaitFinished(id, "alert-email").get("state").asText());
            Path eml = embedded.dataDir().resolve("outbox").resolve(id + ".eml");
            String content = Files.readString(eml);
            assertTrue(content.contains("Message-ID: <" + id + ".alert@telecmi-cdr-router>"), content);
            assertTrue(content.contains("To: alerts@localhost"), content);
            assertFalse(LogCapture.get().linesContaining("written as .eml files to " + embedded.dataDir()).isEmpty(), "startup says so");
        }
    }

    /**
     * An alert planned for a missed call (by configuration, no Java): composed from the stored
     * notification, beside the answered CDR's alert of the same call, each its own file and Message-ID.
     */
    @Test
    void aMissedCallCanBeAlertedToo() throws Exception {
        try (RunningService embedded = RunningService.builder().property("delivery.poll-interval-ms", "100")
                .property("delivery.destinations", "alert-email")
                .property("delivery.alert-email.notification-kinds", "incoming-missed-cdr").build()) {
            String id = UUID.randomUUID().toString();
            embedded.postWebhook("{\"cmiuuid\":\"" + id + "\",\"status\":\"missed\",\"from\":\"919876543210\",\"team\":\"Support\"}");
            embedded.postWebhook(cdr(id, "recv_cancel", "\"Sales\""));
            Path outbox = embedded.dataDir().resolve("outbox");
            Await.until(Duration.ofSeconds(30), () -> Files.exists(outbox.resolve(id + ".incoming-missed-cdr.eml"))
                    && Files.exists(outbox.resolve(id + ".eml")), ok -> ok, "both alerts written");
            String missed = Files.readString(outbox.resolve(id + ".incoming-missed-cdr.eml"));
            assertTrue(missed.contains("Message-ID: <" + id + ".incoming-missed-cdr.alert@telecmi-cdr-router>"), missed);
            assertTrue(missed.contains("919876543210") && missed.contains("Support"), missed);
            assertTrue(Files.readString(outbox.resolve(id + ".eml")).contains("Message-ID: <" + id + ".alert@telecmi-cdr-router>"));
        }
    }

    @Test
    void smtpDownThenBackDeliversOnce() throws Exception {
        int port = RunningService.freePort();
        try (RunningService s = RunningService.builder()
                .property("mail.smtp.host", "127.0.0.1")
                .property("mail.smtp.port", String.valueOf(port))
                .property("delivery.poll-interval-ms", "100")
                .property("delivery.backoff-initial", "200ms")
                .property("delivery.backoff-max", "500ms")
                // whatever the machine's speed, the outcome depends on SMTP coming back, not on the clock
                .property("delivery.max-attempts", "100000").property("delivery.max-age", "1h")
                .build()) {
            String id = UUID.randomUUID().toString();
            s.postWebhook(cdr(id, "recv_cancel", "\"Sales\""));
            JsonNode retrying = Await.until(Duration.ofSeconds(60), () -> s.delivery(id, "alert-email"),
                    // attempts counts claims: wait until the second attempt has ended, not just begun
                    d -> d.get("attempts").asInt() >= 2 && !"in_progress".equals(d.get("state").asText()),
                    "two failed attempts while SMTP is down");
            assertEquals("pending", retrying.get("state").asText());
            assertFalse(retrying.get("last_error").isNull());

            GreenMail late = new GreenMail(new ServerSetup(port, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
            late.start();
            try {
                JsonNode done = s.awaitFinished(id, "alert-email");
                assertEquals("done", done.get("state").asText());
                assertTrue(done.get("last_error").isNull());
                // a few more poll cycles: still exactly one message
                String marker = UUID.randomUUID().toString();
                s.postWebhook(cdr(marker, "recv_cancel", "\"Sales\""));
                s.awaitFinished(marker, "alert-email");
                long copies = Arrays.stream(late.getReceivedMessages()).filter(m -> {
                    try {
                        return m.getMessageID().contains(id);
                    } catch (Exception e) {
                        return false;
                    }
                }).count();
                assertEquals(1, copies);
            } finally {
                late.stop();
            }
        }
    }
}
