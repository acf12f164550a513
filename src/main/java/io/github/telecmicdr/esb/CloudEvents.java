package io.github.telecmicdr.esb;

import io.github.telecmicdr.delivery.Delivery;
import org.apache.camel.Body;
import org.apache.camel.Variable;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A stored notification as a CloudEvents 1.0 event in structured JSON mode: the envelope around the
 * same call the CRM forward posts ({@code data}).
 * <ul>
 * <li>{@code id}: {@code <notification kind>:<cmiuuid>}, the same on every attempt, so a consumer (or
 * Artemis' duplicate detection) drops a re-publish after a crash;</li>
 * <li>{@code source}: esb.source, by default {@code urn:telecmi-cdr-router:<appid>};</li>
 * <li>{@code type}: {@code com.telecmi.<notification kind>}; {@code subject}: the cmiuuid;</li>
 * <li>{@code time}: the call's time, else when it was received.</li>
 * </ul>
 */
public final class CloudEvents {

    private final String source;
    private final String appid;

    /**
     * @param source esb.source; empty: {@code urn:telecmi-cdr-router:<appid>}, with the call's appid
     *               (else telecmi.appid, else "unknown")
     * @param appid  telecmi.appid, for a call that names none
     */
    public CloudEvents(String source, String appid) {
        this.source = source;
        this.appid = appid;
    }

    /** The event of the delivery's notification, from the call the delivery source hands over. */
    public Map<String, Object> event(@Body Map<String, Object> call, @Variable("delivery") Delivery delivery) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("specversion", "1.0");
        event.put("id", delivery.notificationKey());
        event.put("source", source.isEmpty() ? "urn:telecmi-cdr-router:" + uriSafe(appidOf(call)) : source);
        event.put("type", "com.telecmi." + delivery.notificationKind());
        event.put("subject", delivery.cmiuuid());
        Object time = call.get("call_time");
        event.put("time", time != null ? time : call.get("received_at"));
        event.put("datacontenttype", "application/json");
        event.put("data", call);
        return event;
    }

    /** The appid as a URI may hold it: what is not a letter, digit or one of -._~ percent-encoded (UTF-8). */
    static String uriSafe(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if (c < 0x80 && (Character.isLetterOrDigit(c) || "-._~".indexOf(c) >= 0)) {
                out.append(c);
            } else {
                out.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return out.toString();
    }

    private String appidOf(Map<String, Object> call) {
        Object fromCall = call.get("appid");
        if (fromCall != null && !fromCall.toString().isBlank()) {
            return fromCall.toString();
        }
        return appid.isBlank() ? "unknown" : appid;
    }
}
