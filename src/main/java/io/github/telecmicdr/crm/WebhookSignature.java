package io.github.telecmicdr.crm;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;

/**
 * The {@code webhook-signature} of a request, as Standard Webhooks 1.0 specifies it
 * (https://www.standardwebhooks.com/, "Signature scheme"): {@code v1,} and the base64 HMAC-SHA256,
 * under the shared secret, of {@code <webhook-id>.<webhook-timestamp>.<body>}, so a receiver can
 * check the body, the id it deduplicates on and the time it rejects replays by, with any Standard
 * Webhooks library.
 *
 * <p>The secret ({@code crm.signing-secret}) is read two ways: {@code whsec_<base64>}, the form the
 * specification gives out, keys the HMAC with the decoded bytes (what every Standard Webhooks
 * library does); anything else is a raw secret and keys it with its UTF-8 bytes. A receiver using
 * a Standard Webhooks library with a raw secret passes it {@code whsec_} + base64 of those bytes.
 *
 * <p>Safe to share between threads; the secret is never part of a message or {@code toString}.
 */
public final class WebhookSignature {

    private static final String PREFIX = "whsec_";
    private static final String HMAC = "HmacSHA256";

    private final SecretKeySpec key;

    /**
     * @throws IllegalArgumentException for an empty secret, or a {@code whsec_} one whose rest is not
     *                                  base64 or is empty (the message never holds the secret)
     */
    public WebhookSignature(String secret) {
        if (secret == null || secret.isEmpty()) {
            throw new IllegalArgumentException("crm.signing-secret is empty");
        }
        byte[] bytes;
        if (secret.startsWith(PREFIX)) {
            try {
                bytes = Base64.getDecoder().decode(secret.substring(PREFIX.length()));
            } catch (IllegalArgumentException e) {
                // the decoder's message quotes the offending character: not one of the secret's in a log
                throw new IllegalArgumentException("crm.signing-secret starts with whsec_ but the rest is not base64;"
                        + " give whsec_ followed by the base64 of the key, or a raw secret without the prefix");
            }
        } else {
            bytes = secret.getBytes(StandardCharsets.UTF_8);
        }
        if (bytes.length == 0) {
            throw new IllegalArgumentException("crm.signing-secret holds no key after whsec_");
        }
        this.key = new SecretKeySpec(bytes, HMAC);
    }

    /**
     * The {@code webhook-signature} header value, {@code v1,<base64>}.
     *
     * @param id               the {@code webhook-id}; it may not contain a dot, since the signed text
     *                         joins the parts with dots and a dot in the id would let a signature made
     *                         for one (id, timestamp, body) pass for another
     * @param timestampSeconds the {@code webhook-timestamp}, Unix seconds of this attempt
     * @param body             the exact bytes sent
     */
    public String sign(String id, long timestampSeconds, byte[] body) {
        if (id == null || id.isEmpty() || id.indexOf('.') >= 0) {
            throw new IllegalArgumentException("a webhook-id must be non-empty and without a dot, not '" + id + "'");
        }
        Mac mac = mac();
        mac.update((id + "." + timestampSeconds + ".").getBytes(StandardCharsets.UTF_8));
        return "v1," + Base64.getEncoder().encodeToString(mac.doFinal(body == null ? new byte[0] : body));
    }

    private Mac mac() {
        try {
            // a Mac is not thread-safe; one per signature costs microseconds next to an HTTP request
            Mac mac = Mac.getInstance(HMAC);
            mac.init(key);
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
        }
    }

    @Override
    public String toString() {
        return "WebhookSignature[v1, HMAC-SHA256]";
    }
}
