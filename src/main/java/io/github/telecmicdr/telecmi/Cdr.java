package io.github.telecmicdr.telecmi;

import java.time.Instant;

/**
 * An incoming answered call-detail record, normalised from whichever TeleCMI variant delivered it.
 * Phone numbers and ids stay text; absent fields are null.
 */
public record Cdr(
        String cmiuuid,
        String appid,
        String direction,
        String status,
        String from,
        String to,
        String virtualNumber,
        String user,
        String team,
        Integer answeredSeconds,
        String hangupReason,
        boolean recorded,
        String recordingFilename,
        String conversationUuid,
        String ivrName,
        String custom,
        Instant callTime) {
}
