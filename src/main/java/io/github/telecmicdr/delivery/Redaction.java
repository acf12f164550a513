package io.github.telecmicdr.delivery;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Takes every secret the service knows out of a text (an error stored or logged): each as written,
 * and as a server that echoes it back may write it: percent-encoded as in a query string (a space
 * as + or %20), decoded when it was held encoded, and escaped as in a JSON string (a / as \/ too,
 * as PHP writes it; other characters as \\uXXXX, as Gson and .NET write them). Also
 * {@code secret=}, {@code password=} and {@code token=} values, whatever they are, and line breaks.
 */
public final class Redaction {

    private static final Pattern NAMED = Pattern.compile("(?i)(secret|password|token)=[^&\\s]*");
    private static final Pattern LINE_BREAKS = Pattern.compile("[\\r\\n]+");

    /** Every form to replace, longest first: a form that contains another goes before it. */
    private final List<String> forms;

    public Redaction(Collection<String> secrets) {
        Set<String> all = new LinkedHashSet<>();
        for (String secret : secrets) {
            if (secret != null && secret.length() >= 4) {
                all.addAll(formsOf(secret));
            }
        }
        // a form as short as a word (a percent-encoded secret decodes shorter) would garble ordinary text
        this.forms = all.stream().filter(f -> f.length() >= 4).sorted(Comparator.comparingInt(String::length).reversed()).toList();
    }

    static Set<String> formsOf(String secret) {
        Set<String> plain = new LinkedHashSet<>();
        plain.add(secret);
        // a value a URL setting holds percent-encoded (crm.url's ?code=abc%3D%3D) may come back decoded
        try {
            plain.add(URLDecoder.decode(secret, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException notEncoded) {
            // a lone % in it: it was not percent-encoded
        }
        Set<String> forms = new LinkedHashSet<>();
        for (String value : plain) {
            forms.add(value);
            String query = URLEncoder.encode(value, StandardCharsets.UTF_8);
            forms.add(query);
            forms.add(query.replace("+", "%20"));
            // encodeURIComponent leaves these as they are
            forms.add(query.replace("+", "%20").replace("%21", "!").replace("%27", "'").replace("%28", "(").replace("%29", ")")
                    .replace("%7E", "~"));
            String json = new String(JsonStringEncoder.getInstance().quoteAsString(value));
            forms.add(json);
            forms.add(json.replace("/", "\\/"));
            // as JSON writers that escape more than they must write it: Gson (<>&=' in lower-case hex),
            // .NET's System.Text.Json (+<>&'` and all but ASCII, upper-case hex), or every character
            forms.add(escaped(value, c -> "<>&='".indexOf(c) >= 0, false));
            forms.add(escaped(value, c -> "+<>&'`\"".indexOf(c) >= 0 || c > 0x7e, true));
            forms.add(escaped(value, c -> !Character.isLetterOrDigit(c), false));
            forms.add(escaped(value, c -> !Character.isLetterOrDigit(c), true));
        }
        return forms;
    }

    /** The value as a JSON string's content, with the characters {@code which} picks as \\uXXXX. */
    private static String escaped(String value, java.util.function.IntPredicate which, boolean upperHex) {
        StringBuilder out = new StringBuilder();
        for (char c : value.toCharArray()) {
            if (which.test(c) || c < 0x20) {
                String hex = String.format("\\u%04x", (int) c);
                out.append(upperHex ? "\\u" + hex.substring(2).toUpperCase(java.util.Locale.ROOT) : hex);
            } else if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    public String apply(String text) {
        String s = text == null ? "" : text;
        for (String form : forms) {
            s = s.replace(form, "****");
        }
        return LINE_BREAKS.matcher(NAMED.matcher(s).replaceAll("$1=****")).replaceAll(" ");
    }
}
