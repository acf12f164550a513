package io.github.telecmicdr.recording;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * One download per TeleCMI file name at a time within this instance: the claim loop works a batch
 * of deliveries in parallel, and two of them may name the same file. The second waits its turn and
 * then finds the file stored. A turn is a semaphore, not a lock, because the route releases it in a
 * later step than the one that took it.
 */
final class FileNameTurns {

    /** A file name's turn, held from the check for a stored file until the download is recorded. */
    static final class Turn {
        private final String filename;
        private final Semaphore semaphore = new Semaphore(1);
        private int users;

        private Turn(String filename) {
            this.filename = filename;
        }
    }

    private final Map<String, Turn> turns = new HashMap<>();

    /** The file name's turn, or null when another download of it kept it longer than {@code patience}. */
    Turn take(String filename, Duration patience) throws InterruptedException {
        Turn turn;
        synchronized (turns) {
            turn = turns.computeIfAbsent(filename, Turn::new);
            turn.users++;
        }
        boolean taken = false;
        try {
            taken = turn.semaphore.tryAcquire(patience.toMillis(), TimeUnit.MILLISECONDS);
        } finally {
            if (!taken) {
                leave(turn);
            }
        }
        return taken ? turn : null;
    }

    void release(Turn turn) {
        turn.semaphore.release();
        leave(turn);
    }

    /** File names with a download running or waiting; the map holds nothing once they are done. */
    int size() {
        synchronized (turns) {
            return turns.size();
        }
    }

    private void leave(Turn turn) {
        synchronized (turns) {
            if (--turn.users == 0) {
                turns.remove(turn.filename);
            }
        }
    }
}
