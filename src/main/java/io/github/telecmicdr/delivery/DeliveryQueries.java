package io.github.telecmicdr.delivery;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.telecmicdr.Problem;
import io.github.telecmicdr.api.QueryParameters;
import org.apache.camel.Header;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;

/**
 * {@code GET /api/deliveries}: the deliveries of every kind, newest first, paged like
 * {@code /api/cdrs}. Kinds are whatever the routes plan: nothing here lists them.
 */
public final class DeliveryQueries {

    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;
    /** Every state a delivery can be in. */
    public static final List<String> STATES = List.of("pending", "in_progress", "done", "failed");
    /** As wide as the kind column: a longer one cannot match, and is most likely a mistake. */
    static final int MAX_KIND_LENGTH = 32;
    /** As wide as the cmiuuid column. */
    static final int MAX_CMIUUID_LENGTH = 64;

    private final DataSource dataSource;
    private final ObjectMapper mapper;

    public DeliveryQueries(DataSource dataSource, ObjectMapper mapper) {
        this.dataSource = dataSource;
        this.mapper = mapper;
    }

    /**
     * The page of deliveries below {@code cursor} (an id), newest first, {@code kind},
     * {@code state} and {@code cmiuuid} (the deliveries of one call, every notification of it)
     * optional; {@code next_cursor} is null on the last page.
     */
    public ObjectNode deliveries(@Header("kind") String kind, @Header("state") String state, @Header("cmiuuid") String cmiuuid,
                                 @Header("limit") String limit, @Header("cursor") String cursor) throws SQLException {
        String kindFilter = kind(kind, false);
        String stateFilter = state(state, null);
        if (cmiuuid != null && (cmiuuid.isBlank() || cmiuuid.length() > MAX_CMIUUID_LENGTH)) {
            throw Problem.badRequest("cmiuuid", "'cmiuuid' must be a call's cmiuuid, up to " + MAX_CMIUUID_LENGTH + " characters");
        }
        int pageSize = (int) QueryParameters.positive("limit", limit, MAX_LIMIT, DEFAULT_LIMIT);
        long before = QueryParameters.positive("cursor", cursor, Long.MAX_VALUE, Long.MAX_VALUE);
        String sql = cmiuuid != null ? callQuery(kindFilter != null, stateFilter) : listQuery(kindFilter != null, stateFilter);
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            int i = 0;
            if (cmiuuid != null) {
                ps.setString(++i, cmiuuid);
            }
            if (kindFilter != null) {
                ps.setString(++i, kindFilter);
            }
            if (stateFilter != null) {
                ps.setString(++i, stateFilter);
            }
            ps.setLong(++i, before);
            ps.setInt(++i, pageSize + 1);
            ObjectNode page = mapper.createObjectNode();
            ArrayNode items = page.putArray("deliveries");
            String nextCursor = null;
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (items.size() == pageSize) {
                        // the last item shown, not the one read ahead: the next page starts below it
                        nextCursor = items.get(pageSize - 1).get("id").asText();
                        break;
                    }
                    ObjectNode d = delivery(items.addObject(), rs);
                    d.put("cmiuuid", rs.getString("cmiuuid"));
                }
            }
            page.put("next_cursor", nextCursor);
            return page;
        }
    }

    /**
     * The page query; parameters: kind and state when filtered, the cursor, how many.
     *
     * <p>Only delivery_due_idx (kind, state, next_attempt_at) and the primary key exist, and neither
     * gives the rows of one kind in id order. Done deliveries are nearly all of the table, so a page
     * of them (or of every state) is found fastest by walking the primary key backwards and skipping
     * other kinds: the kind is compared as an expression so that neither H2 nor PostgreSQL takes
     * the index instead, which read and sorted every delivery of the kind (300,000 rows for a page
     * in a test). Pending, in-progress and failed deliveries of a kind are few (the backlog, what is
     * waiting for a replay): they are read from the index and sorted. A state without a kind walks
     * the primary key too.
     */
    static String listQuery(boolean byKind, String state) {
        boolean fromIndex = byKind && state != null && !Deliveries.DONE.equals(state);
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + ", cmiuuid FROM delivery d WHERE ");
        if (byKind) {
            sql.append(fromIndex ? "kind = ? AND " : "COALESCE(kind, '') = ? AND ");
        }
        if (state != null) {
            sql.append("state = ? AND ");
        }
        return sql.append("id < ? ORDER BY id DESC FETCH FIRST ? ROWS ONLY").toString();
    }

    /**
     * The page query of one call's deliveries; parameters: the cmiuuid, kind and state when
     * filtered, the cursor, how many. A call has a handful: they are found through its
     * notifications (notification's unique (cmiuuid, kind), then delivery's (notification_id,
     * kind); V8 dropped the index on delivery's random cmiuuid), kind and state compared as
     * expressions so that no index on them is taken instead.
     */
    /** The deliveries of one call (parameter: its cmiuuid), through its notifications. */
    public static final String OF_CALL = "notification_id IN (SELECT n.id FROM notification n WHERE n.cmiuuid = ?)";

    static String callQuery(boolean byKind, String state) {
        return "SELECT " + COLUMNS + ", cmiuuid FROM delivery d WHERE " + OF_CALL + " AND "
                + (byKind ? "COALESCE(kind, '') = ? AND " : "") + (state != null ? "COALESCE(state, '') = ? AND " : "")
                + "id < ? ORDER BY id DESC FETCH FIRST ? ROWS ONLY";
    }

    /** A kind named in a query: trimmed; null when absent unless required. */
    static String kind(String kind, boolean required) {
        if (kind == null || kind.isBlank()) {
            if (required) {
                throw Problem.badRequest("kind", "the query parameter 'kind' is required: the kind of delivery to retry, such as alert-email");
            }
            return null;
        }
        String k = kind.trim();
        if (k.length() > MAX_KIND_LENGTH || !k.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f)) {
            throw Problem.badRequest("kind", "'kind' must be a delivery kind: up to " + MAX_KIND_LENGTH + " printable ASCII characters");
        }
        return k;
    }

    /** A state named in a query, one of {@link #STATES}; {@code fallback} when absent. */
    static String state(String state, String fallback) {
        if (state == null || state.isBlank()) {
            return fallback;
        }
        String s = state.trim();
        if (!STATES.contains(s)) {
            throw Problem.badRequest("state", "'state' must be one of " + String.join(", ", STATES));
        }
        return s;
    }

    /**
     * The columns {@link #delivery} renders, of a delivery aliased {@code d}: its notification's kind
     * by its primary key, only for the rows a page returns.
     */
    public static final String COLUMNS = "d.id, d.kind, d.state, d.attempts, d.next_attempt_at, d.last_error, d.created_at,"
            + " d.completed_at, d.notification_id, (SELECT n.kind FROM notification n WHERE n.id = d.notification_id) AS notification_kind";

    /** A delivery as the API shows it, wherever it is listed: the {@link #COLUMNS} of the row {@code rs} is on. */
    public static ObjectNode delivery(ObjectNode d, java.sql.ResultSet rs) throws SQLException {
        d.put("id", rs.getLong("id"));
        d.put("kind", rs.getString("kind"));
        d.put("notification_id", rs.getLong("notification_id"));
        d.put("notification_kind", rs.getString("notification_kind"));
        d.put("state", rs.getString("state"));
        d.put("attempts", rs.getInt("attempts"));
        d.put("next_attempt_at", iso(rs.getObject("next_attempt_at", OffsetDateTime.class)));
        d.put("last_error", rs.getString("last_error"));
        d.put("created_at", iso(rs.getObject("created_at", OffsetDateTime.class)));
        d.put("completed_at", iso(rs.getObject("completed_at", OffsetDateTime.class)));
        return d;
    }

    private static String iso(OffsetDateTime t) {
        return t == null ? null : t.toInstant().toString();
    }
}
