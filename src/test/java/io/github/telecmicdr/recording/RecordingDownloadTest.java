package io.github.telecmicdr.recording;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.LogCapture;
import io.github.telecmicdr.testing.RunningService;
import io.github.telecmicdr.testing.RunningService.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Recording downloads against a real HTTP server standing in for TeleCMI (WireMock). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RecordingDownloadTest {

    static final String APPID = "2222223";
    static final String SECRET = "telecmi-secret-9f8e7d6c5b";
    WireMockServer telecmi;
    RunningService service;

    @BeforeAll
    void start() {
        LogCapture.get();
        telecmi = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        telecmi.start();
        service = RunningService.builder()
                .property("telecmi.api-base-url", "http://127.0.0.1:" + telecmi.port())
                .property("telecmi.appid", APPID)
                .property("telecmi.secret", SECRET)
                .property("delivery.poll-interval-ms", "100")
                .property("delivery.backoff-initial", "200ms")
                .property("delivery.backoff-max", "400ms")
                // short enough for the timeout case below, long enough that a cold first answer on a busy
                // machine is never cut off (a spurious retry would break the exact request counts)
                .property("camel.component.http.response-timeout", "5000")
                .property("camel.component.http.so-timeout", "5000")
                .build();
    }

    @AfterAll
    void stop() {
        service.close();
        telecmi.stop();
        assertTrue(LogCapture.get().linesContaining(SECRET).isEmpty(), "TeleCMI secret in the log");
    }

    @BeforeEach
    void resetStubs() {
        telecmi.resetAll();
    }

    static byte[] mp3(int size) {
        byte[] audio = new byte[size];
        new java.util.Random(size).nextBytes(audio);
        audio[0] = 'I';
        audio[1] = 'D';
        audio[2] = '3';
        return audio;
    }

    static byte[] wav(int size) {
        byte[] audio = new byte[size];
        new java.util.Random(size).nextBytes(audio);
        System.arraycopy("RIFF".getBytes(), 0, audio, 0, 4);
        System.arraycopy("WAVE".getBytes(), 0, audio, 8, 4);
        return audio;
    }

    static String cdr(String id, String record, String filename) {
        return "{\"cmiuuid\":\"" + id + "\",\"appid\":" + APPID + ",\"type\":\"cdr\",\"direction\":\"inbound\",\"status\":\"answered\","
                + "\"from\":440000000002,\"to\":440000000001,\"answeredsec\":11,\"time\":1634720920615,\"hangup_reason\":\"recv_bye\","
                + "\"record\":" + record + ",\"filename\":" + filename + "}";
    }

    void stubPlay(String file, com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder answer) {
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(file)).willReturn(answer));
    }

    int requestsFor(String file) {
        return telecmi.findAll(getRequestedFor(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(file))).size();
    }

    @Test
    void recordedCallsAreDownloadedVerifiedAndServed() throws Exception {
        for (String record : new String[] {"true", "\"true\""}) {
            String id = UUID.randomUUID().toString();
            String file = id + ".mp3";
            byte[] audio = mp3(300_000);
            stubPlay(file, aResponse().withStatus(200).withHeader("Content-Type", "audio/mpeg").withBody(audio));
            assertEquals(200, service.postWebhook(cdr(id, record, "\"" + file + "\"")).status());

            JsonNode delivery = service.awaitFinished(id, "recording-download");
            assertEquals("done", delivery.get("state").asText(), delivery.toString());
            telecmi.verify(1, getRequestedFor(urlPathEqualTo("/v2/play")).withQueryParam("appid", equalTo(APPID))
                    .withQueryParam("secret", equalTo(SECRET)).withQueryParam("file", equalTo(file)));

            JsonNode recording = service.cdr(id).get("recording");
            assertEquals("audio/mpeg", recording.get("content_type").asText());
            assertEquals(audio.length, recording.get("size_bytes").asLong());
            assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(audio)), recording.get("sha256").asText());
            assertEquals("/recordings/" + id, recording.get("url").asText());
            assertTrue(java.nio.file.Files.exists(service.dataDir().resolve("recordings/2021/10/20/" + id + ".mp3")), "organised by call date");

            HttpRequest.Builder whole = HttpRequest.newBuilder(service.uri("/recordings/" + id))
                    .header("Authorization", "Bearer " + RunningService.API_TOKEN).GET();
            java.net.http.HttpResponse<byte[]> served = java.net.http.HttpClient.newHttpClient().send(whole.build(),
                    java.net.http.HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, served.statusCode());
            assertEquals("audio/mpeg", served.headers().firstValue("Content-Type").orElse(null));
            assertEquals("bytes", served.headers().firstValue("Accept-Ranges").orElse(null));
            assertArrayEquals(audio, served.body());
        }
    }

    @Test
    void rangeRequestsLetAPlayerSeek() throws Exception {
        String id = UUID.randomUUID().toString();
        byte[] audio = wav(100_000);
        stubPlay(id + ".wav", aResponse().withStatus(200).withHeader("Content-Type", "audio/wav").withBody(audio));
        service.postWebhook(cdr(id, "true", "\"" + id + ".wav\""));
        assertEquals("done", service.awaitFinished(id, "recording-download").get("state").asText());

        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.http.HttpResponse<byte[]> part = http.send(HttpRequest.newBuilder(service.uri("/recordings/" + id))
                .header("Authorization", "Bearer " + RunningService.API_TOKEN).header("Range", "bytes=1000-1999").GET().build(),
                java.net.http.HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(206, part.statusCode());
        assertEquals("bytes 1000-1999/100000", part.headers().firstValue("Content-Range").orElse(null));
        assertEquals("audio/wav", part.headers().firstValue("Content-Type").orElse(null));
        assertArrayEquals(Arrays.copyOfRange(audio, 1000, 2000), part.body());

        java.net.http.HttpResponse<byte[]> tail = http.send(HttpRequest.newBuilder(service.uri("/recordings/" + id))
                .header("Authorization", "Bearer " + RunningService.API_TOKEN).header("Range", "bytes=-500").GET().build(),
                java.net.http.HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(206, tail.statusCode());
        assertArrayEquals(Arrays.copyOfRange(audio, 99_500, 100_000), tail.body());

        java.net.http.HttpResponse<byte[]> beyond = http.send(HttpRequest.newBuilder(service.uri("/recordings/" + id))
                .header("Authorization", "Bearer " + RunningService.API_TOKEN).header("Range", "bytes=200000-").GET().build(),
                java.net.http.HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(416, beyond.statusCode());
        assertEquals("bytes */100000", beyond.headers().firstValue("Content-Range").orElse(null));

        assertEquals(401, service.send(HttpRequest.newBuilder(service.uri("/recordings/" + id)).GET()).status());
        assertEquals(404, service.api("/recordings/" + UUID.randomUUID()).status());
    }

    @Test
    void unrecordedCallsAreNeverFetched() throws Exception {
        for (String record : new String[] {"false", "\"false\""}) {
            String id = UUID.randomUUID().toString();
            assertEquals(200, service.postWebhook(cdr(id, record, "\"" + id + ".mp3\"")).status());
            assertNull(service.delivery(id, "recording-download"));
            assertEquals(0, requestsFor(id + ".mp3"));
        }
    }

    @Test
    void fileNamesOutsideTheAllowlistAreStoredButNeverFetched() throws Exception {
        String[] hostile = {"\"../../etc/passwd.mp3\"", "\"http://evil.example/x.mp3\"", "\"a.mp3?secret=x\"", "\"rec.exe\"",
                "\".hidden.mp3\"", "\"dir/rec.mp3\"", "\"rec..mp3\"", "\"rec.mp3 \"", "\"%2e%2e%2frec.mp3\"", "\"rec.MP3\"", "\"\"", "null"};
        for (String filename : hostile) {
            String id = UUID.randomUUID().toString();
            assertEquals(200, service.postWebhook(cdr(id, "true", filename)).status(), filename);
            JsonNode cdr = service.cdr(id);
            assertNull(service.delivery(id, "recording-download"), filename);
            assertFalse(cdr.get("recording_skipped").isNull(), filename + " stores why it is skipped");
        }
        // a good one after them: once it is done, the poller has passed over everything before it
        String id = UUID.randomUUID().toString();
        stubPlay(id + ".mp3", aResponse().withStatus(200).withBody(mp3(1000)));
        service.postWebhook(cdr(id, "true", "\"" + id + ".mp3\""));
        service.awaitFinished(id, "recording-download");
        assertEquals(1, telecmi.findAll(getRequestedFor(urlPathEqualTo("/v2/play"))).size(), "only the allowed file was requested");
    }

    @Test
    void authenticationFailedAndMissingFileFailWithAClearError() throws Exception {
        String[][] answers = {{"{\"code\":407,\"error\":true,\"msg\":\"Authentication Failed\"}", "407 Authentication Failed"},
                {"{\"code\":404,\"error\":true,\"msg\":\"Parameter missing\"}", "404 Parameter missing"}};
        for (String[] a : answers) {
            String id = UUID.randomUUID().toString();
            stubPlay(id + ".wav", aResponse().withStatus(200).withHeader("Content-Type", "application/json").withBody(a[0]));
            service.postWebhook(cdr(id, "true", "\"" + id + ".wav\""));
            JsonNode d = service.awaitFinished(id, "recording-download");
            assertEquals("failed", d.get("state").asText());
            assertEquals(1, d.get("attempts").asInt(), "no retry for a permanent failure");
            assertTrue(d.get("last_error").asText().contains(a[1]), d.toString());
            assertFalse(d.toString().contains(SECRET));
            assertTrue(service.cdr(id).get("recording").isNull());
        }
    }

    @Test
    void notPublishedYetIsRetriedUntilTheAudioIsThere() throws Exception {
        String id = UUID.randomUUID().toString();
        String file = id + ".wav";
        byte[] audio = wav(5000);
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(file)).inScenario(id)
                .whenScenarioStateIs(Scenario.STARTED).willReturn(aResponse().withStatus(200)
                        .withBody("{\"code\":502,\"msg\":\"Internal Server Error\"}")).willSetStateTo("published"));
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(file)).inScenario(id)
                .whenScenarioStateIs("published").willReturn(aResponse().withStatus(200).withHeader("Content-Type", "audio/x-wav").withBody(audio)));
        service.postWebhook(cdr(id, "true", "\"" + file + "\""));
        JsonNode d = service.awaitFinished(id, "recording-download");
        assertEquals("done", d.get("state").asText(), d.toString());
        assertEquals(2, d.get("attempts").asInt());
        assertEquals(2, requestsFor(file));
        assertEquals(5000, service.cdr(id).get("recording").get("size_bytes").asInt());
    }

    @Test
    void busyOrDownSaidInJsonAndAnEmptyAnswerAreRetried() throws Exception {
        String id = UUID.randomUUID().toString();
        String file = id + ".mp3";
        String[][] answers = {{"{\"code\":503,\"error\":true,\"msg\":\"Service Unavailable\"}", "busy"},
                {"{\"code\":429,\"error\":true,\"msg\":\"Too Many Requests\"}", "empty"}, {"", "published"}};
        String state = Scenario.STARTED;
        for (String[] a : answers) {
            telecmi.stubFor(get(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(file)).inScenario(id)
                    .whenScenarioStateIs(state).willReturn(aResponse().withStatus(200).withBody(a[0])).willSetStateTo(a[1]));
            state = a[1];
        }
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(file)).inScenario(id)
                .whenScenarioStateIs(state).willReturn(aResponse().withStatus(200).withHeader("Content-Type", "audio/mpeg").withBody(mp3(2000))));
        service.postWebhook(cdr(id, "true", "\"" + file + "\""));
        JsonNode d = Await.until(Duration.ofSeconds(60), () -> service.delivery(id, "recording-download"),
                x -> x.get("state").asText().equals("done") || x.get("state").asText().equals("failed"), "download");
        assertEquals("done", d.get("state").asText(), d.toString());
        assertEquals(4, d.get("attempts").asInt(), "503 and 429 in JSON, an empty answer, then the audio");
    }

    @Test
    void serverErrorsAndTimeoutsAreRetried() throws Exception {
        String id = UUID.randomUUID().toString();
        String file = id + ".mp3";
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(file)).inScenario(id)
                .whenScenarioStateIs(Scenario.STARTED).willReturn(aResponse().withStatus(500).withBody("oops")).willSetStateTo("slow"));
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(file)).inScenario(id)
                .whenScenarioStateIs("slow").willReturn(aResponse().withStatus(200).withBody(mp3(2000)).withFixedDelay(10_000)).willSetStateTo("ok"));
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(file)).inScenario(id)
                .whenScenarioStateIs("ok").willReturn(aResponse().withStatus(200).withBody(mp3(2000))));
        service.postWebhook(cdr(id, "true", "\"" + file + "\""));
        JsonNode d = Await.until(Duration.ofSeconds(60), () -> service.delivery(id, "recording-download"),
                x -> x.get("state").asText().equals("done") || x.get("state").asText().equals("failed"), "download");
        assertEquals("done", d.get("state").asText(), d.toString());
        assertEquals(3, d.get("attempts").asInt(), "500, then a timeout, then the audio");
    }

    @Test
    void answersThatAreNotAudioFail() throws Exception {
        String[][] answers = {{"text/html", "<html><body>Gateway</body></html>"}, {"audio/mpeg", "this is not audio at all"},
                {"text/html", "ID3 but labelled html"}};
        for (String[] a : answers) {
            String id = UUID.randomUUID().toString();
            stubPlay(id + ".mp3", aResponse().withStatus(200).withHeader("Content-Type", a[0]).withBody(a[1]));
            service.postWebhook(cdr(id, "true", "\"" + id + ".mp3\""));
            JsonNode d = service.awaitFinished(id, "recording-download");
            assertEquals("failed", d.get("state").asText(), a[1]);
            assertTrue(d.get("last_error").asText().contains("not audio"), d.toString());
        }
    }

    @Test
    void missingCredentialsFailTheDeliveryWithThatMessage() throws Exception {
        try (RunningService noCredentials = RunningService.builder()
                .property("telecmi.api-base-url", "http://127.0.0.1:" + telecmi.port())
                .property("delivery.poll-interval-ms", "100").build()) {
            String id = UUID.randomUUID().toString();
            noCredentials.postWebhook(cdr(id, "true", "\"" + id + ".mp3\""));
            JsonNode d = noCredentials.awaitFinished(id, "recording-download");
            assertEquals("failed", d.get("state").asText());
            assertEquals("telecmi.appid and telecmi.secret must be set to download recordings", d.get("last_error").asText());
            assertEquals(0, requestsFor(id + ".mp3"));
        }
    }

    @Test
    void aFailedDeliveryCanBeRetriedThroughTheApi() throws Exception {
        String id = UUID.randomUUID().toString();
        String file = id + ".mp3";
        stubPlay(file, aResponse().withStatus(200).withBody("{\"code\":407,\"error\":true,\"msg\":\"Authentication Failed\"}"));
        service.postWebhook(cdr(id, "true", "\"" + file + "\""));
        JsonNode failed = service.awaitFinished(id, "recording-download");
        assertEquals("failed", failed.get("state").asText());

        stubPlay(file, aResponse().withStatus(200).withBody(mp3(4000)));
        long deliveryId = failed.get("id").asLong();
        Response retry = service.send(HttpRequest.newBuilder(service.uri("/api/deliveries/" + deliveryId + "/retry"))
                .header("Authorization", "Bearer " + RunningService.API_TOKEN).POST(HttpRequest.BodyPublishers.noBody()));
        assertEquals(200, retry.status(), retry.body());
        assertTrue(retry.body().contains("\"state\":\"pending\""));
        JsonNode done = service.awaitFinished(id, "recording-download");
        assertEquals("done", done.get("state").asText());

        Response again = service.send(HttpRequest.newBuilder(service.uri("/api/deliveries/" + deliveryId + "/retry"))
                .header("Authorization", "Bearer " + RunningService.API_TOKEN).POST(HttpRequest.BodyPublishers.noBody()));
        assertEquals(409, again.status(), "only failed deliveries are retried");
        Response unknown = service.send(HttpRequest.newBuilder(service.uri("/api/deliveries/99999999/retry"))
                .header("Authorization", "Bearer " + RunningService.API_TOKEN).POST(HttpRequest.BodyPublishers.noBody()));
        assertEquals(404, unknown.status());
        assertEquals(401, service.send(HttpRequest.newBuilder(service.uri("/api/deliveries/" + deliveryId + "/retry"))
                .POST(HttpRequest.BodyPublishers.noBody())).status());
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    byte[] served(String id) throws Exception {
        java.net.http.HttpResponse<byte[]> r = java.net.http.HttpClient.newHttpClient().send(HttpRequest.newBuilder(service.uri("/recordings/" + id))
                .header("Authorization", "Bearer " + RunningService.API_TOKEN).GET().build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        return r.body();
    }

    Path storedFile(String id, String extension) {
        return service.dataDir().resolve("recordings/2021/10/20/" + id + "." + extension);
    }

    @Test
    void aGzipEncodedAnswerIsRefusedAndNeverDecompressed() throws Exception {
        String id = UUID.randomUUID().toString();
        // 4 MB of silence compresses to a few KB: decompressed transparently, a small answer becomes a big file
        byte[] audio = new byte[4 * 1024 * 1024];
        System.arraycopy("ID3".getBytes(StandardCharsets.US_ASCII), 0, audio, 0, 3);
        ByteArrayOutputStream gzipped = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(gzipped)) {
            gzip.write(audio);
        }
        stubPlay(id + ".mp3", aResponse().withStatus(200).withHeader("Content-Type", "audio/mpeg")
                .withHeader("Content-Encoding", "gzip").withBody(gzipped.toByteArray()));
        service.postWebhook(cdr(id, "true", "\"" + id + ".mp3\""));
        JsonNode d = service.awaitFinished(id, "recording-download");
        assertEquals("failed", d.get("state").asText(), d.toString());
        assertTrue(d.get("last_error").asText().contains("Content-Encoding gzip"), d.toString());
        assertTrue(service.cdr(id).get("recording").isNull());
        assertFalse(Files.exists(storedFile(id, "mp3")));
        telecmi.verify(1, getRequestedFor(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(id + ".mp3"))
                .withHeader("Accept-Encoding", equalTo("identity")));
    }

    @Test
    void aServerThatSaysComeBackTomorrowIsRetriedByTheDeliveryNotWaitedFor() throws Exception {
        // HTTP clients that retry by themselves honour Retry-After: a worker asleep for an hour
        String id = UUID.randomUUID().toString();
        String file = id + ".mp3";
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(file)).inScenario(id)
                .whenScenarioStateIs(Scenario.STARTED).willReturn(aResponse().withStatus(503).withHeader("Retry-After", "3600"))
                .willSetStateTo("back"));
        telecmi.stubFor(get(urlPathEqualTo("/v2/play")).withQueryParam("file", equalTo(file)).inScenario(id)
                .whenScenarioStateIs("back").willReturn(aResponse().withStatus(200).withBody(mp3(3000))));
        service.postWebhook(cdr(id, "true", "\"" + file + "\""));
        JsonNode d = service.awaitFinished(id, "recording-download");
        assertEquals("done", d.get("state").asText(), d.toString());
        assertEquals(2, d.get("attempts").asInt(), "the 503, then the audio: " + d);
    }

    @Test
    void aFileNamedByManyCdrsIsFetchedOnceAndShared() throws Exception {
        String file = UUID.randomUUID() + ".mp3";
        byte[] audio = mp3(50_000);
        stubPlay(file, aResponse().withStatus(200).withHeader("Content-Type", "audio/mpeg").withBody(audio));
        String first = UUID.randomUUID().toString();
        service.postWebhook(cdr(first, "true", "\"" + file + "\""));
        assertEquals("done", service.awaitFinished(first, "recording-download").get("state").asText());

        // a replay: other calls naming the same TeleCMI file
        for (int i = 0; i < 3; i++) {
            String again = UUID.randomUUID().toString();
            service.postWebhook(cdr(again, "true", "\"" + file + "\""));
            JsonNode d = service.awaitFinished(again, "recording-download");
            assertEquals("done", d.get("state").asText(), d.toString());
            JsonNode recording = service.cdr(again).get("recording");
            assertEquals(sha256(audio), recording.get("sha256").asText());
            assertEquals(audio.length, recording.get("size_bytes").asLong());
            assertArrayEquals(audio, served(again));
            assertFalse(Files.exists(storedFile(again, "mp3")), "no second copy on disk");
        }
        assertEquals(1, requestsFor(file), "TeleCMI asked once");

        // the shared file gone from disk (lost, or kept on another instance): the next call fetches it again
        Files.delete(storedFile(first, "mp3"));
        String afterLoss = UUID.randomUUID().toString();
        service.postWebhook(cdr(afterLoss, "true", "\"" + file + "\""));
        assertEquals("done", service.awaitFinished(afterLoss, "recording-download").get("state").asText());
        assertEquals(2, requestsFor(file));
        assertArrayEquals(audio, served(afterLoss));
    }

    @Test
    void twoDeliveriesOfOneFileAtTheSameMomentDownloadItOnce() throws Exception {
        // a download that takes a second holds the claim loop, so the next two are claimed in one batch
        String blocker = UUID.randomUUID().toString();
        stubPlay(blocker + ".mp3", aResponse().withStatus(200).withBody(mp3(1000)).withFixedDelay(1000));
        service.postWebhook(cdr(blocker, "true", "\"" + blocker + ".mp3\""));
        Await.until(Duration.ofSeconds(10), () -> requestsFor(blocker + ".mp3"), n -> n == 1, "the first download to start");

        String file = UUID.randomUUID() + ".wav";
        byte[] audio = wav(20_000);
        stubPlay(file, aResponse().withStatus(200).withBody(audio).withFixedDelay(500));
        String one = UUID.randomUUID().toString();
        String two = UUID.randomUUID().toString();
        service.postWebhook(cdr(one, "true", "\"" + file + "\""));
        service.postWebhook(cdr(two, "true", "\"" + file + "\""));
        for (String id : new String[] {one, two}) {
            JsonNode d = service.awaitFinished(id, "recording-download");
            assertEquals("done", d.get("state").asText(), d.toString());
            assertEquals(sha256(audio), service.cdr(id).get("recording").get("sha256").asText());
        }
        assertEquals(1, requestsFor(file), "one download for both");
    }

    @Test
    void recordingFilesAreTheOwnersAloneFromTheStart() throws Exception {
        String id = UUID.randomUUID().toString();
        stubPlay(id + ".mp3", aResponse().withStatus(200).withBody(mp3(2000)));
        service.postWebhook(cdr(id, "true", "\"" + id + ".mp3\""));
        assertEquals("done", service.awaitFinished(id, "recording-download").get("state").asText());
        Path file = storedFile(id, "mp3");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        for (Path dir = file.getParent(); !dir.equals(service.dataDir()); dir = dir.getParent()) {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)), dir.toString());
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(service.dataDir().resolve("recordings/.partial"))));
    }

    /** The read positions of the descriptors this process holds open on the file (Linux: /proc/self/fd). */
    static List<Long> openDescriptors(Path file) {
        Path target;
        try {
            target = file.toRealPath();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Long> positions = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(fd).equals(target)) {
                        String info = Files.readString(Path.of("/proc/self/fdinfo/" + fd.getFileName()));
                        positions.add(info.lines().filter(l -> l.startsWith("pos:")).map(l -> Long.parseLong(l.substring(4).trim()))
                                .findFirst().orElse(-1L));
                    }
                } catch (IOException e) {
                    // closed while listing
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return positions;
    }

    @Test
    void aRecordingResponseCutOffByTheClientClosesItsFileAtOnce() throws Exception {
        String id = UUID.randomUUID().toString();
        byte[] audio = mp3(30 * 1024 * 1024);
        stubPlay(id + ".mp3", aResponse().withStatus(200).withBody(audio));
        service.postWebhook(cdr(id, "true", "\"" + id + ".mp3\""));
        assertEquals("done", service.awaitFinished(id, "recording-download").get("state").asText());
        Path file = storedFile(id, "mp3");
        assertEquals(List.of(), openDescriptors(file));

        try (Socket client = new Socket("127.0.0.1", service.port())) {
            client.getOutputStream().write(("GET /recordings/" + id + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                    + RunningService.API_TOKEN + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] start = client.getInputStream().readNBytes(64 * 1024);
            assertTrue(new String(start, 0, 12, StandardCharsets.US_ASCII).startsWith("HTTP/1.1 200"));
            // a player that stopped reading: the server fills the sockets' buffers (30 MB do not fit)
            // and waits for room, the file open
            List<List<Long>> seen = new ArrayList<>();
            Await.until(Duration.ofSeconds(10), () -> {
                seen.add(openDescriptors(file));
                return seen;
            }, s -> s.size() >= 3 && s.get(s.size() - 1).size() == 1 && s.get(s.size() - 1).equals(s.get(s.size() - 2))
                    && s.get(s.size() - 2).equals(s.get(s.size() - 3)), "the server to wait for the client, the file open");
        }
        // the client is gone: nothing will read the rest, the file must not wait for the garbage collector
        Await.until(Duration.ofSeconds(10), () -> openDescriptors(file), List::isEmpty, "the file closed once the client is gone");
        assertArrayEquals(audio, served(id), "and served whole to the next client");
        Await.until(Duration.ofSeconds(10), () -> openDescriptors(file), List::isEmpty, "the file closed after a whole answer");
    }
}
