package io.github.telecmicdr.alert;

import io.github.telecmicdr.delivery.Delivery;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import org.apache.camel.Body;
import org.apache.camel.Variable;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Composes the alert email of a stored notification (an answered CDR by default) from the templates: a plain-text and an HTML part,
 * UTF-8, CDR text escaped for HTML and stripped of line breaks where it reaches a header.
 * Sender and recipients come only from configuration. The Message-ID is derived from the cmiuuid
 * (and the notification's kind, for any kind but the answered CDR),
 * so a resend after a crash is recognisably the same message.
 */
public final class AlertEmails {

    private static final Pattern CONTROL = Pattern.compile("[\\p{Cc}\\u2028\\u2029]+");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([a-z_]+)}");
    private static final DateTimeFormatter CALL_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss zzz");

    private final InternetAddress from;
    private final InternetAddress[] to;
    private final ZoneId timeZone;
    private final String textTemplate;
    private final String htmlTemplate;
    private final Session session = Session.getInstance(new Properties());

    public AlertEmails(String from, String to, String timeZone) {
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
        this.textTemplate = template("templates/alert-email.txt");
        this.htmlTemplate = template("templates/alert-email.html");
    }

    /**
     * The alert of the claimed delivery, as a MimeMessage ready for smtp: or the outbox, from the
     * stored notification the delivery source hands over as the body (any kind: an answered CDR, a
     * missed call; what a kind does not carry shows as "-").
     */
    public MimeMessage compose(@Body Map<String, Object> call, @Variable("delivery") Delivery delivery) throws MessagingException {
        Map<String, String> values = values(call);
        MimeMessage message = new StableIdMimeMessage(session, "<" + delivery.notificationName() + ".alert@telecmi-cdr-router>");
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

    private Map<String, String> values(Map<String, Object> call) {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("cmiuuid", text(call, "cmiuuid"));
        v.put("kind", text(call, "kind"));
        v.put("from", text(call, "from"));
        v.put("to", text(call, "to"));
        v.put("virtual_number", text(call, "virtual_number"));
        v.put("user", text(call, "user"));
        v.put("team", text(call, "team"));
        v.put("answeredsec", text(call, "answeredsec"));
        Object callTime = call.get("call_time");
        v.put("call_time", callTime == null ? "-" : CALL_TIME.format(Instant.parse(callTime.toString()).atZone(timeZone)));
        v.put("ivr_name", text(call, "ivr_name"));
        Object hangupReason = call.get("hangup_reason");
        v.put("hangup_reason", text(call, "hangup_reason"));
        v.put("hangup_reason_text", describe(hangupReason == null ? null : hangupReason.toString()));
        Object recording = call.get("recording_url");
        v.put("recording_link", recording == null ? "none" : recording.toString());
        return v;
    }

    private static String text(Map<String, Object> call, String field) {
        Object value = call.get(field);
        return value == null || value.toString().isBlank() ? "-" : value.toString();
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
