package io.github.telecmicdr.store;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * What the webhook answers: whether this delivery was new, of which kind, for which call; and, not
 * in the answer, whether it completed a call recovered from TeleCMI's pull API.
 */
public record StoreReceipt(String status, String kind, String cmiuuid, @JsonIgnore boolean completedRecoveredCall) {

    public static final String STORED = "stored";
    public static final String DUPLICATE = "duplicate";

    public StoreReceipt(String status, String kind, String cmiuuid) {
        this(status, kind, cmiuuid, false);
    }
}
