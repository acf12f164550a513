package io.github.telecmicdr.recording;

/** Recognises audio by its first bytes, whatever the Content-Type claims. */
final class AudioSniffer {

    private AudioSniffer() {
    }

    /** {@code audio/mpeg}, {@code audio/wav}, or null when the bytes are neither. */
    static String audioType(byte[] head) {
        if (head.length >= 3 && head[0] == 'I' && head[1] == 'D' && head[2] == '3') {
            return "audio/mpeg";
        }
        // an MPEG audio frame header: 11 set sync bits, then a valid version and layer
        if (head.length >= 2 && (head[0] & 0xFF) == 0xFF && (head[1] & 0xE0) == 0xE0
                && (head[1] & 0x18) != 0x08 && (head[1] & 0x06) != 0x00) {
            return "audio/mpeg";
        }
        if (head.length >= 12 && head[0] == 'R' && head[1] == 'I' && head[2] == 'F' && head[3] == 'F'
                && head[8] == 'W' && head[9] == 'A' && head[10] == 'V' && head[11] == 'E') {
            return "audio/wav";
        }
        return null;
    }
}
