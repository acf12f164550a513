package io.github.telecmicdr.store;

import io.github.telecmicdr.telecmi.Cdr;

import java.time.Instant;

/** An answered CDR as stored: the normalised record plus what the service added to it ({@code source}: webhook or reconcile). */
public record StoredCdr(long notificationId, Cdr cdr, Instant receivedAt, String recordingSkipped, String source) {
}
