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
import org.apache.camel.Body;
import org.apache.camel.Exchange;
import org.apache.camel.Header;
import org.apache.camel.Variable;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that reads TeleCMI's deliveries: JSON bodies and GET query strings, every variant
 * in FACTS.md (aliases, string booleans, numbers as strings, seconds or milliseconds), into a
 * {@link TelecmiNotification}. What it refuses is a {@link Problem} naming the field; what it
 * refuses and what it only leaves out of the typed columns is decided in one place, {@link Fields}.
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

    private static final String BYTE_ORDER_MARK = "\uFEFF";

    /** A POSTed body: strict UTF-8 (a leading byte order mark ignored), one JSON object, no duplicate keys. */
    public TelecmiNotification parseJson(byte[] body) {
        String text = body == null ? "" : decodeUtf8(body, "body");
        // a byte order mark, as some Windows tools write before UTF-8 JSON: RFC 8259 lets a reader
        // ignore it. It is no part of the JSON text, so the stored payload goes without it: the API
        // and the forwards embed that payload in JSON of their own, where a BOM would be invalid
        String raw = text.startsWith(BYTE_ORDER_MARK) ? text.substring(1) : text;
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

    /** The variable the reconciliation route names its TeleCMI account in (telecmi.appid). */
    public static final String ACCOUNT_APPID = "accountAppid";

    /**
     * One row of TeleCMI's pull API of answered calls ({@code POST /v2/answered}), as its JSON text:
     * normalised as the webhook of the same call would be, so both meet on one deduplication key.
     * The rows name neither their kind nor their account ({@code cmiuid}, {@code duration},
     * {@code agent}, string booleans, numbers as text): they are the account's incoming answered
     * calls, so a row without status reads as answered, and one without appid as the account's.
     * The row is the raw payload; it came by no HTTP method of TeleCMI's (null).
     */
    public TelecmiNotification parsePulledRow(@Body String row, @Variable(ACCOUNT_APPID) String accountAppid) {
        if (row == null || row.isBlank()) {
            throw Problem.badRequest("cdr", "an empty row: expected a JSON object");
        }
        JsonNode tree;
        try (JsonParser parser = mapper.createParser(row)) {
            tree = readTree(parser);
        } catch (IOException e) {
            throw Problem.badRequest("cdr", "malformed JSON");
        }
        if (tree == null || !tree.isObject()) {
            throw Problem.badRequest("cdr", "a row must be a JSON object");
        }
        ObjectNode fields = (ObjectNode) tree;
        if (!fields.has("status") && !fields.has("type")) {
            fields.put("status", "answered");
        }
        if (!fields.has("appid") && !fields.has("app_id") && accountAppid != null && !accountAppid.isBlank()) {
            fields.put("appid", accountAppid);
        }
        return normalise(fields, row, null);
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
    public TelecmiNotification parseQuery(@Header(Exchange.HTTP_QUERY) String rawQuery) {
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
        Fields read = new Fields(f);
        // the call's identity: refused, never left out (see Fields)
        String cmiuuid = read.text("cmiuuid", "cmiuid");
        if (cmiuuid == null) {
            throw refused("cmiuuid", "is missing");
        }
        if (!CMIUUID.matcher(cmiuuid).matches()) {
            throw refused(read.nameOf("cmiuuid", "cmiuid"), "must be 1 to 64 letters, digits or dashes");
        }
        String appid = read.text("appid", "app_id");
        if (appid != null && (appid.length() > MAX_APPID || controlCharacterIn(appid) != null || hasLoneSurrogate(appid))) {
            throw refused(read.nameOf("appid", "app_id"), "must be at most " + MAX_APPID + " characters, without control characters"
                    + " or half a surrogate pair");
        }
        // the rest is left out of its column when it cannot be used, and the call stored all the same
        String type = read.kindPart("type");
        String direction = read.kindPart("direction");
        String status = read.kindPart("status");
        String leg = read.kindPart("leg");
        // read for every kind, so a number out of range is refused the same way whatever the kind
        Integer answeredSeconds = read.seconds("answeredsec", "duration");
        String from = read.column("from");
        String to = read.column("to");
        String virtualNumber = read.column("virtual_number");
        String user = read.column("user", "agent");
        String team = read.column("team");
        String hangupReason = read.column("hangup_reason");
        Boolean record = read.bool("record");
        read.bool("voicemail");
        read.bool("click_to_call");
        read.seconds("billedsec");
        read.seconds("waitedsec");
        String filename = read.fileName("filename");
        String conversationUuid = read.column("conversation_uuid");
        String ivrName = read.column("ivr_name");
        String custom = read.custom("custom", "extra_params");
        Instant callTime = firstNonNull(read.epoch("time"), read.epoch("answer_time"), read.epoch("start_time"));
        read.epoch("end_time");

        String kind = kind(type, direction, status, leg, answeredSeconds);
        boolean answeredCdr = TelecmiNotification.INCOMING_ANSWERED_CDR.equals(kind);
        String storedStatus = status == null ? null : read.usable(status, MAX_TEXT, read.nameOf("status"));
        String storedDirection = direction;
        if (answeredCdr) {
            // direction is absent, "inbound" or "incoming" here; status says "answered" once made a
            // slug, perhaps in more characters than its column takes: then it is stored as the kind says
            storedDirection = direction == null ? "inbound" : direction;
            storedStatus = storedStatus == null ? "answered" : storedStatus;
        }
        Cdr call = new Cdr(cmiuuid, appid, storedDirection, storedStatus, from, to, virtualNumber, user, team, answeredSeconds,
                hangupReason, Boolean.TRUE.equals(record), filename, conversationUuid, ivrName, custom, callTime);
        return new TelecmiNotification(kind, cmiuuid, appid, method, raw, answeredCdr ? call : null, read.unusable, call);
    }

    /**
     * The notification kind, the first half of the deduplication key. Live events carry their
     * status, so "waiting" and "answered" events of one call are not duplicates of each other, and
     * none of them is a duplicate of the call's CDR. Never longer than notification.kind holds.
     */
    static String kind(String type, String direction, String status, String leg, Integer answeredSeconds) {
        if ("event".equals(type)) {
            return "live-event-" + slug(status == null ? "unknown" : status);
        }
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
        String part = slug(type);
        int room = TelecmiNotification.MAX_KIND - rest.length() - 1;
        if (part.length() > room) {
            part = EDGE_DASHES.matcher(part.substring(0, room)).replaceAll("");
        }
        return part + "-" + rest;
    }

    private static final int SLUG = 20;

    /**
     * The value in lower-case letters, digits and dashes, at most {@value #SLUG} characters. One cut
     * short ends in a dash and six hex digits of a hash of all of it: two long statuses that begin
     * alike ("transferred-to-queue-sales", "...-support") would otherwise make one kind, and the
     * second would be answered "duplicate" and not stored. Every value that fits keeps its spelling;
     * a longer one is spelled differently than before the hash (a repeat sent across the upgrade is
     * stored again, once).
     */
    private static String slug(String value) {
        String s = EDGE_DASHES.matcher(NOT_SLUG.matcher(value.toLowerCase(Locale.ROOT)).replaceAll("-")).replaceAll("");
        if (s.isEmpty()) {
            s = "unknown";
        }
        if (s.length() <= SLUG) {
            return s;
        }
        String head = EDGE_DASHES.matcher(s.substring(0, SLUG - HASH_HEX - 1)).replaceAll("");
        return head + "-" + HexFormat.of().formatHex(SHA256.get().digest(s.getBytes(StandardCharsets.UTF_8)), 0, HASH_HEX / 2);
    }

    private static final int HASH_HEX = 6;
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });

    private static Problem refused(String name, String why) {
        return Problem.badRequest(name, "the field '" + name + "' " + why);
    }

    /** A number beyond what its field's type holds: refused, whatever the field (see {@link Fields}). */
    private static Problem outOfRange(String name) {
        return refused(name, "is out of range");
    }

    private static Problem numberTooLong(String name) {
        return refused(name, "is a number of more than " + MAX_TEXT + " characters written out");
    }

    /**
     * One delivery's fields as the typed columns take them, and where the line is drawn between a
     * field that costs the call and one that does not.
     *
     * <p>A value its field cannot use (of another type, text where a number belongs, "maybe" where a
     * boolean belongs, a negative duration, an epoch time of 0, too long or holding U+0000 for its
     * column) is left out of its typed column and noted in {@link #unusable} with why; the call is
     * stored, the raw payload keeps the value, and only what the field drives is skipped (an
     * unreadable {@code record} counts as not recorded, so no recording is fetched). Refusing it
     * would lose the call: TeleCMI sends the same value on every retry.
     *
     * <p>Refused with 400 naming the field, nothing stored, only:
     * <ul>
     * <li>the call's identity ({@link #IDENTITY}): the cmiuuid is half the deduplication key, and
     * the appid is checked against telecmi.allowed-appids, where a call without one is admitted on
     * its token, so an unreadable appid is never taken for an absent one;</li>
     * <li>a number beyond what its field's type holds ({@link #outOfRange}, {@link #numberTooLong}),
     * in any field: an int of seconds, a long epoch time, 1000 characters written out. It is judged
     * from the number's precision and scale before anything is converted, because rounding or
     * writing out {@code 1e4000000} costs seconds and megabytes: a number bomb is an attack, not a slip.</li>
     * </ul>
     */
    private static final class Fields {
        private static final Set<String> IDENTITY = Set.of("cmiuuid", "cmiuid", "appid", "app_id");
        /** A number as TeleCMI writes one in a string; possessive, so a megabyte of digits is read in one pass. */
        private static final Pattern NUMBER_TEXT = Pattern.compile("[+-]?+(?:\\d++(?:\\.\\d*+)?+|\\.\\d++)(?:[eE][+-]?+\\d++)?+");
        private static final BigDecimal INT_MAX = BigDecimal.valueOf(Integer.MAX_VALUE);
        private static final BigDecimal LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);
        /** The kind's part for a type, direction, status or leg that is not text: never a kind that fans out. */
        private static final String UNKNOWN = "unknown";

        private final ObjectNode f;
        /** The fields left out of their typed column, each with why: {@link TelecmiNotification#rawOnly()}. */
        final Map<String, String> unusable = new LinkedHashMap<>();

        Fields(ObjectNode f) {
            this.f = f;
        }

        /** Null, with why noted: the call is stored without this field. The identity is refused instead. */
        <T> T unreadable(String name, String why) {
            if (IDENTITY.contains(name)) {
                throw refused(name, why);
            }
            unusable.put(name, why);
            return null;
        }

        /** The first of the named fields that holds a value; "" and null count as absent. */
        JsonNode field(String... names) {
            for (String name : names) {
                JsonNode v = f.get(name);
                if (v != null && !v.isNull() && !(v.isTextual() && v.textValue().isEmpty())) {
                    return v;
                }
            }
            return null;
        }

        String nameOf(String... names) {
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
        String text(String... names) {
            JsonNode v = field(names);
            if (v == null) {
                return null;
            }
            if (v.isTextual()) {
                return v.textValue();
            }
            String name = nameOf(names);
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
            return unreadable(name, "is neither a string nor a number");
        }

        /**
         * A part of the kind, in lower case, whatever its length (the kind takes a bounded slug of
         * it). A number stands as its digits, any other value that is not text (or text holding half
         * a surrogate pair) as "unknown": the kind then names no documented notification, so the call
         * is stored and nothing is planned on a guess.
         */
        String kindPart(String name) {
            if (field(name) == null) {
                return null;
            }
            String s = text(name);
            // half a surrogate pair: stored in cdr's columns, and no UTF-8 writer could write it back
            return s == null || hasLoneSurrogate(s) ? UNKNOWN : s.trim().toLowerCase(Locale.ROOT);
        }

        /**
         * A text column's value, or null (noted) when the column cannot hold it. Other control
         * characters are kept: the columns hold them, and every way out (JSON, the alert's escaped
         * HTML and CR/LF-stripped headers) is written for them.
         */
        String column(String... names) {
            String s = text(names);
            return s == null ? null : usable(s, MAX_TEXT, nameOf(names));
        }

        /** The recording's file name names what is fetched: a control character makes it no name at all. */
        String fileName(String name) {
            String s = column(name);
            String why = s == null ? null : controlCharacterIn(s);
            return why == null ? s : unreadable(name, why);
        }

        /**
         * The original text of a field TeleCMI sends as JSON-inside-a-string (often not valid JSON),
         * up to {@link #MAX_CUSTOM} characters in its column.
         */
        String custom(String... names) {
            JsonNode v = field(names);
            if (v == null) {
                return null;
            }
            // a non-string is kept as its JSON text, numbers as Jackson writes them (1E+300000000)
            String s = v.isTextual() ? v.textValue() : v.toString();
            return usable(s, MAX_CUSTOM, nameOf(names));
        }

        /**
         * The value, or null (noted): longer than its column, holding U+0000, which PostgreSQL text
         * cannot hold (one rule serves both databases), or half a surrogate pair (U+D800 escaped alone
         * is valid JSON), which no UTF-8 writer can write back: a list of calls holding it could not
         * be answered.
         */
        String usable(String s, int max, String name) {
            String why = s.length() > max ? "is longer than " + max + " characters"
                    : s.indexOf('\u0000') >= 0 ? "contains a NUL character"
                    : hasLoneSurrogate(s) ? "contains half a surrogate pair" : null;
            return why == null ? s : unreadable(name, why);
        }

        /** Whole seconds (answeredsec, billedsec, ...): an int, so more is out of range. */
        Integer seconds(String... names) {
            JsonNode v = field(names);
            if (v == null) {
                return null;
            }
            String name = nameOf(names);
            BigDecimal number = number(v, name);
            if (number == null) {
                return null;
            }
            if (number.signum() == 0) {
                // before any rounding: the scale of 0E-4000000 is not bounded by its length written out
                return 0;
            }
            // decided from precision and scale: rounding 1e4000000 would build a number of 4 million digits
            if ((long) number.precision() - number.scale() > INT_DIGITS) {
                throw outOfRange(name);
            }
            BigDecimal whole = number.setScale(0, RoundingMode.DOWN);
            if (whole.abs().compareTo(INT_MAX) > 0) {
                throw outOfRange(name);
            }
            if (number.signum() < 0) {
                return unreadable(name, "is negative");
            }
            if (whole.compareTo(number) != 0) {
                return unreadable(name, "is not a whole number of seconds");
            }
            return whole.intValue();
        }

        /** Epoch seconds or milliseconds, as a number or a string of digits: a long, so more is out of range. */
        Instant epoch(String name) {
            JsonNode v = field(name);
            if (v == null) {
                return null;
            }
            BigDecimal number = number(v, name);
            if (number == null) {
                return null;
            }
            if (number.signum() == 0) {
                return unreadable(name, "is not a positive epoch time");
            }
            // decided from precision and scale before any rounding (see seconds)
            if ((long) number.precision() - number.scale() > LONG_DIGITS) {
                throw outOfRange(name);
            }
            BigDecimal whole = number.setScale(0, RoundingMode.DOWN);
            if (whole.abs().compareTo(LONG_MAX) > 0) {
                throw outOfRange(name);
            }
            long value = whole.longValue();
            if (value <= 0) {
                return unreadable(name, "is not a positive epoch time");
            }
            Instant instant = value >= MILLIS_THRESHOLD ? Instant.ofEpochMilli(value) : Instant.ofEpochSecond(value);
            return instant.isAfter(LATEST_CALL_TIME) ? unreadable(name, "is after the year 9999") : instant;
        }

        /**
         * A JSON number, or a string that reads as one (TeleCMI sends both); null (noted) for anything
         * else. Either is out of range past {@link #MAX_TEXT} characters written out, like a text column.
         */
        private BigDecimal number(JsonNode v, String name) {
            BigDecimal number;
            if (v.isNumber()) {
                number = v.decimalValue();
            } else if (v.isTextual() && NUMBER_TEXT.matcher(v.textValue().trim()).matches()) {
                String written = v.textValue().trim();
                if (written.length() > MAX_TEXT) {
                    throw outOfRange(name);
                }
                try {
                    number = new BigDecimal(written);
                } catch (NumberFormatException e) {
                    // the one way a well-formed number fails: an exponent beyond an int
                    throw outOfRange(name);
                }
            } else {
                return unreadable(name, "is not a number");
            }
            if (plainLength(number) > MAX_TEXT) {
                throw outOfRange(name);
            }
            return number;
        }

        /** JSON booleans, "true"/"false"/"yes"/"no" in any case, and 1/0. */
        Boolean bool(String name) {
            JsonNode v = field(name);
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
                    return unreadable(name, "is neither true nor false");
            }
        }
    }

    /** 1.50 as 1.5; an exponent at the edge of BigDecimal's range cannot lose its zeros. */
    private static BigDecimal stripped(BigDecimal d, String name) {
        try {
            return d.stripTrailingZeros();
        } catch (ArithmeticException e) {
            throw outOfRange(name);
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

    private static boolean hasLoneSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    private static String controlCharacterIn(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.getType(s.charAt(i)) == Character.CONTROL) {
                return "contains a control character";
            }
        }
        return null;
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
