package io.github.telecmicdr.crm;

import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.ArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Standard Webhooks signature, checked against the specification's vector and a receiver written here without our code. */
class WebhookSignatureTest {

    private static final String SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private static final long NOW = 1_767_225_600L; // 2026-01-01T00:00:00Z
    private static final byte[] CALL = ("{\"cmiuuid\":\"a1b2c3d4-0000-4000-8000-000000000001\",\"kind\":\"incoming-answered-cdr\","
            + "\"from_e164\":\"+919876543210\",\"name\":\"Ç€ 日本\"}").getBytes(StandardCharsets.UTF_8);

    /**
     * The vector every Standard Webhooks reference library signs in its tests, e.g.
     * standard-webhooks/standard-webhooks, libraries/java/src/test/java/com/standardwebhooks/WebhookTest.java,
     * verifyWebhookSignWorks (the same in the PHP, Python and Go libraries).
     */
    @Test
    void reproducesTheReferenceLibrariesTestVector() {
        String signature = new WebhookSignature(SECRET)
                .sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330L, "{\"test\": 2432232314}".getBytes(StandardCharsets.UTF_8));
        assertEquals("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", signature);
    }

    @Test
    void aReceiverWrittenFromTheSpecificationAcceptsOurSignature() throws Exception {
        String id = "incoming-answered-cdr:a1b2c3d4-0000-4000-8000-000000000001";
        String timestamp = Long.toString(NOW);
        for (String secret : new String[] {SECRET, "a raw secret, ünïcödé"}) {
            String signature = new WebhookSignature(secret).sign(id, NOW, CALL);
            assertTrue(signature.matches("v1,[A-Za-z0-9+/]{43}="), signature);
            assertTrue(verify(secret, id, timestamp, signature, CALL, NOW + 10), secret);
            // the spec sends several signatures during a key rotation: any one matching is enough
            assertTrue(verify(secret, id, timestamp, "v1,bm9wZQ== " + signature, CALL, NOW), secret);

            byte[] tampered = CALL.clone();
            tampered[tampered.length - 2] ^= 1;
            assertFalse(verify(secret, id, timestamp, signature, tampered, NOW), "a changed body");
            assertFalse(verify(secret, id.replace("answered", "missed"), timestamp, signature, CALL, NOW), "another id");
            assertFalse(verify(secret, id, Long.toString(NOW + 1), signature, CALL, NOW), "another timestamp");
            assertFalse(verify(secret.substring(0, secret.length() - 4) + "AAAA", id, timestamp, signature, CALL, NOW), "another secret");
            assertFalse(verify(secret, id, timestamp, "v1,%%% v1", CALL, NOW), "not base64");
            assertFalse(verify(secret, id, timestamp, signature, CALL, NOW + 301), "a replay after the tolerance");
            assertFalse(verify(secret, id, timestamp, signature.replace("v1,", "v1a,"), CALL, NOW), "another scheme");
        }
    }

    @Test
    void whsecSecretsKeyWithTheirDecodedBytesRawOnesWithTheirUtf8Bytes() throws Exception {
        byte[] key = Base64.getDecoder().decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        String expected = "v1," + Base64.getEncoder().encodeToString(hmac(key, "id-1.100.".getBytes(StandardCharsets.UTF_8), CALL));
        assertEquals(expected, new WebhookSignature(SECRET).sign("id-1", 100, CALL));

        // without the prefix the same characters are a raw secret: another key, another signature
        String raw = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        String rawExpected = "v1," + Base64.getEncoder().encodeToString(
                hmac(raw.getBytes(StandardCharsets.UTF_8), "id-1.100.".getBytes(StandardCharsets.UTF_8), CALL));
        assertEquals(rawExpected, new WebhookSignature(raw).sign("id-1", 100, CALL));
        assertNotEquals(expected, rawExpected);

        // what a receiver with a Standard Webhooks library configures for a raw secret
        String asWhsec = "whsec_" + Base64.getEncoder().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
        assertEquals(rawExpected, new WebhookSignature(asWhsec).sign("id-1", 100, CALL));
    }

    @Test
    void anEmptyBodyIsSignedAsEmpty() throws Exception {
        String expected = "v1," + Base64.getEncoder().encodeToString(hmac("k".getBytes(StandardCharsets.UTF_8), "i.1.".getBytes(StandardCharsets.UTF_8)));
        assertEquals(expected, new WebhookSignature("k").sign("i", 1, new byte[0]));
        assertEquals(expected, new WebhookSignature("k").sign("i", 1, null));
    }

    @Test
    void unusableSecretsAreRefusedWithoutBeingQuoted() {
        for (String bad : new String[] {null, "", "whsec_", "whsec_not base64!", "whsec_MfKQ9r8G%%%secretpart"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new WebhookSignature(bad), String.valueOf(bad));
            assertTrue(e.getMessage().startsWith("crm.signing-secret "), e.getMessage());
            assertFalse(e.getMessage().contains("secretpart") || e.getMessage().contains("not base64!") || e.getMessage().contains("%"), e.getMessage());
        }
        assertFalse(new WebhookSignature("hunter2").toString().contains("hunter2"));
    }

    /** A dot in the id would let the signature of "a.1" at 2 pass for "a" at 1 with the body prefixed by "2.". */
    @Test
    void anIdWithADotIsRefused() {
        WebhookSignature signature = new WebhookSignature(SECRET);
        assertEquals(signature.sign("a", 1, "2.{}".getBytes(StandardCharsets.UTF_8)), sign(SECRET, "a.1", 2, "{}"));
        for (String bad : new String[] {"a.1", ".", "", null}) {
            assertThrows(IllegalArgumentException.class, () -> signature.sign(bad, 2, new byte[0]), String.valueOf(bad));
        }
    }

    @Test
    void oneInstanceSignsFromManyThreads() throws Exception {
        WebhookSignature signature = new WebhookSignature(SECRET);
        String expected = signature.sign("id-7", NOW, CALL);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < 2_000; i++) {
                results.add(pool.submit(() -> signature.sign("id-7", NOW, CALL)));
            }
            for (Future<String> r : results) {
                assertEquals(expected, r.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * A receiver, as the README shows it (only {@code now} is a parameter here): javax.crypto and
     * the specification, nothing of {@link WebhookSignature}.
     */
    static boolean verify(String secret, String id, String timestamp, String signatures, byte[] body, long now) throws Exception {
        long sent;
        try {
            sent = Long.parseLong(timestamp);
        } catch (NumberFormatException e) {
            return false;
        }
        if (Math.abs(now - sent) > 300) {
            return false; // stale or replayed
        }
        byte[] key = secret.startsWith("whsec_") ? Base64.getDecoder().decode(secret.substring(6)) : secret.getBytes(StandardCharsets.UTF_8);
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
        // the raw bytes received, before any JSON parsing
        byte[] expected = ("v1," + Base64.getEncoder().encodeToString(mac.doFinal(body))).getBytes(StandardCharsets.US_ASCII);
        for (String s : signatures.split(" ")) {
            if (MessageDigest.isEqual(expected, s.getBytes(StandardCharsets.US_ASCII))) { // constant time
                return true;
            }
        }
        return false;
    }

    private static byte[] hmac(byte[] key, byte[]... parts) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        for (byte[] p : parts) {
            mac.update(p);
        }
        return mac.doFinal();
    }

    private static String sign(String whsec, String id, long ts, String body) {
        try {
            return "v1," + Base64.getEncoder().encodeToString(hmac(Base64.getDecoder().decode(whsec.substring(6)),
                    (id + "." + ts + "." + body).getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
