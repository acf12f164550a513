package io.github.telecmicdr.telecmi;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.telecmicdr.Problem;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that reads TeleCMI's deliveries: JSON bodies and GET query strings, every variant
 * in FACTS.md (aliases, string booleans, numbers as strings, seconds or milliseconds), into a
 * {@link TelecmiNotification}. Anything it cannot read is a {@link Problem} naming the field.
 */
public final class TelecmiParser {

    private static final Pattern CMIUUID = Pattern.compile("[A-Za-z0-9-]{1,64}");
    private static final Pattern DUPLICATE_FIELD = Pattern.compile("Duplicate field '(.*)'");
    private static final Pattern NOT_SLUG = Pattern.compile("[^a-z0-9]+");
    private static final Pattern EDGE_DASHES = Pattern.compile("^-|-$");
    /** Epoch values at or above this are milliseconds (1e11 s is the year 5138, 1e11 ms is 1973). */
    private static final long MILLIS_THRESHOLD = 100_000_000_000L;
    /** The longest text a typed column holds; longer values are refused, the raw payload keeps all. */
    static final int MAX_TEXT = 1000;
    private static final int MAX_APPID = 64;
    private static final Instant LATEST_CALL_TIME = Instant.parse("9999-12-31T23:59:59Z");

    private final ObjectMapper mapper;

    public TelecmiParser(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** A POSTed body: strict UTF-8, one JSON object, no duplicate keys. */
    public TelecmiNotification parseJson(byte[] body) {
        String raw = body == null ? "" : decodeUtf8(body, "body");
        if (raw.isBlank()) {
            throw Problem.badRequest("body", "the body is empty: expected a JSON object");
        }
        JsonNode tree;
        try {
            tree = mapper.readTree(raw);
        } catch (StreamConstraintsException e) {
            throw Problem.badRequest("body", "the JSON is nested too deeply or is too large");
        } catch (JsonParseException e) {
            Matcher duplicate = DUPLICATE_FIELD.matcher(String.valueOf(e.getOriginalMessage()));
            if (duplicate.find()) {
                throw Problem.badRequest(duplicate.group(1), "the field '" + duplicate.group(1) + "' appears more than once");
            }
            throw Problem.badRequest("body", "malformed JSON at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr());
        } catch (JsonProcessingException e) {
            throw Problem.badRequest("body", "malformed JSON");
        }
        if (tree == null || !tree.isObject()) {
            throw Problem.badRequest("body", "expected a JSON object, got " + (tree == null ? "nothing" : tree.getNodeType().name().toLowerCase(Locale.ROOT)));
        }
        return normalise((ObjectNode) tree, raw, "POST");
    }

    /**
     * A GET delivery: the same fields as query parameters, every value a string. The stored raw
     * payload is those parameters as a JSON object of strings, in the order they came.
     */
    public TelecmiNotification parseQuery(String rawQuery) {
        ObjectNode fields = mapper.createObjectNode();
        if (rawQuery != null && !rawQuery.isEmpty()) {
            for (String pair : rawQuery.split("&", -1)) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String name = percentDecode(eq < 0 ? pair : pair.substring(0, eq), "query");
                String value = eq < 0 ? "" : percentDecode(pair.substring(eq + 1), name);
                if (fields.has(name)) {
                    throw Problem.badRequest(name, "the parameter '" + name + "' appears more than once");
                }
                fields.put(name, value);
            }
        }
        String raw;
        try {
            raw = mapper.writeValueAsString(fields);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return normalise(fields, raw, "GET");
    }

    private TelecmiNotification normalise(ObjectNode f, String raw, String method) {
        String cmiuuid = text(f, "cmiuuid", "cmiuid");
        if (cmiuuid == null) {
            throw Problem.badRequest("cmiuuid", "the field 'cmiuuid' is missing");
        }
        if (!CMIUUID.matcher(cmiuuid).matches()) {
            throw Problem.badRequest("cmiuuid", "the field 'cmiuuid' must be 1 to 64 letters, digits or dashes");
        }
        String appid = text(f, "appid", "app_id");
        if (appid != null && appid.length() > MAX_APPID) {
            throw Problem.badRequest(nameOf(f, "appid", "app_id"), "the field '" + nameOf(f, "appid", "app_id") + "' is longer than " + MAX_APPID + " characters");
        }
        String type = lower(text(f, "type"));
        String direction = lower(text(f, "direction"));
        String status = lower(text(f, "status"));
        String leg = lower(text(f, "leg"));
        Integer answeredSeconds = integer(f, "answeredsec", "duration");
        // validated for every kind, so a malformed value is refused the same way whatever the kind
        String from = text(f, "from");
        String to = text(f, "to");
        String virtualNumber = text(f, "virtual_number");
        String user = text(f, "user", "agent");
        String team = text(f, "team");
        String hangupReason = text(f, "hangup_reason");
        Boolean record = bool(f, "record");
        bool(f, "voicemail");
        bool(f, "click_to_call");
        integer(f, "billedsec");
        integer(f, "waitedsec");
        String filename = text(f, "filename");
        String conversationUuid = text(f, "conversation_uuid");
        String ivrName = text(f, "ivr_name");
        String custom = original(f, "custom", "extra_params");
        Instant callTime = firstNonNull(epoch(f, "time"), epoch(f, "answer_time"), epoch(f, "start_time"));
        epoch(f, "end_time");

        String kind = kind(type, direction, status, leg, answeredSeconds);
        Cdr cdr = null;
        if (TelecmiNotification.INCOMING_ANSWERED_CDR.equals(kind)) {
            cdr = new Cdr(cmiuuid, appid, direction == null ? "inbound" : direction, status == null ? "answered" : status,
                    from, to, virtualNumber, user, team, answeredSeconds, hangupReason, Boolean.TRUE.equals(record),
                    filename, conversationUuid, ivrName, custom, callTime);
        }
        return new TelecmiNotification(kind, cmiuuid, appid, method, raw, cdr);
    }

    /**
     * The notification kind, the first half of the deduplication key. Live events carry their
     * status, so "waiting" and "answered" events of one call are not duplicates of each other, and
     * none of them is a duplicate of the call's CDR.
     */
    static String kind(String type, String direction, String status, String leg, Integer answeredSeconds) {
        if ("event".equals(type)) {
            return "live-event-" + slug(status == null ? "unknown" : status);
        }
        String prefix = type == null || "cdr".equals(type) ? "" : slug(type) + "-";
        String way;
        if (direction == null || "inbound".equals(direction) || "incoming".equals(direction)) {
            way = "incoming";
        } else if ("outbound".equals(direction) || "outgoing".equals(direction)) {
            way = "outgoing";
        } else {
            way = slug(direction);
        }
        // older shapes carry no status: an answered duration says what happened
        String outcome = status != null ? slug(status) : answeredSeconds != null ? "answered" : "unknown";
        if ("incoming".equals(way) && "missed".equals(outcome) && "b".equals(leg)) {
            return prefix + "incoming-user-missed-cdr";
        }
        String legSuffix = "outgoing".equals(way) && "b".equals(leg) ? "-leg-b" : "";
        return prefix + way + "-" + outcome + "-cdr" + legSuffix;
    }

    private static String slug(String value) {
        String s = EDGE_DASHES.matcher(NOT_SLUG.matcher(value.toLowerCase(Locale.ROOT)).replaceAll("-")).replaceAll("");
        if (s.isEmpty()) {
            s = "unknown";
        }
        return s.length() > 20 ? s.substring(0, 20) : s;
    }

    /** The first of the named fields that holds a value; "" and null count as absent. */
    private static JsonNode field(ObjectNode f, String... names) {
        for (String name : names) {
            JsonNode v = f.get(name);
            if (v != null && !v.isNull() && !(v.isTextual() && v.textValue().isEmpty())) {
                return v;
            }
        }
        return null;
    }

    private static String nameOf(ObjectNode f, String... names) {
        for (String name : names) {
            JsonNode v = f.get(name);
            if (v != null && !v.isNull() && !(v.isTextual() && v.textValue().isEmpty())) {
                return name;
            }
        }
        return names[0];
    }

    /** Text as sent: numbers keep their digits (no exponent), so ids and phone numbers survive. */
    private static String text(ObjectNode f, String... names) {
        JsonNode v = field(f, names);
        if (v == null) {
            return null;
        }
        String s;
        if (v.isTextual()) {
            s = v.textValue();
        } else if (v.isIntegralNumber()) {
            s = v.bigIntegerValue().toString();
        } else if (v.isNumber()) {
            s = v.decimalValue().stripTrailingZeros().toPlainString();
        } else {
            s = null;
        }
        if (s != null) {
            refuseNul(s, nameOf(f, names));
            if (s.length() > MAX_TEXT) {
                throw Problem.badRequest(nameOf(f, names), "the field '" + nameOf(f, names) + "' is longer than " + MAX_TEXT + " characters");
            }
            return s;
        }
        throw Problem.badRequest(nameOf(f, names), "the field '" + nameOf(f, names) + "' must be a string or a number");
    }

    /** The original text of a field TeleCMI sends as JSON-inside-a-string (often not valid JSON). */
    private static String original(ObjectNode f, String... names) {
        JsonNode v = field(f, names);
        if (v == null) {
            return null;
        }
        String s = v.isTextual() ? v.textValue() : v.toString();
        refuseNul(s, nameOf(f, names));
        return s;
    }

    /** PostgreSQL text cannot hold U+0000, and no TeleCMI field has a reason to. */
    private static void refuseNul(String s, String name) {
        if (s.indexOf('\u0000') >= 0) {
            throw Problem.badRequest(name, "the field '" + name + "' contains a NUL character");
        }
    }

    private static Integer integer(ObjectNode f, String... names) {
        JsonNode v = field(f, names);
        if (v == null) {
            return null;
        }
        String name = nameOf(f, names);
        BigDecimal number = number(v, name);
        try {
            int value = number.intValueExact();
            if (value < 0) {
                throw Problem.badRequest(name, "the field '" + name + "' must not be negative");
            }
            return value;
        } catch (ArithmeticException e) {
            throw Problem.badRequest(name, "the field '" + name + "' must be a whole number of seconds");
        }
    }

    private static BigDecimal number(JsonNode v, String name) {
        if (v.isNumber()) {
            return v.decimalValue();
        }
        if (v.isTextual() && v.textValue().length() <= 40) {
            try {
                return new BigDecimal(v.textValue().trim());
            } catch (NumberFormatException e) {
                // fall through to the problem below
            }
        }
        throw Problem.badRequest(name, "the field '" + name + "' must be a number");
    }

    /** JSON booleans, "true"/"false" in any case, and 1/0. */
    private static Boolean bool(ObjectNode f, String name) {
        JsonNode v = field(f, name);
        if (v == null) {
            return null;
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        String s = v.isTextual() ? v.textValue().trim().toLowerCase(Locale.ROOT) : v.isIntegralNumber() ? v.asText() : "";
        switch (s) {
            case "true", "1", "yes":
                return Boolean.TRUE;
            case "false", "0", "no":
                return Boolean.FALSE;
            default:
                throw Problem.badRequest(name, "the field '" + name + "' must be true or false");
        }
    }

    /** Epoch seconds or milliseconds, as a number or a string of digits. */
    private static Instant epoch(ObjectNode f, String name) {
        JsonNode v = field(f, name);
        if (v == null) {
            return null;
        }
        BigDecimal number = number(v, name);
        try {
            long value = number.setScale(0, java.math.RoundingMode.DOWN).longValueExact();
            if (value <= 0) {
                throw Problem.badRequest(name, "the field '" + name + "' must be a positive epoch time");
            }
            Instant instant = value >= MILLIS_THRESHOLD ? Instant.ofEpochMilli(value) : Instant.ofEpochSecond(value);
            if (instant.isAfter(LATEST_CALL_TIME)) {
                throw Problem.badRequest(name, "the field '" + name + "' is too far in the future");
            }
            return instant;
        } catch (ArithmeticException e) {
            throw Problem.badRequest(name, "the field '" + name + "' is out of range");
        }
    }

    private static String lower(String s) {
        return s == null ? null : s.trim().toLowerCase(Locale.ROOT);
    }

    @SafeVarargs
    private static <T> T firstNonNull(T... values) {
        for (T v : values) {
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    private static String decodeUtf8(byte[] bytes, String field) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw Problem.badRequest(field, "the " + field + " is not valid UTF-8");
        }
    }

    /** Strict percent-decoding (RFC 3986, '+' as space as browsers send it) to UTF-8. */
    private static String percentDecode(String s, String field) {
        if (s.indexOf('%') < 0 && s.indexOf('+') < 0) {
            return s;
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) {
                    throw Problem.badRequest(field, "the parameter '" + field + "' has a broken %-escape");
                }
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw Problem.badRequest(field, "the parameter '" + field + "' has a broken %-escape");
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else if (c == '+') {
                out.write(' ');
            } else {
                int cp = s.codePointAt(i);
                byte[] b = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
                i += Character.charCount(cp) - 1;
            }
        }
        return decodeUtf8(out.toByteArray(), "parameter '" + field + "'");
    }
}
