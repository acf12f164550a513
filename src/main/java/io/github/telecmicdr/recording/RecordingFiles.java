package io.github.telecmicdr.recording;

import java.util.regex.Pattern;

/**
 * Which recording file names are ever asked of TeleCMI: a strict allowlist, so a hostile CDR cannot
 * steer the download (no paths, no URLs, no query parameters, audio extensions only).
 */
public final class RecordingFiles {

    private static final Pattern ALLOWED = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}\\.(mp3|wav)$");

    private RecordingFiles() {
    }

    /** Null when the file may be fetched, otherwise why it never will be. */
    public static String whyNotFetched(String filename) {
        if (filename == null || filename.isEmpty()) {
            return "recorded, but the CDR names no recording file";
        }
        if (!ALLOWED.matcher(filename).matches() || filename.contains("..")) {
            return "recording file name outside the allowlist (letters, digits, '_', '.', '-', ending .mp3 or .wav)";
        }
        return null;
    }
}
