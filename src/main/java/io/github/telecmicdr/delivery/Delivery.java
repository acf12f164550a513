package io.github.telecmicdr.delivery;

import io.github.telecmicdr.telecmi.TelecmiNotification;

import java.time.Instant;

/**
 * One claimed delivery: the route's variable {@code delivery} while its steps run (the body is the
 * stored notification it belongs to). {@code notificationKind} is known once that notification is
 * loaded, null before.
 */
public record Delivery(long id, long notificationId, String notificationKind, String cmiuuid, String kind, int attempts,
                       Instant createdAt, Instant claimedAt) {

    public static final String ALERT_EMAIL = "alert-email";
    public static final String RECORDING_DOWNLOAD = "recording-download";

    /** This delivery, with the kind of its notification. */
    Delivery of(String kindOfNotification) {
        return new Delivery(id, notificationId, kindOfNotification, cmiuuid, kind, attempts, createdAt, claimedAt);
    }

    /**
     * {@code <notification kind>:<cmiuuid>}, e.g. {@code incoming-answered-cdr:…}: names the
     * notification, the same on every attempt and for every destination. A destination's receiver
     * drops a repeat by it (the CRM's Idempotency-Key, the ESB event's id).
     */
    public String notificationKey() {
        return notificationKind + ":" + cmiuuid;
    }

    /**
     * The notification's name where a colon does not belong (file names, Message-IDs): the cmiuuid
     * for the call's answered CDR, as it always was, else {@code <cmiuuid>.<notification kind>}.
     */
    public String notificationName() {
        return fileName(notificationKind, cmiuuid);
    }

    /** {@link #notificationName()} of any stored notification. */
    public static String fileName(String notificationKind, String cmiuuid) {
        return TelecmiNotification.INCOMING_ANSWERED_CDR.equals(notificationKind) ? cmiuuid : cmiuuid + "." + notificationKind;
    }
}
