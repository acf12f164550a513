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
    void escapedAsJsonWritersThatEscapeMoreWriteIt() {
        Redaction r = new Redaction(List.of("k3y=a+b<c>'d"));
        // Gson: <>&=' as lower-case hex escapes
        assertEquals("{\"m\":\"****\"}", r.apply("{\"m\":\"k3y\\u003da+b\\u003cc\\u003e\\u0027d\"}"));
        // .NET System.Text.Json: +<>&'` in upper-case hex
        assertEquals("{\"m\":\"****\"}", r.apply("{\"m\":\"k3y=a\\u002Bb\\u003Cc\\u003E\\u0027d\"}"));
        // .NET writes a quote as \\u0022 too
        assertEquals("{\"m\":\"****\"}", new Redaction(List.of("a\"b-c")).apply("{\"m\":\"a\\u0022b-c\"}"));
        // every character but letters and digits
        assertEquals("x **** y", r.apply("x k3y\\u003da\\u002bb\\u003cc\\u003e\\u0027d y"));
    }

    @Test
    void aValueHeldPercentEncodedComesBackDecodedOrAsEncodeUriComponentWritesIt() {
        Redaction r = new Redaction(List.of("abc%3D%3Ddef", "pass word!(1)"));
        assertEquals("code **** refused", r.apply("code abc==def refused"));
        assertEquals("u=**** refused", r.apply("u=pass%20word!(1) refused"));
        // decoded shorter than a secret can be: left alone, or every "AB" of an error would go
        assertEquals("AB refused: ****", new Redaction(List.of("%41%42")).apply("AB refused: %41%42"));
    }

    @Test
    void namedValuesAndLineBreaksWhateverTheSecretsAndNothingTooShortToBeOne() {
        assertEquals("GET /x?secret=****&file=a.mp3 failed: ab cd", redaction.apply("GET /x?secret=other&file=a.mp3 failed:\r\nab cd"));
        assertEquals("", redaction.apply(null));
    }
}
