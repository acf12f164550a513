package io.github.telecmicdr.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import io.github.telecmicdr.Problem;
import io.github.telecmicdr.telecmi.Cdr;
import org.apache.camel.Header;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/**
 * What the read API answers, with TeleCMI's own field names so a CRM mapping written for TeleCMI's
 * payload reads ours unchanged.
 */
public final class CdrQueries {

    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;

    private static final String CDR_COLUMNS = "n.id, c.cmiuuid, c.appid, c.direction, c.call_status, c.caller_number,"
            + " c.called_number, c.virtual_number, c.agent, c.team, c.answered_seconds, c.hangup_reason, c.recorded,"
            + " c.recording_filename, c.conversation_uuid, c.ivr_name, c.custom, c.call_time, c.received_at, c.recording_skipped"
            + " FROM cdr c JOIN notification n ON n.cmiuuid = c.cmiuuid AND n.kind = 'incoming-answered-cdr'";

    private final DataSource dataSource;
    private final ObjectMapper mapper;

    public CdrQueries(DataSource dataSource, ObjectMapper mapper) {
        this.dataSource = dataSource;
        this.mapper = mapper;
    }

    /** The stored answered CDR of a call, or null. */
    public StoredCdr find(String cmiuuid) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT " + CDR_COLUMNS + " WHERE c.cmiuuid = ?")) {
            ps.setString(1, cmiuuid);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? storedCdr(rs) : null;
            }
        }
    }

    /** The CDR with its deliveries (kind, state, attempts, ...) and its recording when downloaded. */
    public ObjectNode cdr(@Header("cmiuuid") String cmiuuid) throws SQLException {
        StoredCdr stored = find(cmiuuid);
        if (stored == null) {
            throw new Problem(404, "no answered CDR with cmiuuid '" + printable(cmiuuid) + "'", "cmiuuid");
        }
        ObjectNode cdr = cdrJson(stored);
        try (Connection c = dataSource.getConnection()) {
            ArrayNode deliveries = cdr.putArray("deliveries");
            try (PreparedStatement ps = c.prepareStatement("SELECT id, kind, state, attempts, next_attempt_at, last_error, created_at,"
                    + " completed_at FROM delivery WHERE cmiuuid = ? ORDER BY id")) {
                ps.setString(1, cmiuuid);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        ObjectNode d = deliveries.addObject();
                        d.put("id", rs.getLong("id"));
                        d.put("kind", rs.getString("kind"));
                        d.put("state", rs.getString("state"));
                        d.put("attempts", rs.getInt("attempts"));
                        d.put("next_attempt_at", iso(rs.getObject("next_attempt_at", OffsetDateTime.class)));
                        d.put("last_error", rs.getString("last_error"));
                        d.put("created_at", iso(rs.getObject("created_at", OffsetDateTime.class)));
                        d.put("completed_at", iso(rs.getObject("completed_at", OffsetDateTime.class)));
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT content_type, size_bytes, sha256, stored_at FROM recording WHERE cmiuuid = ?")) {
                ps.setString(1, cmiuuid);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        ObjectNode r = cdr.putObject("recording");
                        r.put("url", "/recordings/" + cmiuuid);
                        r.put("content_type", rs.getString("content_type"));
                        r.put("size_bytes", rs.getLong("size_bytes"));
                        r.put("sha256", rs.getString("sha256"));
                        r.put("stored_at", iso(rs.getObject("stored_at", OffsetDateTime.class)));
                    } else {
                        cdr.putNull("recording");
                    }
                }
            }
        }
        return cdr;
    }

    /**
     * Newest first by arrival. {@code since}/{@code until} bound {@code received_at} (ISO-8601);
     * {@code cursor} continues a previous page, from its {@code next_cursor}.
     */
    public ObjectNode cdrs(@Header("since") String since, @Header("until") String until,
                           @Header("limit") String limit, @Header("cursor") String cursor) throws SQLException {
        OffsetDateTime from = instant("since", since);
        OffsetDateTime to = instant("until", until);
        int pageSize = limit == null || limit.isBlank() ? DEFAULT_LIMIT : positive("limit", limit, MAX_LIMIT);
        long before = cursor == null || cursor.isBlank() ? Long.MAX_VALUE : positive("cursor", cursor, Long.MAX_VALUE);
        StringBuilder sql = new StringBuilder("SELECT ").append(CDR_COLUMNS).append(" WHERE n.id < ?");
        if (from != null) {
            sql.append(" AND c.received_at >= ?");
        }
        if (to != null) {
            sql.append(" AND c.received_at < ?");
        }
        sql.append(" ORDER BY n.id DESC FETCH FIRST ? ROWS ONLY");
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql.toString())) {
            int i = 0;
            ps.setLong(++i, before);
            if (from != null) {
                ps.setObject(++i, from);
            }
            if (to != null) {
                ps.setObject(++i, to);
            }
            ps.setInt(++i, pageSize + 1);
            ObjectNode page = mapper.createObjectNode();
            ArrayNode items = page.putArray("cdrs");
            long lastId = 0;
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (items.size() == pageSize) {
                        page.put("next_cursor", String.valueOf(lastId));
                        break;
                    }
                    lastId = rs.getLong("id");
                    items.add(cdrJson(storedCdr(rs)));
                }
            }
            if (!page.has("next_cursor")) {
                page.putNull("next_cursor");
            }
            return page;
        }
    }

    /** Every notification stored for a call, any kind, with its payload as received. */
    public ObjectNode notifications(@Header("cmiuuid") String cmiuuid) throws SQLException {
        if (cmiuuid == null || cmiuuid.isBlank()) {
            throw Problem.badRequest("cmiuuid", "the query parameter 'cmiuuid' is required");
        }
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT id, kind, appid, http_method, received_at, raw_payload"
                     + " FROM notification WHERE cmiuuid = ? ORDER BY id")) {
            ps.setString(1, cmiuuid);
            ObjectNode answer = mapper.createObjectNode();
            answer.put("cmiuuid", cmiuuid);
            ArrayNode items = answer.putArray("notifications");
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ObjectNode n = items.addObject();
                    n.put("id", rs.getLong("id"));
                    n.put("kind", rs.getString("kind"));
                    n.put("appid", rs.getString("appid"));
                    n.put("http_method", rs.getString("http_method"));
                    n.put("received_at", iso(rs.getObject("received_at", OffsetDateTime.class)));
                    // stored as received (JSON for POST, the parameters as a JSON object for GET)
                    n.putRawValue("payload", new RawValue(rs.getString("raw_payload")));
                }
            }
            return answer;
        }
    }

    private static StoredCdr storedCdr(ResultSet rs) throws SQLException {
        int answered = rs.getInt("answered_seconds");
        Integer answeredSeconds = rs.wasNull() ? null : answered;
        OffsetDateTime callTime = rs.getObject("call_time", OffsetDateTime.class);
        Cdr cdr = new Cdr(rs.getString("cmiuuid"), rs.getString("appid"), rs.getString("direction"), rs.getString("call_status"),
                rs.getString("caller_number"), rs.getString("called_number"), rs.getString("virtual_number"), rs.getString("agent"),
                rs.getString("team"), answeredSeconds, rs.getString("hangup_reason"), rs.getBoolean("recorded"),
                rs.getString("recording_filename"), rs.getString("conversation_uuid"), rs.getString("ivr_name"), rs.getString("custom"),
                callTime == null ? null : callTime.toInstant());
        return new StoredCdr(rs.getLong("id"), cdr, rs.getObject("received_at", OffsetDateTime.class).toInstant(),
                rs.getString("recording_skipped"));
    }

    private ObjectNode cdrJson(StoredCdr stored) {
        Cdr c = stored.cdr();
        ObjectNode cdr = mapper.createObjectNode();
        cdr.put("cmiuuid", c.cmiuuid());
        cdr.put("appid", c.appid());
        cdr.put("type", "cdr");
        cdr.put("direction", c.direction());
        cdr.put("status", c.status());
        cdr.put("from", c.from());
        cdr.put("to", c.to());
        cdr.put("virtual_number", c.virtualNumber());
        cdr.put("user", c.user());
        cdr.put("team", c.team());
        cdr.put("answeredsec", c.answeredSeconds());
        cdr.put("hangup_reason", c.hangupReason());
        cdr.put("record", c.recorded());
        cdr.put("filename", c.recordingFilename());
        cdr.put("conversation_uuid", c.conversationUuid());
        cdr.put("ivr_name", c.ivrName());
        cdr.put("custom", c.custom());
        cdr.put("call_time", c.callTime() == null ? null : c.callTime().toString());
        cdr.put("received_at", stored.receivedAt().toString());
        cdr.put("recording_skipped", stored.recordingSkipped());
        return cdr;
    }

    static String iso(OffsetDateTime t) {
        return t == null ? null : t.toInstant().toString();
    }

    private static OffsetDateTime instant(String field, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(value.trim()).withOffsetSameInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            try {
                return Instant.parse(value.trim()).atOffset(ZoneOffset.UTC);
            } catch (DateTimeParseException e2) {
                throw Problem.badRequest(field, "'" + field + "' must be an ISO-8601 time such as 2026-11-26T10:00:00Z");
            }
        }
    }

    private static int positive(String field, String value, int max) {
        return (int) positive(field, value, (long) max);
    }

    private static long positive(String field, String value, long max) {
        try {
            long n = Long.parseLong(value.trim());
            if (n >= 1 && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // the problem below says what is expected
        }
        throw Problem.badRequest(field, "'" + field + "' must be a whole number from 1 to " + max);
    }

    private static String printable(String s) {
        String p = s == null ? "" : s.replaceAll("[^A-Za-z0-9_.-]", "?");
        return p.length() > 64 ? p.substring(0, 64) + "…" : p;
    }
}
