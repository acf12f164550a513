package io.github.telecmicdr.telecmi;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.telecmicdr.Problem;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
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
    /** The longest text a typed column holds; a longer value stays in the raw payload only. */
    static final int MAX_TEXT = 1000;
    /** The longest custom field kept in its column: what a CRM id or a small JSON object needs, 16 KiB. */
    static final int MAX_CUSTOM = 16 * 1024;
    private static final int MAX_APPID = 64;
    /** Digits before the point that an int (answeredsec, ...) and a long (epoch time) can hold. */
    private static final int INT_DIGITS = 10;
    private static final int LONG_DIGITS = 19;
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
        try (JsonParser parser = mapper.createParser(raw)) {
            tree = readTree(parser);
        } catch (IOException e) {
            throw Problem.badRequest("body", "malformed JSON");
        }
        if (tree == null || !tree.isObject()) {
            throw Problem.badRequest("body", "expected a JSON object, got " + (tree == null ? "nothing" : tree.getNodeType().name().toLowerCase(Locale.ROOT)));
        }
        return normalise((ObjectNode) tree, raw, "POST");
    }

    /**
     * The body as a tree. Jackson bounds a number's digits (1000) but not its exponent, and a number
     * it cannot hold as a BigDecimal (an exponent beyond 2^31) ends in a NumberFormatException: both
     * are refused naming the field that holds them.
     */
    private JsonNode readTree(JsonParser parser) throws IOException {
        try {
            return mapper.readValue(parser, JsonNode.class);
        } catch (StreamConstraintsException e) {
            String field = topLevelField(parser);
            if (field != null && String.valueOf(e.getOriginalMessage()).startsWith("Number value length")) {
                throw Problem.badRequest(field, "the field '" + field + "' holds a number of more than "
                        + parser.streamReadConstraints().getMaxNumberLength() + " characters");
            }
            throw Problem.badRequest("body", "the JSON is nested too deeply or is too large");
        } catch (NumberFormatException e) {
            String field = topLevelField(parser);
            throw Problem.badRequest(field == null ? "body" : field,
                    field == null ? "a number is out of range" : "the field '" + field + "' holds a number out of range");
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
    }

    /** The field of the top-level object the parser was reading, however deep inside it. */
    private static String topLevelField(JsonParser parser) {
        JsonStreamContext context = parser.getParsingContext();
        while (context != null && context.getParent() != null && !context.getParent().inRoot()) {
            context = context.getParent();
        }
        return context != null && context.inObject() ? context.getCurrentName() : null;
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
        // the sender's identity, checked against telecmi.allowed-appids: refused, never guessed at
        String appid = text(f, "appid", "app_id");
        if (appid != null && (appid.length() > MAX_APPID || controlCharacterIn(appid) != null)) {
            String name = nameOf(f, "appid", "app_id");
            throw Problem.badRequest(name, "the field '" + name + "' must be at most " + MAX_APPID + " characters, without control characters");
        }
        // the kind is read from these whatever their length: its parts are bounded slugs
        String type = lower(text(f, "type"));
        String direction = lower(text(f, "direction"));
        String status = lower(text(f, "status"));
        String leg = lower(text(f, "leg"));
        Integer answeredSeconds = integer(f, "answeredsec", "duration");
        // validated for every kind, so a malformed value is refused the same way whatever the kind;
        // a value no column can hold is left out of the typed row, and the call is stored all the same
        Map<String, String> rawOnly = new LinkedHashMap<>();
        String from = columnText(f, rawOnly, "from");
        String to = columnText(f, rawOnly, "to");
        String virtualNumber = columnText(f, rawOnly, "virtual_number");
        String user = columnText(f, rawOnly, "user", "agent");
        String team = columnText(f, rawOnly, "team");
        String hangupReason = columnText(f, rawOnly, "hangup_reason");
        Boolean record = bool(f, "record");
        bool(f, "voicemail");
        bool(f, "click_to_call");
        integer(f, "billedsec");
        integer(f, "waitedsec");
        String filename = fileName(f, rawOnly, "filename");
        String conversationUuid = columnText(f, rawOnly, "conversation_uuid");
        String ivrName = columnText(f, rawOnly, "ivr_name");
        String custom = custom(f, rawOnly, "custom", "extra_params");
        Instant callTime = firstNonNull(epoch(f, "time"), epoch(f, "answer_time"), epoch(f, "start_time"));
        epoch(f, "end_time");

        String kind = kind(type, direction, status, leg, answeredSeconds);
        Cdr cdr = null;
        if (TelecmiNotification.INCOMING_ANSWERED_CDR.equals(kind)) {
            // direction is absent, "inbound" or "incoming" here; status says "answered" once made a
            // slug, perhaps in more characters than its column takes: then it is stored as the kind says
            String storedStatus = status == null ? null : usable(status, MAX_TEXT, nameOf(f, "status"), rawOnly);
            cdr = new Cdr(cmiuuid, appid, direction == null ? "inbound" : direction, storedStatus == null ? "answered" : storedStatus,
                    from, to, virtualNumber, user, team, answeredSeconds, hangupReason, Boolean.TRUE.equals(record),
                    filename, conversationUuid, ivrName, custom, callTime);
        }
        return new TelecmiNotification(kind, cmiuuid, appid, method, raw, cdr, rawOnly);
    }

    /**
     * The notification kind, the first half of the deduplication key. Live events carry their
     * status, so "waiting" and "answered" events of one call are not duplicates of each other, and
     * none of them is a duplicate of the call's CDR. Never longer than notification.kind holds.
     */
    static String kind(String type, String direction, String status, String leg, Integer answeredSeconds) {
        if ("event".equals(type)) {
            return "live-event-" + slug(status == null ? "unknown" : status, SLUG);
        }
        String way;
        if (direction == null || "inbound".equals(direction) || "incoming".equals(direction)) {
            way = "incoming";
        } else if ("outbound".equals(direction) || "outgoing".equals(direction)) {
            way = "outgoing";
        } else {
            way = slug(direction, SLUG);
        }
        // older shapes carry no status: an answered duration says what happened
        String outcome = status != null ? slug(status, SLUG) : answeredSeconds != null ? "answered" : "unknown";
        String rest;
        if ("incoming".equals(way) && "missed".equals(outcome) && "b".equals(leg)) {
            rest = "incoming-user-missed-cdr";
        } else {
            rest = way + "-" + outcome + "-cdr" + ("outgoing".equals(way) && "b".equals(leg) ? "-leg-b" : "");
        }
        if (type == null || "cdr".equals(type)) {
            return rest;
        }
        // the rest is at most 20 + 1 + 20 + 4 = 45 characters: the type's slug gets what remains,
        // and a kind that fitted before keeps its spelling (it is half of the deduplication key)
        String prefix = slug(type, SLUG) + "-";
        if (prefix.length() + rest.length() > TelecmiNotification.MAX_KIND) {
            prefix = EDGE_DASHES.matcher(slug(type, TelecmiNotification.MAX_KIND - rest.length() - 1)).replaceAll("") + "-";
        }
        return prefix + rest;
    }

    private static final int SLUG = 20;

    private static String slug(String value, int max) {
        String s = EDGE_DASHES.matcher(NOT_SLUG.matcher(value.toLowerCase(Locale.ROOT)).replaceAll("-")).replaceAll("");
        if (s.isEmpty()) {
            s = "unknown";
        }
        return s.length() > max ? s.substring(0, max) : s;
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

    /**
     * Text as sent: numbers keep their digits (no exponent), so ids and phone numbers survive
     * ({@code 1e3} is "1000"). A number whose digits would not fit a column is refused before they
     * are written out: {@code 1e300000000} would be 300 million of them.
     */
    private static String text(ObjectNode f, String... names) {
        JsonNode v = field(f, names);
        if (v == null) {
            return null;
        }
        if (v.isTextual()) {
            return v.textValue();
        }
        String name = nameOf(f, names);
        if (v.isIntegralNumber()) {
            // at most Jackson's 1000 digits (and a sign)
            String digits = v.asText();
            if (digits.length() > MAX_TEXT) {
                throw numberTooLong(name);
            }
            return digits;
        }
        if (v.isNumber()) {
            // 1000 digits at most too, but an exponent of any size
            BigDecimal number = stripped(v.decimalValue(), name);
            if (plainLength(number) > MAX_TEXT) {
                throw numberTooLong(name);
            }
            return number.toPlainString();
        }
        throw Problem.badRequest(name, "the field '" + name + "' must be a string or a number");
    }

    private static Problem numberTooLong(String name) {
        return Problem.badRequest(name, "the field '" + name + "' is a number of more than " + MAX_TEXT + " characters written out");
    }

    /** 1.50 as 1.5; an exponent at the edge of BigDecimal's range cannot lose its zeros. */
    private static BigDecimal stripped(BigDecimal d, String name) {
        try {
            return d.stripTrailingZeros();
        } catch (ArithmeticException e) {
            throw Problem.badRequest(name, "the field '" + name + "' is out of range");
        }
    }

    /** The length of {@link BigDecimal#toPlainString()}, from precision and scale alone. */
    static long plainLength(BigDecimal d) {
        if (d.signum() == 0) {
            return 1;
        }
        long precision = d.precision();
        long scale = d.scale();
        long length = scale <= 0 ? precision - scale : Math.max(precision, scale + 1) + 1;
        return d.signum() < 0 ? length + 1 : length;
    }

    /**
     * A text column's value, or null (noted in {@code rawOnly}) when the column cannot hold it.
     * Other control characters are kept: the columns hold them, and every way out (JSON, the alert's
     * escaped HTML and CR/LF-stripped headers) is written for them.
     */
    private static String columnText(ObjectNode f, Map<String, String> rawOnly, String... names) {
        String s = text(f, names);
        return s == null ? null : usable(s, MAX_TEXT, nameOf(f, names), rawOnly);
    }

    /** The recording's file name names what is fetched: a control character makes it no name at all. */
    private static String fileName(ObjectNode f, Map<String, String> rawOnly, String... names) {
        String s = columnText(f, rawOnly, names);
        String why = s == null ? null : controlCharacterIn(s);
        if (why != null) {
            rawOnly.put(nameOf(f, names), why);
            return null;
        }
        return s;
    }

    /**
     * The original text of a field TeleCMI sends as JSON-inside-a-string (often not valid JSON),
     * up to {@link #MAX_CUSTOM} characters in its column.
     */
    private static String custom(ObjectNode f, Map<String, String> rawOnly, String... names) {
        JsonNode v = field(f, names);
        if (v == null) {
            return null;
        }
        // a non-string is kept as its JSON text, numbers as Jackson writes them (1E+300000000)
        String s = v.isTextual() ? v.textValue() : v.toString();
        return usable(s, MAX_CUSTOM, nameOf(f, names), rawOnly);
    }

    /**
     * The value, or null with the reason in {@code rawOnly}: longer than its column, or holding
     * U+0000, which PostgreSQL text cannot hold (one rule serves both databases).
     */
    private static String usable(String s, int max, String name, Map<String, String> rawOnly) {
        String why = s.length() > max ? "is longer than " + max + " characters"
                : s.indexOf('\u0000') >= 0 ? "contains a NUL character" : null;
        if (why == null) {
            return s;
        }
        rawOnly.put(name, why);
        return null;
    }

    private static String controlCharacterIn(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.getType(s.charAt(i)) == Character.CONTROL) {
                return "contains a control character";
            }
        }
        return null;
    }

    private static Integer integer(ObjectNode f, String... names) {
        JsonNode v = field(f, names);
        if (v == null) {
            return null;
        }
        String name = nameOf(f, names);
        BigDecimal number = number(v, name);
        if (number.signum() < 0) {
            throw Problem.badRequest(name, "the field '" + name + "' must not be negative");
        }
        if (number.signum() == 0) {
            return 0;
        }
        // decided from precision and scale: rounding 1e4000000 would build a number of 4 million digits
        if ((long) number.precision() - number.scale() > INT_DIGITS) {
            throw Problem.badRequest(name, "the field '" + name + "' is out of range");
        }
        try {
            return number.intValueExact();
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
        // decided from precision and scale before any rounding (see integer): below 1 or beyond a long
        long digits = (long) number.precision() - number.scale();
        if (number.signum() <= 0 || digits <= 0) {
            throw Problem.badRequest(name, "the field '" + name + "' must be a positive epoch time");
        }
        if (digits > LONG_DIGITS) {
            throw Problem.badRequest(name, "the field '" + name + "' is out of range");
        }
        try {
            long value = number.setScale(0, RoundingMode.DOWN).longValueExact();
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
