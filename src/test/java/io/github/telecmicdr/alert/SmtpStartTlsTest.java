package io.github.telecmicdr.alert;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With {@code mail.smtp.starttls=true}, an SMTP server that does not offer STARTTLS (or a man in
 * the middle who stripped it from the EHLO answer) never sees the credentials: the attempt fails.
 * The server here is a real one on a socket, speaking just enough SMTP to accept a message, and it
 * offers AUTH without STARTTLS, as a stripping attacker would.
 */
class SmtpStartTlsTest {

    static final String SMTP_PASSWORD = "starttls-check-password-61a7";

    @Test
    void aServerWithoutStartTlsNeverGetsThePassword() throws Exception {
        List<String> received = new CopyOnWriteArrayList<>();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread smtp = new Thread(() -> serve(server, received), "stripped-starttls-smtp");
            smtp.setDaemon(true);
            smtp.start();
            try (RunningService s = RunningService.builder()
                    .property("mail.smtp.host", "127.0.0.1")
                    .property("mail.smtp.port", String.valueOf(server.getLocalPort()))
                    .property("mail.smtp.starttls", "true")
                    .property("mail.smtp.username", "router")
                    .property("mail.smtp.password", SMTP_PASSWORD)
                    .property("delivery.poll-interval-ms", "100")
                    .build()) {
                String id = UUID.randomUUID().toString();
                assertEquals(200, s.postWebhook("{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\",\"hangup_reason\":\"recv_cancel\"}").status());
                JsonNode attempted = Await.until(Duration.ofSeconds(60), () -> s.delivery(id, "alert-email"),
                        d -> d.get("attempts").asInt() >= 1 && !"in_progress".equals(d.get("state").asText()), "the first attempt to end");
                assertEquals("pending", attempted.get("state").asText(), "retried later: " + attempted);
                assertTrue(attempted.get("last_error").asText().contains("STARTTLS"), attempted.toString());
                assertTrue(received.stream().anyMatch(l -> l.toUpperCase(Locale.ROOT).startsWith("EHLO")), "the server was asked: " + received);
                assertFalse(received.stream().anyMatch(l -> l.toUpperCase(Locale.ROOT).startsWith("AUTH")), "credentials sent in clear: " + received);
                assertFalse(received.stream().anyMatch(l -> l.toUpperCase(Locale.ROOT).startsWith("MAIL FROM")), "mail sent in clear: " + received);
            }
        }
    }

    /** Greets, offers AUTH (no STARTTLS), and accepts whatever comes, recording every command line. */
    private static void serve(ServerSocket server, List<String> received) {
        while (!server.isClosed()) {
            try (Socket client = server.accept()) {
                BufferedReader in = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.US_ASCII));
                OutputStream out = client.getOutputStream();
                reply(out, "220 test ESMTP");
                boolean data = false;
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (data) {
                        if (line.equals(".")) {
                            data = false;
                            reply(out, "250 queued");
                        }
                        continue;
                    }
                    received.add(line);
                    String command = line.toUpperCase(Locale.ROOT);
                    if (command.startsWith("EHLO")) {
                        reply(out, "250-test\r\n250 AUTH PLAIN LOGIN");
                    } else if (command.startsWith("AUTH")) {
                        reply(out, "235 accepted");
                    } else if (command.startsWith("DATA")) {
                        data = true;
                        reply(out, "354 go on");
                    } else if (command.startsWith("QUIT")) {
                        reply(out, "221 bye");
                        break;
                    } else {
                        reply(out, "250 ok");
                    }
                }
            } catch (IOException e) {
                // the client went away, or the server socket was closed: next connection, or done
            }
        }
    }

    private static void reply(OutputStream out, String lines) throws IOException {
        out.write((lines + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }
}
