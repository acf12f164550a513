package io.github.telecmicdr.recording;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

class FileNameTurnsTest {

    @Test
    void oneTurnPerFileNameAndNothingKeptAfterwards() throws Exception {
        FileNameTurns turns = new FileNameTurns();
        FileNameTurns.Turn first = turns.take("a.mp3", Duration.ofSeconds(1));
        assertNotNull(first);
        assertNotNull(turns.take("b.mp3", Duration.ofSeconds(1)), "another file name is not held up");
        assertNull(turns.take("a.mp3", Duration.ofMillis(10)), "the same file name waits for its turn");

        CompletableFuture<FileNameTurns.Turn> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return turns.take("a.mp3", Duration.ofSeconds(30));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertFalse(waiting.isDone());
        turns.release(first);
        FileNameTurns.Turn second = waiting.get(30, TimeUnit.SECONDS);
        assertNotNull(second, "the waiting download goes next");
        turns.release(second);
        assertEquals(1, turns.size(), "only b.mp3 is still held");
    }

    @Test
    void theWaitForATurnAndTheDownloadEndWithinTheLease() {
        Instant claimed = Instant.parse("2026-11-29T10:00:00Z");
        Duration lease = Duration.ofMinutes(2);
        Duration download = Duration.ofSeconds(90);
        // 2 min - 90 s - 10 s for the rename, the link and the commit after the download
        assertEquals(Duration.ofSeconds(20), Recordings.patience(lease, download, claimed, claimed));
        assertEquals(Duration.ofSeconds(5), Recordings.patience(lease, download, claimed, claimed.plusSeconds(15)));
        assertEquals(Duration.ZERO, Recordings.patience(lease, download, claimed, claimed.plusSeconds(21)), "nothing left: no wait");
        assertEquals(Duration.ZERO, Recordings.patience(Duration.ofSeconds(60), download, claimed, claimed), "a download longer than its lease");
    }
}
