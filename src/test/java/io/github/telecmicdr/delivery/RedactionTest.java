package io.github.telecmicdr.delivery;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A secret is taken out of a text in the forms a server echoing it back writes it. */
class RedactionTest {

    private static final String SECRET = "p@ss/w+rd=x&y z%41\"q";
    private final Redaction redaction = new Redaction(List.of(SECRET, "bearer-abc/def", "ab"));

    @Test
    void asWritten() {
        assertEquals("TeleCMI: 404 unknown key **** for app", redaction.apply("TeleCMI: 404 unknown key " + SECRET + " for app"));
    }

    @Test
    void percentEncodedAsInAQueryStringEitherSpace() {
        assertEquals("TeleCMI: 404 unknown key **** for app",
                redaction.apply("TeleCMI: 404 unknown key p%40ss%2Fw%2Brd%3Dx%26y+z%2541%22q for app"));
        assertEquals("pull API: 407 key ****", redaction.apply("pull API: 407 key p%40ss%2Fw%2Brd%3Dx%26y%20z%2541%22q"));
    }

    @Test
    void escapedAsInAJsonStringSlashEscapedOrNot() {
        assertEquals("{\"auth\":\"****\"}", redaction.apply("{\"auth\":\"bearer-abc\\/def\"}"));
        assertEquals("{\"auth\":\"****\"}", redaction.apply("{\"auth\":\"bearer-abc/def\"}"));
        assertEquals("{\"k\":\"****\"}", redaction.apply("{\"k\":\"p@ss/w+rd=x&y z%41\\\"q\"}"));
    }

    @Test
    void namedValuesAndLineBreaksWhateverTheSecretsAndNothingTooShortToBeOne() {
        assertEquals("GET /x?secret=****&file=a.mp3 failed: ab cd", redaction.apply("GET /x?secret=other&file=a.mp3 failed:\r\nab cd"));
        assertEquals("", redaction.apply(null));
    }
}
