package io.github.telecmicdr;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The shared secrets callers present (webhook token, API token). A secret left unset is generated
 * once, kept in the data folder with owner-only permissions, and reused on every start, so the
 * first run works without setup and is never unauthenticated.
 */
public final class Tokens {

    private static final SecureRandom RANDOM = new SecureRandom();

    private Tokens() {
    }

    /** The configured token, or the one kept in {@code dataDir/fileName}, generated if absent. */
    public static Generated resolve(String configured, Path dataDir, String fileName) {
        if (configured != null && !configured.isBlank()) {
            return new Generated(configured.trim(), false);
        }
        Path file = dataDir.resolve(fileName);
        try {
            if (Files.exists(file)) {
                String kept = Files.readString(file, StandardCharsets.UTF_8).trim();
                if (!kept.isEmpty()) {
                    return new Generated(kept, false);
                }
            }
            DataFolder.createFolders(dataDir);
            byte[] bytes = new byte[32];
            RANDOM.nextBytes(bytes);
            String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
            // owner-only from the moment the file exists, not chmod-ed after it was written
            DataFolder.writePrivate(file, (token + "\n").getBytes(StandardCharsets.UTF_8));
            return new Generated(token, true);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot keep the generated token in " + file, e);
        }
    }

    /**
     * Compares in time that does not depend on where the strings differ, nor on their lengths:
     * both are hashed first, so only equal-length digests are compared.
     */
    public static boolean matches(String expected, String presented) {
        if (presented == null) {
            return false;
        }
        try {
            MessageDigest a = MessageDigest.getInstance("SHA-256");
            MessageDigest b = MessageDigest.getInstance("SHA-256");
            return MessageDigest.isEqual(a.digest(expected.getBytes(StandardCharsets.UTF_8)),
                    b.digest(presented.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A token and whether it was generated on this start (then, and only then, it is shown once). */
    public record Generated(String value, boolean isNew) {
        @Override
        public String toString() {
            return "Generated[value=****, isNew=" + isNew + "]";
        }
    }
}
