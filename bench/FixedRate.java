import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Posts answered CDRs at a fixed rate and prints p50/p99 of the answers; given a file, writes
 * "cmiuuid ack_epoch_ms" for each acknowledged CDR.
 * Run: java bench/FixedRate.java URL RATE SECONDS HANGUP_REASON [ACK_FILE]
 *
 * Request i is due at start + i/RATE. Keep-alive connections (64) take the next due request when
 * they are free, and latency counts from when the request was due, not from when it was sent: a
 * slow server shows in the latency instead of lowering the rate (no coordinated omission). The
 * first WARMUP_SECONDS run at the same rate but are not counted: in the first second this client's
 * own JIT and its 64 connection set-ups made p99 105 ms against 14-29 ms in each later second. Plain
 * sockets and blocking threads keep the client's own CPU small: the JDK HttpClient used before
 * took more than one of the machine's two cores at 1,200 requests/s, starving the service.
 */
public class FixedRate {

    private static final int CONNECTIONS = 64;
    private static final int WARMUP_SECONDS = 2;
    /** BENCH_KEYS=clustered: the keys sent before 2026-11-29's seventh session (bench/cdr-post.lua). */
    private static final boolean OLD_KEYS = "clustered".equals(System.getenv("BENCH_KEYS"));

    public static void main(String[] args) throws Exception {
        URI uri = URI.create(args[0]);
        int rate = Integer.parseInt(args[1]);
        int seconds = Integer.parseInt(args[2]);
        String reason = args[3];
        Path ackFile = args.length > 4 ? Path.of(args[4]) : null;
        int warmup = rate * WARMUP_SECONDS;
        int total = warmup + rate * seconds;
        long periodNanos = 1_000_000_000L / rate;
        long[] latencyMicros = new long[total];
        Arrays.fill(latencyMicros, -1);
        String[] acks = new String[total];
        AtomicInteger next = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        long deadline = start + TimeUnit.SECONDS.toNanos(seconds + 30L);
        List<Thread> connections = new ArrayList<>();
        for (int c = 0; c < CONNECTIONS; c++) {
            Thread t = new Thread(() -> {
                Connection connection = null;
                for (int i = next.getAndIncrement(); i < total && System.nanoTime() < deadline; i = next.getAndIncrement()) {
                    long due = start + i * periodNanos;
                    for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                        LockSupport.parkNanos(wait);
                    }
                    String id = OLD_KEYS ? Long.toHexString(ThreadLocalRandom.current().nextLong()) + "-" + i : UUID.randomUUID().toString();
                    long caller = OLD_KEYS ? 440_000_000_002L : 440_000_000_000L + ThreadLocalRandom.current().nextInt(1_000_000);
                    try {
                        if (connection == null) {
                            connection = new Connection(uri);
                        }
                        int status = connection.post(body(id, caller, reason));
                        if (status == 200) {
                            latencyMicros[i] = (System.nanoTime() - due) / 1000;
                            acks[i] = id + " " + System.currentTimeMillis();
                        } else {
                            errors.incrementAndGet();
                        }
                    } catch (IOException e) {
                        errors.incrementAndGet();
                        if (connection != null) {
                            connection.close();
                        }
                        connection = null;
                    }
                }
                if (connection != null) {
                    connection.close();
                }
            });
            t.start();
            connections.add(t);
        }
        for (Thread t : connections) {
            t.join();
        }
        long[] answered = Arrays.stream(latencyMicros, warmup, total).filter(l -> l >= 0).sorted().toArray();
        double p50 = answered.length == 0 ? 0 : answered[answered.length / 2] / 1000.0;
        double p99 = answered.length == 0 ? 0 : answered[Math.min(answered.length - 1, (int) (answered.length * 0.99))] / 1000.0;
        System.out.printf("RESULT rate=%d seconds=%d ok=%d errors=%d p50_ms=%.2f p99_ms=%.2f%n", rate, seconds, answered.length, errors.get(), p50, p99);
        if (ackFile != null) {
            try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(ackFile))) {
                Arrays.stream(acks).filter(a -> a != null).forEach(out::println);
            }
        }
    }

    /** An answered CDR: its cmiuuid, the caller's number and the hangup reason. */
    static String body(String id, long caller, String reason) {
        return "{\"appid\":2222223,\"type\":\"cdr\",\"direction\":\"inbound\",\"cmiuuid\":\"" + id + "\",\"user\":\"204_2222223\","
                + "\"status\":\"answered\",\"to\":440000000001,\"from\":" + caller + ",\"time\":1634720920615,\"answeredsec\":11,"
                + "\"team\":\"Sales_2222223\",\"hangup_reason\":\"" + reason + "\",\"record\":false,\"ivr_name\":\"salesivr\"}";
    }

    /** One keep-alive HTTP/1.1 connection: POST, then read the status and the Content-Length body. */
    static final class Connection {
        private final Socket socket = new Socket();
        private final OutputStream out;
        private final InputStream in;
        private final String head;

        Connection(URI uri) throws IOException {
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(30_000);
            socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5_000);
            out = socket.getOutputStream();
            in = new BufferedInputStream(socket.getInputStream(), 8192);
            head = "POST " + uri.getRawPath() + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort()
                    + "\r\nContent-Type: application/json\r\nContent-Length: ";
        }

        int post(String json) throws IOException {
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            out.write((head + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            String status = line();
            int contentLength = 0;
            for (String header = line(); !header.isEmpty(); header = line()) {
                if (header.regionMatches(true, 0, "content-length:", 0, 15)) {
                    contentLength = Integer.parseInt(header.substring(15).trim());
                }
            }
            in.skipNBytes(contentLength);
            return Integer.parseInt(status.substring(9, 12));
        }

        private String line() throws IOException {
            StringBuilder line = new StringBuilder(64);
            for (int b = in.read(); b != '\n'; b = in.read()) {
                if (b < 0) {
                    throw new IOException("connection closed");
                }
                if (b != '\r') {
                    line.append((char) b);
                }
            }
            return line.toString();
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
