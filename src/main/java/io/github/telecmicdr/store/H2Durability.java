package io.github.telecmicdr.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Makes every H2 database URL write each commit through before the webhook answers. H2 delays
 * writing commits by default (WRITE_DELAY 500 ms): a user pointing {@code db.url} at a file of
 * their own, without our settings, had ~6% of acknowledged CDRs lost by a {@code kill -9}. So the
 * service adds what durability needs to whatever H2 URL it is given, and refuses a URL that asks
 * for delayed writes rather than silently breaking the promise behind every 200.
 */
public final class H2Durability {

    private H2Durability() {
    }

    /** The URL to connect with, and what was added to it (empty when nothing was). */
    public record Url(String url, List<String> added) {
    }

    /**
     * The URL with {@code WRITE_DELAY=0} (and, for a database this JVM opens itself,
     * {@code DB_CLOSE_ON_EXIT=FALSE}, so the service closes it after in-flight work, not the JVM's
     * shutdown hook before it) added where absent. Not H2, or H2 in memory: unchanged.
     *
     * @throws IllegalArgumentException when the URL sets a non-zero WRITE_DELAY
     */
    public static Url of(String url) {
        if (url == null || !url.regionMatches(true, 0, "jdbc:h2:", 0, "jdbc:h2:".length())) {
            return new Url(url, List.of());
        }
        String[] parts = url.split(";", -1);
        String location = parts[0].substring("jdbc:h2:".length()).toLowerCase(Locale.ROOT);
        if (location.startsWith("mem:")) {
            return new Url(url, List.of());
        }
        boolean remote = location.startsWith("tcp:") || location.startsWith("ssl:");
        boolean hasWriteDelay = false;
        boolean hasCloseOnExit = false;
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            String key = (eq < 0 ? parts[i] : parts[i].substring(0, eq)).trim().toUpperCase(Locale.ROOT);
            String value = eq < 0 ? "" : parts[i].substring(eq + 1).trim();
            if (key.equals("WRITE_DELAY")) {
                if (!value.equals("0")) {
                    throw new IllegalArgumentException("db.url sets WRITE_DELAY=" + value + ": H2 would then acknowledge CDRs"
                            + " before writing them, and a crash would lose them. Remove WRITE_DELAY from db.url (the service"
                            + " adds WRITE_DELAY=0) or set it to 0.");
                }
                hasWriteDelay = true;
            } else if (key.equals("DB_CLOSE_ON_EXIT")) {
                hasCloseOnExit = true;
            }
        }
        List<String> added = new ArrayList<>(2);
        if (!hasWriteDelay) {
            added.add("WRITE_DELAY=0");
        }
        if (!hasCloseOnExit && !remote) {
            added.add("DB_CLOSE_ON_EXIT=FALSE");
        }
        StringBuilder effective = new StringBuilder(url);
        for (String setting : added) {
            if (effective.charAt(effective.length() - 1) != ';') {
                effective.append(';');
            }
            effective.append(setting);
        }
        return new Url(effective.toString(), List.copyOf(added));
    }
}
