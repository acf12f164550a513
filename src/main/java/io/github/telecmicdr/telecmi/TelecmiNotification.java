package io.github.telecmicdr.telecmi;

import io.github.telecmicdr.recording.RecordingFiles;

import java.util.Map;
import java.util.Set;

/**
 * One delivery from TeleCMI as it will be stored: its kind, the call it belongs to, and the payload
 * exactly as received. {@code cdr} is set only for incoming answered CDRs, the kind that fans out.
 * {@code rawOnly} names the optional fields whose value no typed column holds (too long, U+0000,
 * a file name with a control character, a value of another type such as {@code "record":"maybe"}),
 * each with why: the call is stored without them, and the raw payload keeps them. {@code call} holds
 * the same normalised fields for every kind (a missed call's numbers, a live event's agent): what a
 * destination is handed; for an incoming answered CDR it is {@code cdr}.
 */
public record TelecmiNotification(String kind, String cmiuuid, String appid, String method, String rawPayload, Cdr cdr,
                                  Map<String, String> rawOnly, Cdr call) {

    public static final String INCOMING_ANSWERED_CDR = "incoming-answered-cdr";
    /** The longest kind, the width of notification.kind. */
    public static final int MAX_KIND = 64;
    /**
     * The kinds TeleCMI documents. The parser builds others from what a sender puts in type,
     * direction and status; those are stored all the same, but counted together as "other", so a
     * sender cannot make a metric series per value.
     */
    public static final Set<String> DOCUMENTED_KINDS = Set.of(
            INCOMING_ANSWERED_CDR, "incoming-missed-cdr", "incoming-user-missed-cdr",
            "outgoing-answered-cdr", "outgoing-answered-cdr-leg-b", "outgoing-missed-cdr", "outgoing-missed-cdr-leg-b",
            "live-event-waiting", "live-event-answered", "live-event-started");

    public TelecmiNotification {
        rawOnly = rawOnly == null ? Map.of() : Map.copyOf(rawOnly);
        call = call == null ? cdr : call;
    }

    public TelecmiNotification(String kind, String cmiuuid, String appid, String method, String rawPayload, Cdr cdr,
                               Map<String, String> rawOnly) {
        this(kind, cmiuuid, appid, method, rawPayload, cdr, rawOnly, cdr);
    }

    public TelecmiNotification(String kind, String cmiuuid, String appid, String method, String rawPayload, Cdr cdr) {
        this(kind, cmiuuid, appid, method, rawPayload, cdr, Map.of());
    }

    /** The answered CDR's hangup reason, for the fan-out branch; null for every other kind. */
    public String hangupReason() {
        return cdr == null ? null : cdr.hangupReason();
    }

    /**
     * Why no recording is fetched for an answered CDR whose {@code record} could not be read (it then
     * counts as not recorded), for its recording_skipped; null otherwise.
     */
    public String unreadableRecord() {
        String why = cdr == null ? null : rawOnly.get("record");
        return why == null ? null : "the field 'record' " + why + ", so no recording is fetched";
    }

    /** Whether this is an answered CDR that was recorded. */
    public boolean recorded() {
        return cdr != null && cdr.recorded();
    }

    /**
     * Why the recording of this answered CDR is never fetched (its file name fails the allowlist or
     * could not be read, or {@code record} could not be read), kept as its recording_skipped; null
     * when it can be fetched, or for a call that was not recorded.
     */
    public String recordingSkipped() {
        if (cdr == null) {
            return null;
        }
        if (!cdr.recorded()) {
            return unreadableRecord();
        }
        String unusableName = rawOnly.get("filename");
        return unusableName != null ? "recording file name " + unusableName : RecordingFiles.whyNotFetched(cdr.recordingFilename());
    }
}
