package io.github.telecmicdr.recording;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stand-in for TeleCMI that writes raw bytes on the socket, for what WireMock will not do: a
 * status line trickled a byte at a time, a Content-Length the body never delivers. Each recording
 * file name gets its own script; the script writes the whole answer and returns when it is done or
 * the client has gone.
 */
final class ScriptedTelecmi implements AutoCloseable {

    /** Writes one answer onto the connection. */
    @FunctionalInterface
    interface Answer {
        void write(OutputStream out) throws IOException, InterruptedException;
    }

    private static final Pattern FILE = Pattern.compile("[?&]file=([^& ]*)");
    private final ServerSocket server;
    private final ExecutorService connections = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "scripted-telecmi");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> requests = new ConcurrentHashMap<>();

    ScriptedTelecmi() {
        try {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        connections.submit(this::accept);
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    void answer(String file, Answer answer) {
        answers.put(file, answer);
    }

    int requestsFor(String file) {
        AtomicInteger n = requests.get(file);
        return n == null ? 0 : n.get();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                connections.submit(() -> serve(socket));
            } catch (IOException e) {
                // closed
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            String head = readHead(socket.getInputStream());
            Matcher m = FILE.matcher(head.lines().findFirst().orElse(""));
            String file = m.find() ? URLDecoder.decode(m.group(1), StandardCharsets.UTF_8) : "";
            requests.computeIfAbsent(file, f -> new AtomicInteger()).incrementAndGet();
            Answer answer = answers.getOrDefault(file, out -> out.write(
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            OutputStream out = socket.getOutputStream();
            answer.write(out);
            out.flush();
        } catch (IOException e) {
            // the client went away: what the trickling scripts wait for
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
            matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    /** A byte at a time, forever (until the client closes): what defeats a timeout between reads. */
    static void trickle(OutputStream out, byte[] bytes, long pauseMillis) throws IOException, InterruptedException {
        for (int i = 0; ; i = (i + 1) % bytes.length) {
            out.write(bytes[i]);
            out.flush();
            Thread.sleep(pauseMillis);
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // closing anyway
        }
        connections.shutdownNow();
    }
}
