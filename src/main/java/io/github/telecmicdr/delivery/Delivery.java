package io.github.telecmicdr.delivery;

import java.time.Instant;

/** One claimed follow-up of an answered CDR: what the delivery routes work on. */
public record Delivery(long id, String cmiuuid, String kind, int attempts, Instant createdAt, Instant claimedAt) {

    public static final String ALERT_EMAIL = "alert-email";
    public static final String RECORDING_DOWNLOAD = "recording-download";
}
