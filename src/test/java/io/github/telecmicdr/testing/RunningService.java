package io.github.telecmicdr.testing;

import io.github.telecmicdr.App;
import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The service as {@code java -jar} starts it (same Main, same application.properties and routes/),
 * in this JVM on free ports with a data folder of its own, talked to over real HTTP.
 */
public final class RunningService implements AutoCloseable {

    public static final String WEBHOOK_TOKEN = "test-webhook-token-0123456789";
    public static final String API_TOKEN = "test-api-token-9876543210";

    private final Main main;
    private final Thread thread;
    private final int port;
    private final int managementPort;
    private final Path dataDir;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    private RunningService(Map<String, String> overrides) {
        this.port = Integer.parseInt(overrides.get("camel.server.port"));
        this.managementPort = Integer.parseInt(overrides.get("camel.management.port"));
        this.dataDir = Path.of(overrides.get("data.dir"));
        this.main = App.create();
        overrides.forEach(main::addOverrideProperty);
        this.thread = new Thread(() -> {
            try {
                main.run();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "service-under-test-" + port);
        thread.setDaemon(true);
        thread.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            CamelContext context = main.getCamelContext();
            if (context != null && context.isStarted()) {
                break;
            }
            if (!thread.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("the service did not start");
            }
            sleep(20);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The service on the embedded H2 database in a fresh data folder. */
    public static RunningService onH2() {
        return builder().build();
    }

    public static RunningService onPostgres() {
        return builder().database(EmbeddedDatabases.newPostgresDatabase()).build();
    }

    public CamelContext camelContext() {
        return main.getCamelContext();
    }

    public Path dataDir() {
        return dataDir;
    }

    public int port() {
        return port;
    }

    public int managementPort() {
        return managementPort;
    }

    public String webhookPath() {
        return "/webhooks/telecmi/" + WEBHOOK_TOKEN;
    }

    public Response postWebhook(String json) {
        return send(HttpRequest.newBuilder(uri(webhookPath()))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)));
    }

    public Response postWebhookBytes(byte[] body, String contentType) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(webhookPath())).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return send(b);
    }

    public Response getWebhook(String rawQuery) {
        return send(HttpRequest.newBuilder(uri(webhookPath() + "?" + rawQuery)).GET());
    }

    /** GET with the API bearer token. */
    public Response api(String pathAndQuery) {
        return send(HttpRequest.newBuilder(uri(pathAndQuery)).header("Authorization", "Bearer " + API_TOKEN).GET());
    }

    /** The CDR as the read API answers it, deliveries included. */
    public com.fasterxml.jackson.databind.JsonNode cdr(String cmiuuid) {
        Response r = api("/api/cdrs/" + cmiuuid);
        if (r.status() != 200) {
            throw new AssertionError("GET /api/cdrs/" + cmiuuid + " answered " + r.status() + ": " + r.body());
        }
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The CDR's delivery of that kind, or null when none was planned. */
    public com.fasterxml.jackson.databind.JsonNode delivery(String cmiuuid, String kind) {
        for (com.fasterxml.jackson.databind.JsonNode d : cdr(cmiuuid).get("deliveries")) {
            if (d.get("kind").asText().equals(kind)) {
                return d;
            }
        }
        return null;
    }

    /** Waits until the delivery of that kind reaches a final state (done or failed) and returns it. */
    public com.fasterxml.jackson.databind.JsonNode awaitFinished(String cmiuuid, String kind) {
        return Await.until(java.time.Duration.ofSeconds(60), () -> delivery(cmiuuid, kind),
                d -> d != null && (d.get("state").asText().equals("done") || d.get("state").asText().equals("failed")),
                kind + " of " + cmiuuid + " to finish");
    }

    public Response send(HttpRequest.Builder request) {
        try {
            HttpResponse<String> r = http.send(request.timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Response(r.statusCode(), r.headers().firstValue("Content-Type").orElse(null), r.body(), r.headers().map());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Bytes straight onto a socket, for what well-behaved clients refuse to send (broken escapes,
     * a body that never finishes). Returns the status line's code and whatever answer arrived.
     */
    public Response raw(String head, byte[] bodyStart) {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(60_000);
            java.io.OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.ISO_8859_1));
            if (bodyStart != null) {
                try {
                    out.write(bodyStart);
                } catch (IOException e) {
                    // the server may close as soon as it has answered
                }
            }
            out.flush();
            byte[] answer = socket.getInputStream().readAllBytes();
            String text = new String(answer, StandardCharsets.UTF_8);
            int status = Integer.parseInt(text.substring(9, 12));
            int split = text.indexOf("\r\n\r\n");
            String headers = split < 0 ? text : text.substring(0, split);
            String contentType = headers.lines().filter(l -> l.toLowerCase().startsWith("content-type:"))
                    .map(l -> l.substring(13).trim()).findFirst().orElse(null);
            String body = split < 0 ? "" : text.substring(split + 4);
            if (headers.toLowerCase().contains("transfer-encoding: chunked")) {
                StringBuilder joined = new StringBuilder();
                int at = 0;
                while (at < body.length()) {
                    int eol = body.indexOf("\r\n", at);
                    int size = Integer.parseInt(body.substring(at, eol).trim(), 16);
                    if (size == 0) {
                        break;
                    }
                    joined.append(body, eol + 2, eol + 2 + size);
                    at = eol + 2 + size + 2;
                }
                body = joined.toString();
            }
            return new Response(status, contentType, body, Map.of());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public URI uri(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + port + pathAndQuery);
    }

    @Override
    public void close() {
        main.completed();
        try {
            thread.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // a service still stopping would go on logging into the next test, and hold its database
        if (thread.isAlive()) {
            throw new AssertionError("the service on port " + port + " did not stop within 60 s");
        }
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** An HTTP answer as the caller sees it. */
    public record Response(int status, String contentType, String body, Map<String, java.util.List<String>> headers) {
        public String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(e -> e.getValue().get(0)).findFirst().orElse(null);
        }
    }

    public static final class Builder {
        private final Map<String, String> overrides = new LinkedHashMap<>();

        private Builder() {
            Path data;
            try {
                data = Files.createTempDirectory("cdr-router-test");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            overrides.put("camel.server.port", String.valueOf(freePort()));
            overrides.put("camel.management.port", String.valueOf(freePort()));
            overrides.put("data.dir", data.toString());
            // db.url: the default, H2 in data.dir
            overrides.put("telecmi.webhook.token", WEBHOOK_TOKEN);
            overrides.put("api.token", API_TOKEN);
        }

        public Builder database(EmbeddedDatabases.Jdbc jdbc) {
            overrides.put("db.url", jdbc.url());
            overrides.put("db.username", jdbc.username());
            overrides.put("db.password", jdbc.password());
            return this;
        }

        public Builder property(String key, String value) {
            overrides.put(key, value);
            return this;
        }

        public RunningService build() {
            return new RunningService(overrides);
        }
    }
}
