package io.github.telecmicdr.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import io.github.telecmicdr.Problem;
import io.github.telecmicdr.api.QueryParameters;
import io.github.telecmicdr.delivery.DeliveryQueries;
import io.github.telecmicdr.telecmi.TelecmiNotification;
import org.apache.camel.Header;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code GET /api/notifications}. With {@code cmiuuid}: every notification of that call with its
 * payload, as {@link CdrQueries#notifications} always answered. Without: the recent notifications
 * of every call and every kind, newest first, each with the normalised fields every destination is
 * handed ({@link StoredNotifications}), its deliveries and, for an answered CDR, its recording: what
 * the operations page lists. Filters: {@code kind} (the notification's), {@code phone} (the from,
 * to or virtual number, however it was written), {@code delivery_state} and {@code delivery_kind}
 * (only notifications with such a delivery); paged by {@code next_cursor} and at most
 * {@link CdrQueries#MAX_PAGE_BYTES} of JSON.
 */
public final class NotificationQueries {

    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;
    /** As wide as delivery.kind. */
    static final int MAX_DELIVERY_KIND = 32;
    /** The delivery states that are few (a backlog, what waits for a replay), found from their index. */
    static final Set<String> FEW_STATES = Set.of("pending", "in_progress", "failed");

    private final DataSource dataSource;
    private final ObjectMapper mapper;
    private final CdrQueries cdrQueries;
    private final StoredNotifications stored;
    private final Function<String, Set<String>> writtenForms;

    /** @param writtenForms the digit strings a typed phone number may be stored as (PhoneNumbers.writtenForms) */
    public NotificationQueries(DataSource dataSource, ObjectMapper mapper, CdrQueries cdrQueries, StoredNotifications stored,
                               Function<String, Set<String>> writtenForms) {
        this.dataSource = dataSource;
        this.mapper = mapper;
        this.cdrQueries = cdrQueries;
        this.stored = stored;
        this.writtenForms = writtenForms;
    }

    /** The filters of the list, as given. */
    record Filters(String kind, String phone, String deliveryState, String deliveryKind) {
    }

    public ObjectNode notifications(@Header("cmiuuid") String cmiuuid, @Header("kind") String kind, @Header("phone") String phone,
                                    @Header("delivery_state") String deliveryState, @Header("delivery_kind") String deliveryKind,
                                    @Header("limit") String limit, @Header("cursor") String cursor) throws SQLException {
        if (cmiuuid != null) {
            for (String[] filter : new String[][] {{"kind", kind}, {"phone", phone}, {"delivery_state", deliveryState},
                    {"delivery_kind", deliveryKind}}) {
                if (filter[1] != null) {
                    throw Problem.badRequest(filter[0], "'" + filter[0] + "' filters the recent notifications of every call:"
                            + " with 'cmiuuid' every notification of that call is listed");
                }
            }
            return cdrQueries.notifications(cmiuuid, limit, cursor);
        }
        return recent(new Filters(kind, phone, deliveryState, deliveryKind), limit, cursor);
    }

    ObjectNode recent(Filters filters, String limit, String cursor) throws SQLException {
        String kind = text("kind", filters.kind(), TelecmiNotification.MAX_KIND);
        String deliveryKind = text("delivery_kind", filters.deliveryKind(), MAX_DELIVERY_KIND);
        String deliveryState = deliveryState(filters.deliveryState());
        List<String> phones = phones(filters.phone());
        int pageSize = (int) QueryParameters.positive("limit", limit, MAX_LIMIT, DEFAULT_LIMIT);
        long before = QueryParameters.positive("cursor", cursor, Long.MAX_VALUE, Long.MAX_VALUE);

        ObjectNode page = mapper.createObjectNode();
        ArrayNode items = page.putArray("notifications");
        String nextCursor = null;
        try (Connection c = dataSource.getConnection()) {
            // the page's ids, newest first, with each payload's size (read without the payload)
            Map<Long, Long> payloadBytes = new LinkedHashMap<>();
            boolean more = false;
            PageQuery query = pageQuery(kind, phones, deliveryState, deliveryKind, before, pageSize + 1);
            try (PreparedStatement ps = c.prepareStatement(query.sql())) {
                bind(ps, query.parameters());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        if (payloadBytes.size() == pageSize) {
                            more = true;
                            break;
                        }
                        payloadBytes.put(rs.getLong(1), rs.getLong(2));
                    }
                }
            }
            CdrQueries.PageBudget budget = new CdrQueries.PageBudget(64);
            long lastId = 0;
            List<Long> ids = new ArrayList<>(payloadBytes.keySet());
            int at = 0;
            boolean full = false;
            while (at < ids.size() && !full) {
                // a few at a time, so that no more than about a page of payloads is in memory at once
                List<Long> chunk = new ArrayList<>();
                long chunkBytes = 0;
                while (at < ids.size() && (chunk.isEmpty() || chunkBytes + payloadBytes.get(ids.get(at)) <= CdrQueries.MAX_PAGE_BYTES)) {
                    chunkBytes += payloadBytes.get(ids.get(at));
                    chunk.add(ids.get(at++));
                }
                for (ObjectNode item : items(c, chunk)) {
                    String json = json(item);
                    if (!budget.fits(CdrQueries.utf8Length(json))) {
                        full = true;
                        break;
                    }
                    lastId = item.get("id").asLong();
                    items.addRawValue(new RawValue(json));
                }
            }
            if (full || more) {
                // below the last item shown when the bytes ran out, else below the last id read (retention
                // may have removed it since: the cursor is an id bound, not a row)
                nextCursor = String.valueOf(full ? lastId : ids.get(ids.size() - 1));
            }
        }
        page.put("next_cursor", nextCursor);
        return page;
    }

    /** A page's query and its parameters, in order. */
    record PageQuery(String sql, List<Object> parameters) {
    }

    /**
     * The ids of a page and their payloads' sizes, newest first: {@code rows} of them below the
     * cursor {@code before}, with the filters given (null or empty when not).
     *
     * <p>The usual page (every call, one kind, a delivery kind or done deliveries) walks an index in
     * the page's order and stops after about a page of rows: the primary key backwards, or
     * notification_kind_idx (kind, id) for one kind. What is rare is read from the index that holds
     * just it, and only those rows are sorted: one number's calls (an index on each number column,
     * one UNION) and the calls with a failed, pending or in-progress delivery
     * (delivery_state_notification_idx, or delivery_due_idx with a delivery kind). The cursor goes
     * inside those subqueries: H2 would otherwise walk the primary key from the cursor down and
     * test each row against them. A number on nearly every call (the only virtual number) reads all
     * its calls' ids; one that is not stored reads nothing.
     */
    static PageQuery pageQuery(String kind, List<String> phones, String deliveryState, String deliveryKind, long before, int rows) {
        boolean fewDeliveries = deliveryState != null && FEW_STATES.contains(deliveryState);
        boolean fromSubquery = !phones.isEmpty() || fewDeliveries;
        List<Object> parameters = new ArrayList<>();
        StringBuilder sql = new StringBuilder("SELECT n.id, OCTET_LENGTH(n.raw_payload) FROM notification n WHERE ");
        if (fromSubquery) {
            sql.append("1 = 1");
        } else {
            sql.append("n.id < ?");
            parameters.add(before);
        }
        if (kind != null) {
            // read in its index's order unless a subquery has found the few rows already
            sql.append(fromSubquery ? " AND COALESCE(n.kind, '') = ?" : " AND n.kind = ?");
            parameters.add(kind);
        }
        if (!phones.isEmpty()) {
            String forms = String.join(", ", Collections.nCopies(phones.size(), "?"));
            List<String> branches = new ArrayList<>();
            for (String column : List.of("caller_digits", "called_digits", "virtual_number_digits")) {
                branches.add("SELECT id FROM notification WHERE " + column + " IN (" + forms + ") AND id < ?");
                parameters.addAll(phones);
                parameters.add(before);
            }
            sql.append(" AND n.id IN (").append(String.join(" UNION ", branches)).append(")");
        }
        if (fewDeliveries) {
            sql.append(" AND n.id IN (SELECT d.notification_id FROM delivery d WHERE d.state = ?");
            parameters.add(deliveryState);
            if (deliveryKind != null) {
                sql.append(" AND d.kind = ?");
                parameters.add(deliveryKind);
            }
            sql.append(" AND d.notification_id < ?)");
            parameters.add(before);
        } else if (deliveryState != null || deliveryKind != null) {
            sql.append(" AND EXISTS (SELECT 1 FROM delivery d WHERE d.notification_id = n.id");
            if (deliveryState != null) {
                sql.append(" AND d.state = ?");
                parameters.add(deliveryState);
            }
            if (deliveryKind != null) {
                sql.append(" AND d.kind = ?");
                parameters.add(deliveryKind);
            }
            sql.append(")");
        }
        // by kind, (kind, id) gives the rows in this order: a page of a rare kind reads a page too
        sql.append(kind != null && !fromSubquery ? " ORDER BY n.kind DESC, n.id DESC" : " ORDER BY n.id DESC");
        sql.append(" FETCH FIRST ? ROWS ONLY");
        parameters.add(rows);
        return new PageQuery(sql.toString(), parameters);
    }

    static void bind(PreparedStatement ps, List<Object> parameters) throws SQLException {
        int i = 0;
        for (Object parameter : parameters) {
            if (parameter instanceof Long l) {
                ps.setLong(++i, l);
            } else if (parameter instanceof Integer n) {
                ps.setInt(++i, n);
            } else {
                ps.setString(++i, (String) parameter);
            }
        }
    }

    /** The items of these notifications, in the order given: the call, its deliveries, its recording. */
    private List<ObjectNode> items(Connection c, List<Long> ids) throws SQLException {
        Map<Long, Map<String, Object>> calls = stored.calls(c, ids);
        Map<Long, ArrayNode> deliveries = new HashMap<>();
        String placeholders = String.join(", ", Collections.nCopies(ids.size(), "?"));
        try (PreparedStatement ps = c.prepareStatement("SELECT " + DeliveryQueries.COLUMNS
                + " FROM delivery d WHERE d.notification_id IN (" + placeholders + ") ORDER BY d.id")) {
            int i = 0;
            for (long id : ids) {
                ps.setLong(++i, id);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    DeliveryQueries.delivery(deliveries.computeIfAbsent(rs.getLong("notification_id"), k -> mapper.createArrayNode())
                            .addObject(), rs);
                }
            }
        }
        Map<String, ObjectNode> recordings = recordings(c, calls.values().stream()
                .filter(call -> TelecmiNotification.INCOMING_ANSWERED_CDR.equals(call.get("kind")))
                .map(call -> (String) call.get("cmiuuid")).toList());
        List<ObjectNode> items = new ArrayList<>();
        for (long id : ids) {
            Map<String, Object> call = calls.get(id);
            if (call == null) {
                continue; // removed by retention since the page was chosen
            }
            ObjectNode item = mapper.createObjectNode();
            item.put("id", id);
            item.setAll((ObjectNode) mapper.valueToTree(call));
            item.set("deliveries", deliveries.getOrDefault(id, mapper.createArrayNode()));
            // the recording is the answered CDR's: a live event or missed call of the same call shows none
            ObjectNode recording = TelecmiNotification.INCOMING_ANSWERED_CDR.equals(call.get("kind"))
                    ? recordings.get((String) call.get("cmiuuid")) : null;
            if (recording == null) {
                item.putNull("recording");
            } else {
                item.set("recording", recording);
            }
            items.add(item);
        }
        return items;
    }

    /** The stored recordings of these calls, as GET /api/cdrs/{cmiuuid} shows one. */
    private Map<String, ObjectNode> recordings(Connection c, List<String> cmiuuids) throws SQLException {
        Map<String, ObjectNode> recordings = new HashMap<>();
        if (cmiuuids.isEmpty()) {
            return recordings;
        }
        String placeholders = String.join(", ", Collections.nCopies(cmiuuids.size(), "?"));
        try (PreparedStatement ps = c.prepareStatement("SELECT cmiuuid, content_type, size_bytes, sha256, stored_at FROM recording"
                + " WHERE cmiuuid IN (" + placeholders + ")")) {
            int i = 0;
            for (String cmiuuid : cmiuuids) {
                ps.setString(++i, cmiuuid);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ObjectNode r = mapper.createObjectNode();
                    r.put("url", "/recordings/" + rs.getString("cmiuuid"));
                    r.put("content_type", rs.getString("content_type"));
                    r.put("size_bytes", rs.getLong("size_bytes"));
                    r.put("sha256", rs.getString("sha256"));
                    r.put("stored_at", CdrQueries.iso(rs.getObject("stored_at", OffsetDateTime.class)));
                    recordings.put(rs.getString("cmiuuid"), r);
                }
            }
        }
        return recordings;
    }

    /** A kind named in a query: trimmed, printable ASCII, no longer than its column; null when absent. */
    static String text(String field, String value, int maxLength) {
        if (value == null || value.isBlank()) {
            return null;
        }
        String v = value.trim();
        if (v.length() > maxLength || !v.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f)) {
            throw Problem.badRequest(field, "'" + field + "' must be up to " + maxLength + " printable ASCII characters without spaces");
        }
        return v;
    }

    static String deliveryState(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        String s = value.trim();
        if (!DeliveryQueries.STATES.contains(s)) {
            throw Problem.badRequest("delivery_state", "'delivery_state' must be one of " + String.join(", ", DeliveryQueries.STATES));
        }
        return s;
    }

    /** The stored forms of the number asked for; empty when no number is asked for. */
    private List<String> phones(String phone) {
        if (phone == null || phone.isBlank()) {
            return List.of();
        }
        List<String> forms = writtenForms.apply(phone).stream()
                .filter(f -> f.length() <= PhoneDigits.MAX_LENGTH).toList();
        if (forms.isEmpty() || phone.chars().filter(Character::isDigit).count() < 3) {
            throw Problem.badRequest("phone", "'phone' must be a phone number: at least 3 digits, with an optional leading +,"
                    + " spaces, dots, dashes and brackets");
        }
        return forms;
    }

    private String json(ObjectNode node) {
        try {
            return mapper.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of strings and numbers is always JSON", e);
        }
    }
}
