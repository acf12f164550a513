package io.github.telecmicdr.web;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** One HTTP/1.1 connection written byte by byte, for what well-behaved clients never do (stall, trickle, linger). */
final class RawConnection implements AutoCloseable {

    /** How long a read waits: generous, the machine is busy; a limit under test is far shorter. */
    static final int READ_TIMEOUT_MS = 20_000;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    RawConnection(int port) {
        try {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(READ_TIMEOUT_MS);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes; false when the server has already closed the connection. */
    boolean send(String text) {
        return send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    boolean send(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** One answer: status line, headers and a body by Content-Length or chunks. */
    Answer read() {
        try {
            String head = readHead();
            String[] lines = head.split("\r\n");
            int status = Integer.parseInt(lines[0].substring(9, 12));
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                while (true) {
                    int size = Integer.parseInt(readLine().trim(), 16);
                    if (size == 0) {
                        readLine();
                        break;
                    }
                    body.write(in.readNBytes(size));
                    readLine();
                }
            } else if (headers.containsKey("content-length")) {
                body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
            }
            return new Answer(status, headers, body.toString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits (up to the read timeout) for the server to close: true on end of stream or reset, false if it stays open. */
    boolean closedByServer() {
        try {
            while (true) {
                if (in.read() < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Sends {@code text} one byte every {@code pauseMs}, as a slow-loris client does, until all is
     * sent or the server closes. Returns true if the server closed before the text was complete.
     */
    boolean trickle(String text, long pauseMs) {
        for (byte b : text.getBytes(StandardCharsets.ISO_8859_1)) {
            if (!send(new byte[] {b})) {
                return true;
            }
            try {
                // the pace of the attack under test, not a wait for a result
                Thread.sleep(pauseMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return false;
    }

    private String readHead() throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed before an answer: " + head);
            }
            head.append((char) b);
        }
        return head.substring(0, head.length() - 4);
    }

    private String readLine() throws IOException {
        StringBuilder line = new StringBuilder();
        while (!line.toString().endsWith("\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed inside a chunked body");
            }
            line.append((char) b);
        }
        return line.substring(0, line.length() - 2);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing a socket the server already closed
        }
    }

    record Answer(int status, Map<String, String> headers, String body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }
}
