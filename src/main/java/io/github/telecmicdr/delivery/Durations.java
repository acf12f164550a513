package io.github.telecmicdr.delivery;

import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.spi.PropertiesFunction;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations in settings as people write them: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 24h},
 * {@code 7d}, {@code 0}, or ISO-8601 ({@code PT15M}, {@code P1D}, {@code PT0S}), the form other
 * tools and Kubernetes manifests often carry.
 */
public final class Durations {

    private static final Pattern FORM = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

    private Durations() {
    }

    public static Duration parse(String key, String value) {
        String v = value == null ? "" : value.trim();
        if (v.equals("0")) {
            // "0" needs no unit: it is how a setting such as retention.max-age says "never"
            return Duration.ZERO;
        }
        if (v.startsWith("P") || v.startsWith("p")) {
            return iso(key, value, v);
        }
        Matcher m = FORM.matcher(v.toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw invalid(key, value);
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
    }

    private static Duration iso(String key, String value, String v) {
        try {
            Duration d = Duration.parse(v.toUpperCase(Locale.ROOT));
            if (d.isNegative()) {
                throw invalid(key, value);
            }
            return d;
        } catch (DateTimeParseException e) {
            throw invalid(key, value);
        }
    }

    private static IllegalArgumentException invalid(String key, String value) {
        return new IllegalArgumentException(key + " must be a duration such as 500ms, 30s, 5m, 24h, 7d or PT15M, not '" + value + "'");
    }

    /**
     * {@code {{millis:<key>}}} in a route: the duration setting {@code key} in milliseconds, read as
     * the service reads every duration, for an endpoint option Camel takes in milliseconds (a
     * timer's period): Camel's own reading of "15m" knows no ISO-8601 and takes "PT15M" for 0. An
     * empty setting reads as 0.
     */
    public static PropertiesFunction millisFunction(PropertiesComponent properties) {
        return new PropertiesFunction() {
            @Override
            public String getName() {
                return "millis";
            }

            @Override
            public String apply(String key) {
                String value = properties.resolveProperty(key)
                        .orElseThrow(() -> new IllegalArgumentException("{{millis:" + key + "}}: no setting " + key));
                return value.isBlank() ? "0" : String.valueOf(parse(key, value).toMillis());
            }
        };
    }
}
