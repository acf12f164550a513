package io.github.telecmicdr.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import io.github.telecmicdr.Problem;
import io.github.telecmicdr.api.QueryParameters;
import io.github.telecmicdr.delivery.DeliveryQueries;
import io.github.telecmicdr.telecmi.Cdr;
import org.apache.camel.Header;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the read API answers, with TeleCMI's own field names so a CRM mapping written for TeleCMI's
 * payload reads ours unchanged.
 */
public final class CdrQueries {

    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;
    /**
     * A page stops before the item that would take it past this many bytes of JSON (the first item
     * always comes, whatever its size): 500 CDRs with 16 KiB of custom each, or notifications with
     * a payload of up to webhook.max-body-bytes each, would otherwise make an answer of many MiB.
     */
    static final int MAX_PAGE_BYTES = 1024 * 1024;

    private static final String CDR_COLUMNS = "n.id, c.cmiuuid, c.appid, c.direction, c.call_status, c.caller_number,"
            + " c.called_number, c.virtual_number, c.agent, c.team, c.answered_seconds, c.hangup_reason, c.recorded,"
            + " c.recording_filename, c.conversation_uuid, c.ivr_name, c.custom, c.call_time, c.received_at, c.recording_skipped, n.source"
            + " FROM cdr c JOIN notification n ON n.id = c.notification_id";

    private final DataSource dataSource;
    private final ObjectMapper mapper;

    public CdrQueries(DataSource dataSource, ObjectMapper mapper) {
        this.dataSource = dataSource;
        this.mapper = mapper;
    }

    /** A call's answered CDR: by notification's unique (cmiuuid, kind), then the CDR row's key (V7). */
    static final String FIND = "SELECT " + CDR_COLUMNS + " WHERE n.cmiuuid = ? AND n.kind = 'incoming-answered-cdr'";

    /** The stored answered CDR of a call, or null. */
    public StoredCdr find(String cmiuuid) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(FIND)) {
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
            try (PreparedStatement ps = c.prepareStatement("SELECT " + DeliveryQueries.COLUMNS
                    + " FROM delivery d WHERE d." + DeliveryQueries.OF_CALL + " ORDER BY d.id")) {
                ps.setString(1, cmiuuid);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        DeliveryQueries.delivery(deliveries.addObject(), rs);
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
     * A page of CDRs, newest first; parameters: the cursor, since and until when given, how many.
     * It walks cdr's own key (its notification's id, V7), so a page reads about a page of rows
     * whatever the other kinds of notification in between.
     */
    static String listQuery(boolean since, boolean until) {
        StringBuilder sql = new StringBuilder("SELECT ").append(CDR_COLUMNS).append(" WHERE c.notification_id < ?");
        if (since) {
            sql.append(" AND c.received_at >= ?");
        }
        if (until) {
            sql.append(" AND c.received_at < ?");
        }
        return sql.append(" ORDER BY c.notification_id DESC FETCH FIRST ? ROWS ONLY").toString();
    }

    /**
     * Newest first by arrival. {@code since}/{@code until} bound {@code received_at} (ISO-8601);
     * {@code cursor} continues a previous page, from its {@code next_cursor}.
     */
    public ObjectNode cdrs(@Header("since") String since, @Header("until") String until,
                           @Header("limit") String limit, @Header("cursor") String cursor) throws SQLException {
        OffsetDateTime from = QueryParameters.instant("since", since);
        OffsetDateTime to = QueryParameters.instant("until", until);
        int pageSize = (int) QueryParameters.positive("limit", limit, MAX_LIMIT, DEFAULT_LIMIT);
        long before = QueryParameters.positive("cursor", cursor, Long.MAX_VALUE, Long.MAX_VALUE);
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(listQuery(from != null, to != null))) {
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
            PageBudget budget = new PageBudget(64);
            String nextCursor = null;
            long lastId = 0;
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (items.size() == pageSize) {
                        nextCursor = String.valueOf(lastId);
                        break;
                    }
                    // each item written once, here: its size decides whether it still fits the page
                    String item = json(cdrJson(storedCdr(rs)));
                    if (!budget.fits(utf8Length(item))) {
                        nextCursor = String.valueOf(lastId);
                        break;
                    }
                    lastId = rs.getLong("id");
                    items.addRawValue(new RawValue(item));
                }
            }
            page.put("next_cursor", nextCursor);
            return page;
        }
    }

    /**
     * Every notification stored for a call, any kind, with its payload as received, oldest first:
     * {@code limit} (1-500, default 50) at a time and at most {@link #MAX_PAGE_BYTES} of them, then
     * {@code next_cursor} to pass as {@code cursor}.
     *
     * <p>The page is chosen from each payload's size before any payload is read, then only its own
     * payloads are loaded: kinds are the sender's to choose, so one call may hold hundreds of payloads
     * of up to webhook.max-body-bytes each, and fetching limit + 1 rows with their payloads (H2
     * materialises a result, pgjdbc reads all of it) to answer 1 MiB of them took hundreds of MB.
     */
    public ObjectNode notifications(@Header("cmiuuid") String cmiuuid, @Header("limit") String limit,
                                    @Header("cursor") String cursor) throws SQLException {
        if (cmiuuid == null || cmiuuid.isBlank()) {
            throw Problem.badRequest("cmiuuid", "the query parameter 'cmiuuid' is required");
        }
        int pageSize = (int) QueryParameters.positive("limit", limit, MAX_LIMIT, DEFAULT_LIMIT);
        long after = QueryParameters.positive("cursor", cursor, Long.MAX_VALUE, 0);
        ObjectNode answer = mapper.createObjectNode();
        answer.put("cmiuuid", cmiuuid);
        ArrayNode items = answer.putArray("notifications");
        String nextCursor = null;
        try (Connection c = dataSource.getConnection()) {
            Map<Long, ObjectNode> page = new LinkedHashMap<>();
            // OCTET_LENGTH is the payload's UTF-8 length on H2 and on a UTF8 (or SQL_ASCII) PostgreSQL,
            // read without the payload (PostgreSQL keeps it beside a TOASTed value)
            try (PreparedStatement ps = c.prepareStatement("SELECT id, kind, appid, http_method, source, received_at,"
                    + " OCTET_LENGTH(raw_payload) AS payload_bytes FROM notification"
                    + " WHERE cmiuuid = ? AND id > ? ORDER BY id FETCH FIRST ? ROWS ONLY")) {
                ps.setString(1, cmiuuid);
                ps.setLong(2, after);
                ps.setInt(3, pageSize + 1);
                // the cmiuuid asked for is echoed: 6 bytes a character at worst, once escaped
                PageBudget budget = new PageBudget(96 + 6L * cmiuuid.length());
                long lastId = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        if (page.size() == pageSize) {
                            nextCursor = String.valueOf(lastId);
                            break;
                        }
                        ObjectNode n = mapper.createObjectNode();
                        n.put("id", rs.getLong("id"));
                        n.put("kind", rs.getString("kind"));
                        n.put("appid", rs.getString("appid"));
                        n.put("http_method", rs.getString("http_method"));
                        n.put("source", rs.getString("source"));
                        n.put("received_at", iso(rs.getObject("received_at", OffsetDateTime.class)));
                        // the payload is copied into the answer once, by the route's marshal
                        long size = utf8Length(json(n)) + ",\"payload\":".length() + rs.getLong("payload_bytes");
                        if (!budget.fits(size)) {
                            nextCursor = String.valueOf(lastId);
                            break;
                        }
                        lastId = rs.getLong("id");
                        page.put(lastId, n);
                    }
                }
            }
            loadPayloads(c, page);
            // one that retention removed in between is left out
            page.values().stream().filter(n -> n.has("payload")).forEach(items::add);
        }
        answer.put("next_cursor", nextCursor);
        return answer;
    }

    /** The payloads of the page's notifications, stored as received (JSON for POST, the parameters as a JSON object for GET). */
    private static void loadPayloads(Connection c, Map<Long, ObjectNode> page) throws SQLException {
        if (page.isEmpty()) {
            return;
        }
        String ids = String.join(", ", Collections.nCopies(page.size(), "?"));
        try (PreparedStatement ps = c.prepareStatement("SELECT id, raw_payload FROM notification WHERE id IN (" + ids + ")")) {
            int i = 0;
            for (long id : page.keySet()) {
                ps.setLong(++i, id);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    page.get(rs.getLong("id")).putRawValue("payload", new RawValue(rs.getString("raw_payload")));
                }
            }
        }
    }

    /** The bytes a page has taken so far: an item fits while the page stays within the budget, the first always. */
    static final class PageBudget {
        private long used;
        private boolean empty = true;

        /** {@code envelope}: what the page holds besides its items ({"cdrs":[],"next_cursor":...}). */
        PageBudget(long envelope) {
            this.used = envelope;
        }

        boolean fits(long itemBytes) {
            long next = used + itemBytes + 1;
            if (!empty && next > MAX_PAGE_BYTES) {
                return false;
            }
            used = next;
            empty = false;
            return true;
        }
    }

    private String json(ObjectNode node) {
        try {
            return mapper.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of strings and numbers is always JSON", e);
        }
    }

    /** The UTF-8 length of a string, without encoding it. */
    static long utf8Length(String s) {
        long bytes = 0;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch < 0x80) {
                bytes += 1;
            } else if (ch < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(ch) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    private static StoredCdr storedCdr(ResultSet rs) throws SQLException {
        return new StoredCdr(rs.getLong("id"), cdr(rs), rs.getObject("received_at", OffsetDateTime.class).toInstant(),
                rs.getString("recording_skipped"), rs.getString("source"));
    }

    /** The answered CDR of the cdr row {@code rs} is on (its columns by their names), wherever it is read. */
    static Cdr cdr(ResultSet rs) throws SQLException {
        int answered = rs.getInt("answered_seconds");
        Integer answeredSeconds = rs.wasNull() ? null : answered;
        OffsetDateTime callTime = rs.getObject("call_time", OffsetDateTime.class);
        return new Cdr(rs.getString("cmiuuid"), rs.getString("appid"), rs.getString("direction"), rs.getString("call_status"),
                rs.getString("caller_number"), rs.getString("called_number"), rs.getString("virtual_number"), rs.getString("agent"),
                rs.getString("team"), answeredSeconds, rs.getString("hangup_reason"), rs.getBoolean("recorded"),
                rs.getString("recording_filename"), rs.getString("conversation_uuid"), rs.getString("ivr_name"), rs.getString("custom"),
                callTime == null ? null : callTime.toInstant());
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
        // webhook, or reconcile: found in TeleCMI's pull API, its webhook never came
        cdr.put("source", stored.source());
        return cdr;
    }

    static String iso(OffsetDateTime t) {
        return t == null ? null : t.toInstant().toString();
    }

    private static String printable(String s) {
        String p = s == null ? "" : s.replaceAll("[^A-Za-z0-9_.-]", "?");
        return p.length() > 64 ? p.substring(0, 64) + "…" : p;
    }
}
