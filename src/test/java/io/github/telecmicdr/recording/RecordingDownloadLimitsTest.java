package io.github.telecmicdr.recording;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.telecmicdr.testing.Await;
import io.github.telecmicdr.testing.RunningService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.stream.Stream;

import static io.github.telecmicdr.recording.RecordingDownloadTest.cdr;
import static io.github.telecmicdr.recording.RecordingDownloadTest.mp3;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a hostile or broken TeleCMI (or anything between) can do to a download: answer more than
 * recordings.max-bytes, announce more, or trickle a byte at a time so no read ever times out. The
 * service stands against a scripted server writing raw bytes, with a 100,000-byte limit and a 2 s
 * deadline.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RecordingDownloadLimitsTest {

    static final int MAX_BYTES = 100_000;
    ScriptedTelecmi telecmi;
    RunningService service;
    Path recordings;
    Path leftover;

    @BeforeAll
    void start() throws IOException {
        telecmi = new ScriptedTelecmi();
        recordings = Files.createTempDirectory("cdr-router-recordings");
        // what a crash mid-download leaves behind
        leftover = Files.createDirectories(recordings.resolve(".partial")).resolve("c0ffee-" + UUID.randomUUID() + ".part");
        Files.write(leftover, mp3(5000));
        service = RunningService.builder()
                .property("telecmi.api-base-url", telecmi.baseUrl())
                .property("telecmi.appid", RecordingDownloadTest.APPID)
                .property("telecmi.secret", RecordingDownloadTest.SECRET)
                .property("recordings.dir", recordings.toString())
                .property("recordings.max-bytes", String.valueOf(MAX_BYTES))
                .property("recordings.download-timeout", "2s")
                .property("delivery.poll-interval-ms", "100")
                .property("delivery.backoff-initial", "200ms")
                .property("delivery.backoff-max", "400ms")
                .property("camel.component.http.response-timeout", "1500")
                .property("camel.component.http.so-timeout", "1500")
                .build();
    }

    @AfterAll
    void stop() {
        service.close();
        telecmi.close();
    }

    static byte[] head(String... lines) {
        return (String.join("\r\n", lines) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    static ScriptedTelecmi.Answer audio(byte[] body) {
        return out -> {
            out.write(head("HTTP/1.1 200 OK", "Content-Type: audio/mpeg", "Content-Length: " + body.length, "Connection: close"));
            out.write(body);
        };
    }

    /** Chunked, so nothing announces the size: {@code total} bytes of audio in 8 KiB chunks. */
    static ScriptedTelecmi.Answer chunkedAudio(int total) {
        byte[] body = mp3(total);
        return out -> {
            out.write(head("HTTP/1.1 200 OK", "Content-Type: audio/mpeg", "Transfer-Encoding: chunked", "Connection: close"));
            for (int at = 0; at < total; at += 8192) {
                int n = Math.min(8192, total - at);
                out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body, at, n);
                out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        };
    }

    void post(String id, String file) {
        assertEquals(200, service.postWebhook(cdr(id, "true", "\"" + file + "\"")).status());
    }

    void assertNothingStored(String id) throws IOException {
        assertTrue(service.cdr(id).get("recording").isNull());
        try (Stream<Path> files = Files.walk(recordings)) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().startsWith(id)), "no file left for " + id);
        }
    }

    @Test
    void leftoverPartialFilesAreRemovedAtStart() {
        assertFalse(Files.exists(leftover), "the partial download a crash left behind");
    }

    @Test
    void aBodyBeyondMaxBytesFailsNamingTheLimit() throws Exception {
        String id = UUID.randomUUID().toString();
        // 20 times the limit, with no Content-Length to refuse it by
        telecmi.answer(id + ".mp3", chunkedAudio(20 * MAX_BYTES));
        post(id, id + ".mp3");
        JsonNode d = service.awaitFinished(id, "recording-download");
        assertEquals("failed", d.get("state").asText(), d.toString());
        assertEquals(1, d.get("attempts").asInt(), "a recording over the limit stays over it: no retry");
        assertTrue(d.get("last_error").asText().contains("recordings.max-bytes (" + MAX_BYTES + " bytes)"), d.toString());
        assertNothingStored(id);
    }

    @Test
    void aBodyOfExactlyMaxBytesIsStored() throws Exception {
        String chunked = UUID.randomUUID().toString();
        telecmi.answer(chunked + ".mp3", chunkedAudio(MAX_BYTES));
        post(chunked, chunked + ".mp3");
        String announced = UUID.randomUUID().toString();
        telecmi.answer(announced + ".mp3", audio(mp3(MAX_BYTES)));
        post(announced, announced + ".mp3");
        for (String id : new String[] {chunked, announced}) {
            JsonNode d = service.awaitFinished(id, "recording-download");
            assertEquals("done", d.get("state").asText(), d.toString());
            assertEquals(MAX_BYTES, service.cdr(id).get("recording").get("size_bytes").asInt());
        }
    }

    @Test
    void anAnnouncedLengthBeyondMaxBytesIsRefusedBeforeTheBody() throws Exception {
        String id = UUID.randomUUID().toString();
        // 10 GB announced, then the first bytes of an MP3 and nothing more: reading on would wait forever
        telecmi.answer(id + ".mp3", out -> {
            out.write(head("HTTP/1.1 200 OK", "Content-Type: audio/mpeg", "Content-Length: 10000000000"));
            out.write("ID3".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            ScriptedTelecmi.trickle(out, new byte[] {0}, 60_000);
        });
        post(id, id + ".mp3");
        JsonNode d = service.awaitFinished(id, "recording-download");
        assertEquals("failed", d.get("state").asText(), d.toString());
        assertEquals(1, d.get("attempts").asInt(), d.toString());
        assertTrue(d.get("last_error").asText().contains("recordings.max-bytes (" + MAX_BYTES + " bytes)"), d.toString());
        assertTrue(d.get("last_error").asText().contains("10000000000"), "names what TeleCMI announced: " + d);
        assertNothingStored(id);
    }

    @Test
    void aTrickledAnswerIsCutOffAtTheDeadlineAndRetried() throws Exception {
        // one trickles its status line and headers, the other its body: a byte every 300 ms, so the
        // 1.5 s timeout between reads never fires
        String slowHead = UUID.randomUUID().toString();
        telecmi.answer(slowHead + ".mp3", out -> ScriptedTelecmi.trickle(out, "HTTP/1.1 200 OK\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".getBytes(StandardCharsets.US_ASCII), 300));
        String slowBody = UUID.randomUUID().toString();
        telecmi.answer(slowBody + ".mp3", out -> {
            out.write(head("HTTP/1.1 200 OK", "Content-Type: audio/mpeg", "Content-Length: 50000"));
            out.write("ID3".getBytes(StandardCharsets.US_ASCII));
            ScriptedTelecmi.trickle(out, new byte[] {1, 2, 3}, 300);
        });
        for (String id : new String[] {slowHead, slowBody}) {
            post(id, id + ".mp3");
        }
        for (String id : new String[] {slowHead, slowBody}) {
            JsonNode cut = Await.until(Duration.ofSeconds(30), () -> service.delivery(id, "recording-download"),
                    d -> !d.get("last_error").isNull(), "the first attempt of " + id + " to be cut off");
            assertTrue(cut.get("last_error").asText().contains("recordings.download-timeout (2s)"), cut.toString());
            assertFalse(cut.get("state").asText().equals("failed"), "a slow answer is retried, not failed: " + cut);
            // TeleCMI recovers: the next attempt gets the audio
            telecmi.answer(id + ".mp3", audio(mp3(4000)));
        }
        for (String id : new String[] {slowHead, slowBody}) {
            JsonNode d = service.awaitFinished(id, "recording-download");
            assertEquals("done", d.get("state").asText(), d.toString());
            assertTrue(d.get("attempts").asInt() >= 2, d.toString());
            assertEquals(4000, service.cdr(id).get("recording").get("size_bytes").asInt());
        }
        try (Stream<Path> partial = Files.list(recordings.resolve(".partial"))) {
            assertEquals(0, partial.count(), "no partial download left behind");
        }
    }
}
