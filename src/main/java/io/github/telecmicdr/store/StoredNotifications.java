package io.github.telecmicdr.store;

import io.github.telecmicdr.Problem;
import io.github.telecmicdr.delivery.PermanentFailure;
import io.github.telecmicdr.telecmi.Cdr;
import io.github.telecmicdr.telecmi.TelecmiParser;

import javax.sql.DataSource;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A stored notification as every destination is handed it: the call with the read API's field
 * names ({@code GET /api/cdrs/{cmiuuid}}, without its deliveries), for every kind, plus
 * {@code kind}, the numbers in E.164 and our URL of its recording. The one body the CRM forward
 * posts and the ESB event carries as its data.
 *
 * <p>An incoming answered CDR is read from its typed row, as the read API shows it. Any other kind
 * (a missed call, a live event) has no typed row: its stored payload is normalised again by the
 * parser that admitted it, and what that kind does not carry is null.
 */
public final class StoredNotifications {

    private static final String SELECT = "SELECT n.id, n.kind, n.cmiuuid, n.appid, n.received_at, n.source,"
            + " CASE WHEN c.cmiuuid IS NULL THEN n.raw_payload END AS raw_payload,"
            + " c.direction, c.call_status, c.caller_number, c.called_number, c.virtual_number, c.agent, c.team,"
            + " c.answered_seconds, c.hangup_reason, c.recorded, c.recording_filename, c.conversation_uuid, c.ivr_name,"
            + " c.custom, c.call_time, c.recording_skipped"
            + " FROM notification n LEFT JOIN cdr c ON c.notification_id = n.id WHERE n.id";

    private final DataSource dataSource;
    private final TelecmiParser parser;
    private final UnaryOperator<String> e164;
    private final String publicBaseUrl;

    /**
     * @param e164          a phone number in E.164, or null when it is not a valid number
     * @param publicBaseUrl where this service is reached from outside (public.base-url), for recording_url
     */
    public StoredNotifications(DataSource dataSource, TelecmiParser parser, UnaryOperator<String> e164, String publicBaseUrl) {
        this.dataSource = dataSource;
        this.parser = parser;
        this.e164 = e164;
        this.publicBaseUrl = publicBaseUrl.replaceAll("/+$", "");
    }

    /** The notification as a destination's steps get it, or null when it is no longer stored (retention removed it). */
    public Map<String, Object> call(long notificationId) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(SELECT + " = ?")) {
            ps.setLong(1, notificationId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? call(rs) : null;
            }
        }
    }

    /**
     * Several notifications in one query, as {@link #call(long)} gives each, by id; one no longer
     * stored is missing from the map. For a page of them: each payload that is read is held until
     * the map is returned, so the caller bounds how many bytes of payload it asks for at once.
     */
    public Map<Long, Map<String, Object>> calls(Connection c, java.util.Collection<Long> notificationIds) throws SQLException {
        Map<Long, Map<String, Object>> calls = new LinkedHashMap<>();
        if (notificationIds.isEmpty()) {
            return calls;
        }
        String ids = String.join(", ", java.util.Collections.nCopies(notificationIds.size(), "?"));
        try (PreparedStatement ps = c.prepareStatement(SELECT + " IN (" + ids + ")")) {
            int i = 0;
            for (long id : notificationIds) {
                ps.setLong(++i, id);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    calls.put(rs.getLong("id"), call(rs));
                }
            }
        }
        return calls;
    }

    private Map<String, Object> call(ResultSet rs) throws SQLException {
        String kind = rs.getString("kind");
        String rawPayload = rs.getString("raw_payload");
        Cdr call;
        String recordingSkipped;
        boolean answeredCdr = rawPayload == null;
        if (answeredCdr) {
            call = CdrQueries.cdr(rs);
            recordingSkipped = rs.getString("recording_skipped");
        } else {
            // admitted by this parser when it arrived, so it reads the same now
            try {
                call = parser.parseJson(rawPayload.getBytes(StandardCharsets.UTF_8)).call();
            } catch (Problem refused) {
                // admitted once, refused by today's limits: no attempt would read it differently
                throw new PermanentFailure("the stored notification no longer parses: " + refused.getMessage());
            }
            recordingSkipped = null;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("kind", kind);
        body.put("cmiuuid", rs.getString("cmiuuid"));
        body.put("appid", rs.getString("appid"));
        body.put("type", kind.startsWith("live-event-") ? "event" : "cdr");
        body.put("direction", call.direction());
        body.put("status", call.status());
        body.put("from", call.from());
        body.put("to", call.to());
        body.put("virtual_number", call.virtualNumber());
        body.put("user", call.user());
        body.put("team", call.team());
        body.put("answeredsec", call.answeredSeconds());
        body.put("hangup_reason", call.hangupReason());
        body.put("record", call.recorded());
        body.put("filename", call.recordingFilename());
        body.put("conversation_uuid", call.conversationUuid());
        body.put("ivr_name", call.ivrName());
        body.put("custom", call.custom());
        body.put("call_time", call.callTime() == null ? null : call.callTime().toString());
        body.put("received_at", rs.getObject("received_at", OffsetDateTime.class).toInstant().toString());
        body.put("recording_skipped", recordingSkipped);
        // webhook, or reconcile for a call recovered from TeleCMI's pull API
        body.put("source", rs.getString("source"));
        body.put("from_e164", e164.apply(call.from()));
        body.put("to_e164", e164.apply(call.to()));
        body.put("virtual_number_e164", e164.apply(call.virtualNumber()));
        // only answered CDRs' recordings are fetched; TeleCMI's own URL carries the secret and is never handed out
        boolean fetched = answeredCdr && call.recorded() && recordingSkipped == null;
        body.put("recording_url", fetched ? publicBaseUrl + "/recordings/" + call.cmiuuid() : null);
        return body;
    }
}
