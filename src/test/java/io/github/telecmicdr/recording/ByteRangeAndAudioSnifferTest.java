package io.github.telecmicdr.recording;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The pure parts of serving and downloading recordings: HTTP Range and recognising audio by its bytes. */
class ByteRangeAndAudioSnifferTest {

    @Test
    void rangesAsBrowsersSendThem() {
        assertEquals(new ByteRange(0, 99), ByteRange.parse("bytes=0-99", 1000));
        assertEquals(new ByteRange(500, 999), ByteRange.parse("bytes=500-", 1000), "open end");
        assertEquals(new ByteRange(900, 999), ByteRange.parse("bytes=-100", 1000), "the last 100 bytes");
        assertEquals(new ByteRange(0, 999), ByteRange.parse("bytes=-5000", 1000), "a suffix longer than the file is the file");
        assertEquals(new ByteRange(990, 999), ByteRange.parse("bytes=990-5000", 1000), "an end past the file is the file's end");
        assertEquals(100, new ByteRange(0, 99).length());
    }

    @Test
    void unsatisfiableAndIgnoredRanges() {
        assertEquals(ByteRange.UNSATISFIABLE, ByteRange.parse("bytes=1000-", 1000), "starts past the end");
        assertEquals(ByteRange.UNSATISFIABLE, ByteRange.parse("bytes=50-10", 1000), "ends before it starts");
        assertEquals(ByteRange.UNSATISFIABLE, ByteRange.parse("bytes=-0", 1000));
        assertEquals(ByteRange.UNSATISFIABLE, ByteRange.parse("bytes=-10", 0), "an empty file has no last bytes");
        for (String whole : new String[] {null, "", "items=0-1", "bytes=0-1,5-6", "bytes=abc", "bytes=1", "bytes=x-"}) {
            assertNull(ByteRange.parse(whole, 1000), "the whole file for " + whole);
        }
    }

    @Test
    void audioIsKnownByItsBytes() {
        assertEquals("audio/mpeg", AudioSniffer.audioType(new byte[] {'I', 'D', '3', 4, 0}));
        assertEquals("audio/mpeg", AudioSniffer.audioType(new byte[] {(byte) 0xFF, (byte) 0xFB, (byte) 0x90, 0}), "an MPEG-1 layer III frame");
        byte[] wav = new byte[12];
        System.arraycopy("RIFF".getBytes(), 0, wav, 0, 4);
        System.arraycopy("WAVE".getBytes(), 0, wav, 8, 4);
        assertEquals("audio/wav", AudioSniffer.audioType(wav));
    }

    @Test
    void whatOnlyLooksLikeAudioIsNot() {
        assertNull(AudioSniffer.audioType("{\"code\":502}".getBytes()), "TeleCMI's 200-with-JSON");
        assertNull(AudioSniffer.audioType("<html>".getBytes()));
        assertNull(AudioSniffer.audioType(new byte[] {'I', 'D'}), "too short");
        assertNull(AudioSniffer.audioType(new byte[] {(byte) 0xFF, (byte) 0xE8}), "reserved MPEG version");
        assertNull(AudioSniffer.audioType(new byte[] {(byte) 0xFF, (byte) 0xF9}), "reserved layer");
        byte[] riffNotWave = new byte[12];
        System.arraycopy("RIFF".getBytes(), 0, riffNotWave, 0, 4);
        System.arraycopy("AVI ".getBytes(), 0, riffNotWave, 8, 4);
        assertNull(AudioSniffer.audioType(riffNotWave));
        assertNull(AudioSniffer.audioType(new byte[0]));
    }
}
