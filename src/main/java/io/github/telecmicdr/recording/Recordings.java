package io.github.telecmicdr.recording;

import io.github.telecmicdr.delivery.RetryLater;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.telecmicdr.Problem;
import io.github.telecmicdr.delivery.Delivery;
import io.github.telecmicdr.delivery.PermanentFailure;
import io.github.telecmicdr.store.CdrQueries;
import io.github.telecmicdr.store.Database;
import io.github.telecmicdr.store.StoredCdr;
import io.vertx.core.http.HttpServerResponse;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.platform.http.vertx.HttpMessage;
import org.apache.camel.support.SynchronizationAdapter;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLEncoder;
import java.nio.channels.Channels;
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
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * Downloads recordings from TeleCMI and serves them back. TeleCMI answers 200 for everything, so
 * success is decided by the bytes: ID3 or an MPEG frame, or RIFF/WAVE. Its 200-with-JSON errors
 * are read (502: not published yet, retried; 407, 404: failed). Bodies stream to a temporary file
 * that is renamed into {@code recordings.dir/yyyy/MM/dd/} once complete: never held in memory, never
 * more than {@code recordings.max-bytes}, never longer than {@code recordings.download-timeout}.
 *
 * <p>A TeleCMI file is fetched once: a CDR naming a file already stored (and still on disk) gets a
 * recording row pointing at that file. So one file may be named by several rows, and may only be
 * deleted with the last of them (see {@link #linkStored}).
 */
public final class Recordings extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(Recordings.class);
    static final int SNIFF_BYTES = 12;
    static final int MAX_ERROR_BODY = 4096;
    /** Rows of one file name looked at for a stored copy: instances without shared storage each keep their own. */
    static final int STORED_COPIES_LOOKED_AT = 5;

    /**
     * The download settings: see the recordings.* and telecmi.* keys of application.properties.
     *
     * @param lease delivery.lease: the wait for a file name's turn and the download both end within it
     */
    public record Settings(Path root, String appid, String secret, long maxBytes, Duration downloadTimeout, Duration lease) {
    }

    private final DataSource dataSource;
    private final CdrQueries cdrs;
    private final ObjectMapper mapper;
    private final RecordingFolder folder;
    private final Path root;
    private final String appid;
    private final String secret;
    private final long maxBytes;
    private final Duration downloadTimeout;
    private final Duration lease;
    private final Clock clock;
    private final FileNameTurns turns = new FileNameTurns();
    private ScheduledThreadPoolExecutor deadlines;

    public Recordings(DataSource dataSource, CdrQueries cdrs, ObjectMapper mapper, Settings settings, Clock clock) {
        this.dataSource = dataSource;
        this.cdrs = cdrs;
        this.mapper = mapper;
        this.folder = new RecordingFolder(settings.root());
        this.root = folder.root();
        this.appid = settings.appid();
        this.secret = settings.secret();
        this.maxBytes = settings.maxBytes();
        this.downloadTimeout = settings.downloadTimeout();
        this.lease = settings.lease();
        this.clock = clock;
    }

    /** Before any delivery is claimed: the folders exist, and what a crash cut off is gone. */
    @Override
    protected void doStart() throws IOException {
        int removed = folder.prepare();
        if (removed > 0) {
            LOG.info("Removed {} partial recording download(s) left in {} by an earlier run", removed, root.resolve(".partial"));
        }
        deadlines = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "recording-download-deadlines");
            t.setDaemon(true);
            return t;
        });
        deadlines.setRemoveOnCancelPolicy(true);
    }

    @Override
    protected void doStop() {
        if (deadlines != null) {
            deadlines.shutdownNow();
        }
    }

    /**
     * Takes this instance's turn for the claimed delivery's TeleCMI file name (a download of the same
     * file by another delivery finishes first), then points the CDR's recording at that file when it
     * is stored already: {@code recordingReused} is then true and TeleCMI is not asked. The turn is
     * held until the delivery's exchange is over.
     */
    public void reuseStored(Exchange exchange) throws SQLException, InterruptedException {
        Delivery delivery = exchange.getVariable("delivery", Delivery.class);
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
        FileNameTurns.Turn turn = turns.take(filename, patience(lease, downloadTimeout, delivery.claimedAt(), clock.instant()));
        if (turn == null) {
            throw new RetryLater("another download of " + filename + " is still running", null);
        }
        Download download = new Download(turns, turn, describe(downloadTimeout));
        // when the delivery's exchange is over, done or failed (a doTry would keep a failure from the
        // route's error handler, which records it on the delivery)
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                download.finish();
            }
        });
        exchange.setVariable("recordingDownload", download);
        exchange.setVariable("recordingReused", linkStored(delivery, filename));
    }

    /** What a download's attempt does after its deadline, within its lease: rename, link, commit. */
    static final Duration AFTER_THE_DOWNLOAD = Duration.ofSeconds(10);

    /**
     * How long a delivery waits for its turn at a file name: what its lease leaves once its own
     * download's deadline and {@link #AFTER_THE_DOWNLOAD} are set aside, so that waiting and
     * downloading both end before the lease does (an attempt that outlives its lease is claimed
     * again). Not waiting at all when nothing is left: the attempt is retried later, by when the
     * other download has ended.
     */
    static Duration patience(Duration lease, Duration downloadTimeout, Instant claimedAt, Instant now) {
        Duration left = lease.minus(downloadTimeout).minus(AFTER_THE_DOWNLOAD).minus(Duration.between(claimedAt, now));
        return left.isNegative() ? Duration.ZERO : left;
    }

    /**
     * Sets up the request to TeleCMI's play API for the claimed delivery. The query, secret
     * included, travels in the CamelHttpQuery header, so no endpoint URI (which Camel may log)
     * ever carries it; every other header is removed so nothing else reaches TeleCMI. The
     * download's deadline starts here.
     */
    public void prepareRequest(Exchange exchange) {
        if (appid == null || appid.isBlank() || secret == null || secret.isBlank()) {
            throw new PermanentFailure("telecmi.appid and telecmi.secret must be set to download recordings");
        }
        String filename = exchange.getVariable("recordingFilename", String.class);
        Message message = exchange.getMessage();
        message.removeHeaders("*");
        message.setBody(null);
        message.setHeader(Exchange.HTTP_METHOD, "GET");
        message.setHeader(Exchange.HTTP_QUERY, "appid=" + encode(appid) + "&secret=" + encode(secret) + "&file=" + encode(filename));
        // the bytes as sent: Camel would otherwise inflate a gzip answer itself (the client is told
        // not to: RecordingDownloadClient)
        message.setHeader("Accept-Encoding", "identity");
        exchange.setProperty(Exchange.SKIP_GZIP_ENCODING, true);
        exchange.getVariable("recordingDownload", Download.class).prepared(deadlines, downloadTimeout.toMillis());
    }

    /** Reads TeleCMI's answer: stores the audio, or says why not (retry or fail). */
    public void store(Exchange exchange) throws IOException, SQLException {
        Message message = exchange.getMessage();
        message.removeHeader(Exchange.HTTP_QUERY);
        Delivery delivery = exchange.getVariable("delivery", Delivery.class);
        Download download = exchange.getVariable("recordingDownload", Download.class);
        int status = message.getHeader(Exchange.HTTP_RESPONSE_CODE, 0, Integer.class);
        String contentType = message.getHeader(Exchange.CONTENT_TYPE, "", String.class).toLowerCase(Locale.ROOT);
        String contentEncoding = message.getHeader("Content-Encoding", "", String.class).trim().toLowerCase(Locale.ROOT);
        long announced = message.getHeader(Exchange.CONTENT_LENGTH, -1L, Long.class);
        // closing the body would read it to its end: the download is abandoned instead when it is not read whole
        InputStream body = message.getBody(InputStream.class);
        message.setBody(null);
        boolean readWhole = false;
        try {
            if (status >= 500 || status == 429 || status == 408) {
                throw new RetryLater("TeleCMI answered HTTP " + status, null);
            }
            if (status != 200) {
                throw new PermanentFailure("TeleCMI answered HTTP " + status);
            }
            if (body == null) {
                throw new PermanentFailure("TeleCMI answered 200 with no body");
            }
            if (!contentEncoding.isEmpty() && !contentEncoding.equals("identity")) {
                // identity was asked for; inflating what came instead could make gigabytes of a small answer
                throw new PermanentFailure("TeleCMI answered with Content-Encoding " + printable(contentEncoding)
                        + " although none was asked for: not stored");
            }
            if (announced > maxBytes) {
                throw tooLarge("TeleCMI announced " + announced + " bytes");
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
            readWhole = true;
        } catch (IOException e) {
            if (download.timedOut()) {
                throw download.timeoutFailure();
            }
            throw e;
        } finally {
            if (!readWhole) {
                download.abandon();
            }
        }
    }

    private PermanentFailure tooLarge(String what) {
        return new PermanentFailure("the recording is larger than recordings.max-bytes (" + maxBytes + " bytes): " + what);
    }

    /** TeleCMI's 200-with-JSON error, or anything else that is not audio. */
    private RuntimeException explain(byte[] body, String contentType) {
        String text = new String(body, StandardCharsets.UTF_8).trim();
        if (text.isEmpty()) {
            return new RetryLater("TeleCMI answered 200 with an empty body", null);
        }
        if (text.startsWith("{")) {
            try {
                JsonNode json = mapper.readTree(text);
                int code = json.path("code").asInt(0);
                String msg = printable(json.path("msg").asText(""));
                if (code == 502) {
                    return new RetryLater("TeleCMI: 502 " + msg + " (the recording is not published yet)", null);
                }
                if (code >= 500 || code == 429 || code == 408) {
                    // as the same status would be in HTTP's own: busy, slow or down for now
                    return new RetryLater("TeleCMI: " + code + " " + msg, null);
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
        MessageDigest sha256 = sha256();
        long size = 0;
        RecordingFolder.Partial partial = folder.newPartial(delivery.cmiuuid());
        try {
            String extension = filename.substring(filename.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
            Path dir = root.resolve(String.format("%04d/%02d/%02d", callDate.getYear(), callDate.getMonthValue(), callDate.getDayOfMonth()));
            Path target = dir.resolve(delivery.cmiuuid() + "." + extension);
            try (partial) {
                OutputStream out = new DigestOutputStream(Channels.newOutputStream(partial.channel()), sha256);
                byte[] buffer = new byte[64 * 1024];
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    size += n;
                    if (size > maxBytes) {
                        throw tooLarge("more than that arrived");
                    }
                    out.write(buffer, 0, n);
                }
                // on disk before the row says it is stored
                partial.channel().force(true);
                folder.createFolders(dir);
                // renamed while still locked: a clean-up at another instance's start leaves it alone
                Files.move(partial.file(), target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            record(delivery, filename, root.relativize(target).toString(), audioType, size, HexFormat.of().formatHex(sha256.digest()));
        } finally {
            Files.deleteIfExists(partial.file());
        }
    }

    private void record(Delivery delivery, String filename, String relativePath, String contentType, long size, String sha256) throws SQLException {
        Database.inTransaction(dataSource, c -> {
            insertRecording(c, delivery, filename, relativePath, contentType, size, sha256);
            return null;
        });
    }

    private void insertRecording(Connection c, Delivery delivery, String filename, String relativePath, String contentType, long size,
                                 String sha256) throws SQLException {
        try (PreparedStatement delete = c.prepareStatement("DELETE FROM recording WHERE cmiuuid = ?");
             PreparedStatement insert = c.prepareStatement("INSERT INTO recording (cmiuuid, delivery_id, telecmi_filename, file_path,"
                     + " content_type, size_bytes, sha256, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
            // a download repeated after a crash replaces the row it left
            delete.setString(1, delivery.cmiuuid());
            delete.executeUpdate();
            insert.setString(1, delivery.cmiuuid());
            insert.setLong(2, delivery.id());
            insert.setString(3, filename);
            insert.setString(4, relativePath);
            insert.setString(5, contentType);
            insert.setLong(6, size);
            insert.setString(7, sha256);
            insert.setObject(8, Database.now(clock));
            insert.executeUpdate();
        }
    }

    /**
     * Points the delivery's CDR at a stored copy of the TeleCMI file, if one is on this instance's
     * disk; false when there is none (the file must be fetched).
     *
     * <p>The row whose file is shared is locked ({@code FOR UPDATE}) while the new row is written.
     * Whoever deletes recordings must, in one transaction, delete the rows, then look whether any
     * row still names each of their files (index {@code recording_file_path_idx}), and delete a file
     * only when none does, after the commit. Either the deletion comes first (the lock here then
     * finds no row, and the file is fetched again) or this link does (and the deleter sees the new
     * row and keeps the file).
     */
    private boolean linkStored(Delivery delivery, String filename) throws SQLException {
        List<String> copies = new ArrayList<>();
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT file_path FROM recording WHERE telecmi_filename = ?"
                     + " ORDER BY telecmi_filename, stored_at DESC FETCH FIRST " + STORED_COPIES_LOOKED_AT + " ROWS ONLY")) {
            ps.setString(1, filename);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (!copies.contains(rs.getString(1))) {
                        copies.add(rs.getString(1));
                    }
                }
            }
        }
        for (String copy : copies) {
            Path file = storedFile(copy);
            if (file == null) {
                continue;
            }
            boolean linked = Database.inTransaction(dataSource, c -> {
                try (PreparedStatement ps = c.prepareStatement("SELECT content_type, size_bytes, sha256 FROM recording"
                        + " WHERE telecmi_filename = ? AND file_path = ? FETCH FIRST 1 ROWS ONLY FOR UPDATE")) {
                    ps.setString(1, filename);
                    ps.setString(2, copy);
                    try (ResultSet rs = ps.executeQuery()) {
                        // a file cut short or replaced is not the recording its row describes
                        if (!rs.next() || sizeOnDisk(file) != rs.getLong(2)) {
                            return false;
                        }
                        insertRecording(c, delivery, filename, copy, rs.getString(1), rs.getLong(2), rs.getString(3));
                        return true;
                    }
                }
            });
            if (linked) {
                LOG.info("Recording {} for cmiuuid {} is stored already: shared, not fetched again", filename, delivery.cmiuuid());
                return true;
            }
        }
        return false;
    }

    /** The stored file a row names, or null when it is not on this instance's disk. */
    private Path storedFile(String relativePath) {
        Path file = root.resolve(relativePath).normalize();
        return file.startsWith(root) && Files.isRegularFile(file) ? file : null;
    }

    private static long sizeOnDisk(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    /**
     * {@code GET /recordings/{cmiuuid}}: the stored audio with its content type, and HTTP Range
     * (one range) so a browser's player can seek. The body is a stream over the file, closed as
     * soon as the client goes away (players abort requests all the time when seeking).
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
        Path file = storedFile(path);
        if (file == null) {
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
        ServedRecording body;
        if (byteRange == null) {
            body = new ServedRecording(file, 0, size);
            message.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
            message.setHeader(Exchange.CONTENT_LENGTH, size);
        } else {
            body = new ServedRecording(file, byteRange.start(), byteRange.length());
            message.setHeader(Exchange.HTTP_RESPONSE_CODE, 206);
            message.setHeader("Content-Range", "bytes " + byteRange.start() + "-" + byteRange.end() + "/" + size);
            message.setHeader(Exchange.CONTENT_LENGTH, byteRange.length());
        }
        if (exchange.getIn() instanceof HttpMessage http) {
            HttpServerResponse response = http.getResponse();
            response.closeHandler(gone -> body.abandon());
            if (response.closed()) {
                body.abandon(); // gone before the handler was there
            }
        }
        message.setBody(body);
    }

    /** A duration as the settings write it: 90s, 10m, 1500ms. */
    static String describe(Duration d) {
        long ms = d.toMillis();
        if (ms % 86_400_000 == 0 && ms > 0) {
            return ms / 86_400_000 + "d";
        }
        if (ms % 3_600_000 == 0 && ms > 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0 && ms > 0) {
            return ms / 60_000 + "m";
        }
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
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

}
