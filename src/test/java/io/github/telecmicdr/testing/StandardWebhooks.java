package io.github.telecmicdr.testing;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;

/**
 * A receiver's check of a Standard Webhooks signature, written from the specification
 * (https://www.standardwebhooks.com/, "Verifying webhook authenticity") and independent of the
 * service's own signing code, so a test of ours proves what any receiver would accept: HMAC-SHA256
 * under the secret of {@code <webhook-id>.<webhook-timestamp>.<the body as received>}, base64,
 * compared in constant time with each {@code v1,} entry of the space-separated
 * {@code webhook-signature}. The README's verification snippet is this method.
 */
public final class StandardWebhooks {

    private StandardWebhooks() {
    }

    /** The HMAC key a secret stands for: the base64 after {@code whsec_}, else the text's UTF-8 bytes. */
    public static byte[] key(String secret) {
        return secret.startsWith("whsec_") ? Base64.getDecoder().decode(secret.substring("whsec_".length()))
                : secret.getBytes(StandardCharsets.UTF_8);
    }

    public static boolean verifies(String id, String timestamp, String signatures, byte[] body, byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
            byte[] expected = mac.doFinal(body);
            for (String signature : signatures.split(" ")) {
                if (signature.startsWith("v1,") && MessageDigest.isEqual(expected, Base64.getDecoder().decode(signature.substring(3)))) {
                    return true;
                }
            }
            return false;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
