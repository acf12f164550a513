package io.github.telecmicdr.web;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** HTTPS served by the service itself, from a key store named by camel.ssl.* (one the test makes with keytool). */
class HttpsTest {

    static final String PASSWORD = "keystore-password-5e1a7c";

    /** A self-signed certificate for 127.0.0.1 and localhost, made by the JDK's keytool. */
    static Path keyStore() throws Exception {
        Path dir = Files.createTempDirectory("cdr-router-tls");
        Path keyStore = dir.resolve("server.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process process = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "cdr-router",
                "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
                "-validity", "2", "-storetype", "PKCS12", "-keystore", keyStore.toString(),
                "-storepass", PASSWORD, "-keypass", PASSWORD).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "keytool finished");
        assertEquals(0, process.exitValue(), output);
        return keyStore;
    }

    /** A client that trusts exactly the certificate in {@code keyStore}. */
    static SSLContext trusting(Path keyStore) throws Exception {
        KeyStore server = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keyStore)) {
            server.load(in, PASSWORD.toCharArray());
        }
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        trusted.setCertificateEntry("cdr-router", server.getCertificate("cdr-router"));
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, trust.getTrustManagers(), null);
        return tls;
    }

    @Test
    void httpsAskedForWithoutAKeyStoreStopsTheStart() {
        // Camel alone would serve plain HTTP here without a word, the webhook token crossing in clear
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> RunningService.builder()
                .property("camel.server.use-global-ssl-context-parameters", "true").build().close());
        assertEquals("the service did not start", refused.getMessage());
    }

    @Test
    void servesHttpsFromTheConfiguredKeyStoreWithTheEdgeInFront() throws Exception {
        LogCapture.get();
        Path keyStore = keyStore();
        SSLContext tls = trusting(keyStore);
        try (RunningService s = RunningService.builder()
                .property("camel.server.use-global-ssl-context-parameters", "true")
                .property("camel.ssl.enabled", "true")
                .property("camel.ssl.key-store", "file:" + keyStore)
                .property("camel.ssl.keystore-password", PASSWORD)
                .build()) {
            HttpClient https = HttpClient.newBuilder().sslContext(tls).version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(10)).build();
            String base = "https://127.0.0.1:" + s.port();
            String id = UUID.randomUUID().toString();
            HttpResponse<String> stored = https.send(HttpRequest.newBuilder(URI.create(base + s.webhookPath()))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"cmiuuid\":\"" + id + "\",\"status\":\"answered\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, stored.statusCode(), stored.body());
            HttpResponse<String> cdr = https.send(HttpRequest.newBuilder(URI.create(base + "/api/cdrs/" + id))
                    .header("Authorization", "Bearer " + RunningService.API_TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, cdr.statusCode(), cdr.body());
            assertEquals(id, new ObjectMapper().readTree(cdr.body()).get("cmiuuid").asText());

            // the edge works the same behind TLS: a stalled body without the token is answered, not waited for
            try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", s.port())) {
                socket.setSoTimeout(RawConnection.READ_TIMEOUT_MS);
                socket.getOutputStream().write(("GET /api/cdrs HTTP/1.1\r\nHost: localhost\r\n" + HttpEdgeTest.STALLED_BODY)
                        .getBytes(StandardCharsets.ISO_8859_1));
                socket.getOutputStream().flush();
                String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(answer.startsWith("HTTP/1.1 401"), answer);
            }

            assertFalse(plainHttpIsAnswered(s.port()), "the HTTPS port does not speak plain HTTP");

            // logged once Camel is fully started, a moment after the service answers
            io.github.telecmicdr.testing.Await.until(java.time.Duration.ofSeconds(30),
                    () -> LogCapture.get().linesContaining("Webhook and API served on https://0.0.0.0:" + s.port()).size(),
                    n -> n == 1, "the startup line names the scheme actually served");
            // the two lines are written one after the other, once Camel is fully started
            io.github.telecmicdr.testing.Await.until(java.time.Duration.ofSeconds(30),
                    () -> LogCapture.get().linesContaining("Health and metrics served on http://127.0.0.1:" + s.managementPort()).size(),
                    n -> n == 1, "the management port stays plain HTTP unless camel.management.use-global-ssl-context-parameters is set");
        }
        assertEquals(List.of(), LogCapture.get().linesContaining(PASSWORD), "the key store password is never logged");
    }

    private static boolean plainHttpIsAnswered(int port) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(RawConnection.READ_TIMEOUT_MS);
            socket.getOutputStream().write("GET /api/cdrs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            byte[] answer = socket.getInputStream().readNBytes(8);
            return new String(answer, StandardCharsets.ISO_8859_1).startsWith("HTTP/");
        } catch (java.net.SocketException reset) {
            return false;
        }
    }
}
