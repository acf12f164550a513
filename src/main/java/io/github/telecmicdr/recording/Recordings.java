package io.github.telecmicdr.recording;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.telecmicdr.Problem;
import io.github.telecmicdr.delivery.Delivery;
import io.github.telecmicdr.delivery.PermanentFailure;
import io.github.telecmicdr.store.CdrQueries;
import io.github.telecmicdr.store.Database;
import io.github.telecmicdr.store.StoredCdr;
import org.apache.camel.Exchange;
import org.apache.camel.Message;

import javax.sql.DataSource;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.Locale;
import java.util.UUID;

/**
 * Downloads recordings from TeleCMI and serves them back. TeleCMI answers 200 for everything, so
 * success is decided by the bytes: ID3 or an MPEG frame, or RIFF/WAVE. Its 200-with-JSON errors
 * are read (502: not published yet, retried; 407, 404: failed). Bodies stream to a temporary file
 * that is renamed into {@code recordings.dir/yyyy/MM/dd/} once complete: never held in memory.
 */
public final class Recordings {

    static final int SNIFF_BYTES = 12;
    static final int MAX_ERROR_BODY = 4096;

    private final DataSource dataSource;
    private final CdrQueries cdrs;
    private final ObjectMapper mapper;
    private final Path root;
    private final String appid;
    private final String secret;
    private final Clock clock;

    public Recordings(DataSource dataSource, CdrQueries cdrs, ObjectMapper mapper, Path root, String appid, String secret, Clock clock) {
        this.dataSource = dataSource;
        this.cdrs = cdrs;
        this.mapper = mapper;
        this.root = root;
        this.appid = appid;
        this.secret = secret;
        this.clock = clock;
    }

    /**
     * Sets up the request to TeleCMI's play API for the claimed delivery. The query, secret
     * included, travels in the CamelHttpQuery header, so no endpoint URI (which Camel may log)
     * ever carries it; every other header is removed so nothing else reaches TeleCMI.
     */
    public void prepareRequest(Exchange exchange) throws SQLException {
        Delivery delivery = exchange.getVariable("delivery", Delivery.class);
        if (appid == null || appid.isBlank() || secret == null || secret.isBlank()) {
            throw new PermanentFailure("telecmi.appid and telecmi.secret must be set to download recordings");
        }
        StoredCdr stored = cdrs.find(delivery.cmiuuid());
        if (stored == null) {
            throw new PermanentFailure("the CDR " + delivery.cmiuuid() + " is not stored");
        }
        String filename = stored.cdr().recordingFilename();
        String refused = RecordingFiles.whyNotFetched(filename);
        if (refused != null) {
            throw new PermanentFailure(refused);
        }
        exchange.setVariable("recordingFilename", filename);
        exchange.setVariable("callDate", (stored.cdr().callTime() != null ? stored.cdr().callTime() : stored.receivedAt())
                .atOffset(ZoneOffset.UTC).toLocalDate());
        Message message = exchange.getMessage();
        message.removeHeaders("*");
        message.setBody(null);
        message.setHeader(Exchange.HTTP_METHOD, "GET");
        message.setHeader(Exchange.HTTP_QUERY, "appid=" + encode(appid) + "&secret=" + encode(secret) + "&file=" + encode(filename));
    }

    /** Reads TeleCMI's answer: stores the audio, or says why not (retry or fail). */
    public void store(Exchange exchange) throws IOException, SQLException {
        Message message = exchange.getMessage();
        message.removeHeader(Exchange.HTTP_QUERY);
        Delivery delivery = exchange.getVariable("delivery", Delivery.class);
        int status = message.getHeader(Exchange.HTTP_RESPONSE_CODE, 0, Integer.class);
        String contentType = message.getHeader(Exchange.CONTENT_TYPE, "", String.class).toLowerCase(Locale.ROOT);
        try (InputStream body = message.getBody(InputStream.class)) {
            if (status >= 500 || status == 429 || status == 408) {
                throw new RetryLater("TeleCMI answered HTTP " + status);
            }
            if (status != 200) {
                throw new PermanentFailure("TeleCMI answered HTTP " + status);
            }
            if (body == null) {
                throw new PermanentFailure("TeleCMI answered 200 with no body");
            }
            BufferedInputStream in = new BufferedInputStream(body, 64 * 1024);
            in.mark(MAX_ERROR_BODY + 1);
            byte[] head = in.readNBytes(SNIFF_BYTES);
            String audioType = AudioSniffer.audioType(head);
            if (audioType == null) {
                in.reset();
                throw explain(in.readNBytes(MAX_ERROR_BODY), contentType);
            }
            if (!contentType.isEmpty() && !contentType.startsWith("audio/") && !contentType.startsWith("application/octet-stream")) {
                throw new PermanentFailure("TeleCMI answered audio bytes with Content-Type " + printable(contentType) + ", not audio");
            }
            in.reset();
            save(delivery, exchange.getVariable("recordingFilename", String.class),
                    exchange.getVariable("callDate", LocalDate.class), audioType, in);
        }
        message.setBody(null);
    }

    /** TeleCMI's 200-with-JSON error, or anything else that is not audio. */
    private RuntimeException explain(byte[] body, String contentType) {
        String text = new String(body, StandardCharsets.UTF_8).trim();
        if (text.startsWith("{")) {
            try {
                JsonNode json = mapper.readTree(text);
                int code = json.path("code").asInt(0);
                String msg = printable(json.path("msg").asText(""));
                if (code == 502) {
                    return new RetryLater("TeleCMI: 502 " + msg + " (the recording is not published yet)");
                }
                if (code == 407) {
                    return new PermanentFailure("TeleCMI: 407 " + msg + " (check telecmi.appid and telecmi.secret)");
                }
                if (code == 404) {
                    return new PermanentFailure("TeleCMI: 404 " + msg);
                }
                return new PermanentFailure("TeleCMI answered JSON instead of audio: code " + code + " " + msg);
            } catch (IOException e) {
                // not JSON after all: described below
            }
        }
        return new PermanentFailure("TeleCMI answered 200 with " + (contentType.isEmpty() ? "no Content-Type" : printable(contentType))
                + " and a body that is not audio (neither MP3 nor WAV)");
    }

    private void save(Delivery delivery, String filename, LocalDate callDate, String audioType, InputStream in) throws IOException, SQLException {
        Path partial = root.resolve(".partial");
        Files.createDirectories(partial);
        Path temp = partial.resolve(delivery.cmiuuid() + "-" + UUID.randomUUID() + ".part");
        MessageDigest sha256 = sha256();
        long size;
        try {
            try (OutputStream out = new DigestOutputStream(Files.newOutputStream(temp), sha256)) {
                size = in.transferTo(out);
            }
            String extension = filename.substring(filename.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
            Path dir = root.resolve(String.format("%04d/%02d/%02d", callDate.getYear(), callDate.getMonthValue(), callDate.getDayOfMonth()));
            Files.createDirectories(dir);
            Path target = dir.resolve(delivery.cmiuuid() + "." + extension);
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            record(delivery, root.relativize(target).toString(), audioType, size, HexFormat.of().formatHex(sha256.digest()));
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private void record(Delivery delivery, String relativePath, String contentType, long size, String sha256) throws SQLException {
        OffsetDateTime now = Database.now(clock);
        Database.inTransaction(dataSource, c -> {
            try (PreparedStatement delete = c.prepareStatement("DELETE FROM recording WHERE cmiuuid = ?");
                 PreparedStatement insert = c.prepareStatement("INSERT INTO recording (cmiuuid, delivery_id, file_path, content_type,"
                         + " size_bytes, sha256, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
                // a download repeated after a crash replaces the row it left
                delete.setString(1, delivery.cmiuuid());
                delete.executeUpdate();
                insert.setString(1, delivery.cmiuuid());
                insert.setLong(2, delivery.id());
                insert.setString(3, relativePath);
                insert.setString(4, contentType);
                insert.setLong(5, size);
                insert.setString(6, sha256);
                insert.setObject(7, now);
                insert.executeUpdate();
            }
            return null;
        });
    }

    /**
     * {@code GET /recordings/{cmiuuid}}: the stored audio with its content type, and HTTP Range
     * (one range) so a browser's player can seek. The body is a stream over the file.
     */
    public void serve(Exchange exchange) throws SQLException, IOException {
        Message message = exchange.getMessage();
        String cmiuuid = message.getHeader("cmiuuid", String.class);
        String range = message.getHeader("Range", String.class);
        message.removeHeaders("*");
        String path;
        String contentType;
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT file_path, content_type FROM recording WHERE cmiuuid = ?")) {
            ps.setString(1, cmiuuid);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new Problem(404, "no stored recording for this cmiuuid", "cmiuuid");
                }
                path = rs.getString(1);
                contentType = rs.getString(2);
            }
        }
        Path file = root.resolve(path).normalize();
        if (!file.startsWith(root.normalize()) || !Files.isRegularFile(file)) {
            throw new Problem(404, "the recording file is missing from recordings.dir", "cmiuuid");
        }
        long size = Files.size(file);
        ByteRange byteRange = ByteRange.parse(range, size);
        message.setHeader(Exchange.CONTENT_TYPE, contentType);
        message.setHeader("Accept-Ranges", "bytes");
        if (byteRange == ByteRange.UNSATISFIABLE) {
            message.setHeader(Exchange.HTTP_RESPONSE_CODE, 416);
            message.setHeader("Content-Range", "bytes */" + size);
            message.setBody("");
            return;
        }
        InputStream in = Files.newInputStream(file);
        if (byteRange == null) {
            message.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
            message.setHeader(Exchange.CONTENT_LENGTH, size);
            message.setBody(in);
            return;
        }
        in.skipNBytes(byteRange.start());
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, 206);
        message.setHeader("Content-Range", "bytes " + byteRange.start() + "-" + byteRange.end() + "/" + size);
        message.setHeader(Exchange.CONTENT_LENGTH, byteRange.length());
        message.setBody(new BoundedInputStream(in, byteRange.length()));
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String printable(String s) {
        String p = s.replaceAll("[^\\x20-\\x7e]", "?");
        return p.length() > 200 ? p.substring(0, 200) + "…" : p;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Worth another attempt later: the delivery backs off and retries. */
    public static final class RetryLater extends RuntimeException {
        public RetryLater(String message) {
            super(message, null, false, false);
        }
    }
}
