package io.github.telecmicdr.telecmi;

/**
 * One delivery from TeleCMI as it will be stored: its kind, the call it belongs to, and the payload
 * exactly as received. {@code cdr} is set only for incoming answered CDRs, the kind that fans out.
 */
public record TelecmiNotification(String kind, String cmiuuid, String appid, String method, String rawPayload, Cdr cdr) {

    public static final String INCOMING_ANSWERED_CDR = "incoming-answered-cdr";

    /** The answered CDR's hangup reason, for the fan-out branch; null for every other kind. */
    public String hangupReason() {
        return cdr == null ? null : cdr.hangupReason();
    }

    /** Whether this is an answered CDR that was recorded, for the fan-out branch. */
    public boolean recorded() {
        return cdr != null && cdr.recorded();
    }
}
