package io.github.telecmicdr.alert;

import io.github.telecmicdr.delivery.Delivery;
import io.github.telecmicdr.delivery.PermanentFailure;
import io.github.telecmicdr.store.CdrQueries;
import io.github.telecmicdr.store.StoredCdr;
import io.github.telecmicdr.telecmi.Cdr;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import org.apache.camel.Variable;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Composes the alert email of an answered CDR from the templates: a plain-text and an HTML part,
 * UTF-8, CDR text escaped for HTML and stripped of line breaks where it reaches a header.
 * Sender and recipients come only from configuration. The Message-ID is derived from the cmiuuid,
 * so a resend after a crash is recognisably the same message.
 */
public final class AlertEmails {

    private static final Pattern CONTROL = Pattern.compile("[\\p{Cc}\\u2028\\u2029]+");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([a-z_]+)}");
    private static final DateTimeFormatter CALL_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss zzz");

    private final CdrQueries cdrs;
    private final InternetAddress from;
    private final InternetAddress[] to;
    private final ZoneId timeZone;
    private final String publicBaseUrl;
    private final String textTemplate;
    private final String htmlTemplate;
    private final Session session = Session.getInstance(new Properties());

    public AlertEmails(CdrQueries cdrs, String from, String to, String timeZone, String publicBaseUrl) {
        this.cdrs = cdrs;
        try {
            this.from = new InternetAddress(from, true);
            this.to = InternetAddress.parse(to, true);
        } catch (AddressException e) {
            throw new IllegalArgumentException("alert.from / alert.to must be email addresses: " + e.getMessage(), e);
        }
        if (this.to.length == 0) {
            throw new IllegalArgumentException("alert.to must name at least one recipient");
        }
        this.timeZone = ZoneId.of(timeZone);
        this.publicBaseUrl = publicBaseUrl.replaceAll("/+$", "");
        this.textTemplate = template("templates/alert-email.txt");
        this.htmlTemplate = template("templates/alert-email.html");
    }

    /** The alert of the claimed delivery, as a MimeMessage ready for smtp: or the outbox. */
    public MimeMessage compose(@Variable("delivery") Delivery delivery) throws SQLException, MessagingException {
        StoredCdr stored = cdrs.find(delivery.cmiuuid());
        if (stored == null) {
            throw new PermanentFailure("the CDR " + delivery.cmiuuid() + " is not stored");
        }
        Cdr cdr = stored.cdr();
        Map<String, String> values = values(cdr, stored.recordingSkipped() == null && cdr.recorded());

        MimeMessage message = new StableIdMimeMessage(session, "<" + cdr.cmiuuid() + ".alert@telecmi-cdr-router>");
        message.setFrom(from);
        message.setRecipients(MimeMessage.RecipientType.TO, to);
        message.setSubject(headerSafe("Call alert: " + values.get("hangup_reason_text") + " – from " + values.get("from")
                + " (team " + values.get("team") + ")"), "UTF-8");
        message.setSentDate(new Date());
        MimeBodyPart text = new MimeBodyPart();
        text.setText(fill(textTemplate, values, false), "UTF-8");
        MimeBodyPart html = new MimeBodyPart();
        html.setText(fill(htmlTemplate, values, true), "UTF-8", "html");
        MimeMultipart alternative = new MimeMultipart("alternative");
        alternative.addBodyPart(text);
        alternative.addBodyPart(html);
        message.setContent(alternative);
        message.saveChanges();
        return message;
    }

    /** The message as an .eml file's bytes (RFC 5322), for the outbox when no SMTP host is set. */
    public byte[] toEml(MimeMessage message) throws IOException, MessagingException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        message.writeTo(out);
        return out.toByteArray();
    }

    private Map<String, String> values(Cdr cdr, boolean recordingPlanned) {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("cmiuuid", cdr.cmiuuid());
        v.put("from", orDash(cdr.from()));
        v.put("to", orDash(cdr.to()));
        v.put("virtual_number", orDash(cdr.virtualNumber()));
        v.put("user", orDash(cdr.user()));
        v.put("team", orDash(cdr.team()));
        v.put("answeredsec", cdr.answeredSeconds() == null ? "-" : String.valueOf(cdr.answeredSeconds()));
        v.put("call_time", cdr.callTime() == null ? "-" : CALL_TIME.format(cdr.callTime().atZone(timeZone)));
        v.put("ivr_name", orDash(cdr.ivrName()));
        v.put("hangup_reason", orDash(cdr.hangupReason()));
        v.put("hangup_reason_text", describe(cdr.hangupReason()));
        v.put("recording_link", recordingPlanned ? publicBaseUrl + "/recordings/" + cdr.cmiuuid() : "none");
        return v;
    }

    static String describe(String hangupReason) {
        if (hangupReason == null) {
            return "call ended";
        }
        return switch (hangupReason) {
            case "sent_bye" -> "the agent ended the call";
            case "recv_bye" -> "the caller ended the call";
            case "recv_cancel" -> "the agent did not answer";
            case "sent_reject" -> "the agent rejected the call";
            default -> "call ended (" + hangupReason + ")";
        };
    }

    private static String fill(String template, Map<String, String> values, boolean html) {
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(1);
            String value;
            if (name.equals("recording_html")) {
                String link = values.get("recording_link");
                value = link.equals("none") ? "none" : "<a href=\"" + escapeHtml(link) + "\">" + escapeHtml(link) + "</a>";
            } else {
                // one line each: a CR/LF in a CDR field must not add a line ("Recording: https://evil…") to the text
                String raw = oneLine(values.getOrDefault(name, ""));
                value = html ? escapeHtml(raw) : raw;
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        m.appendTail(out);
        return out.toString();
    }

    static String escapeHtml(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /** No CR, LF or other control character (C0, C1, Unicode line separators) from a CDR ever reaches a header. */
    static String headerSafe(String s) {
        return oneLine(s).trim();
    }

    /** The text on one line: every run of control characters and line separators becomes one space. */
    static String oneLine(String s) {
        return CONTROL.matcher(s).replaceAll(" ");
    }

    private static String orDash(String s) {
        return s == null || s.isBlank() ? "-" : s;
    }

    private static String template(String resource) {
        try (InputStream in = AlertEmails.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing " + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** JavaMail replaces the Message-ID on every save; this one keeps the one derived from the call. */
    static final class StableIdMimeMessage extends MimeMessage {
        private final String messageId;

        StableIdMimeMessage(Session session, String messageId) {
            super(session);
            this.messageId = messageId;
        }

        @Override
        protected void updateMessageID() throws MessagingException {
            setHeader("Message-ID", messageId);
        }
    }
}
