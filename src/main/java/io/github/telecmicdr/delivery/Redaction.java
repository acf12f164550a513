package io.github.telecmicdr.delivery;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

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
 * as + or %20) and escaped as in a JSON string (a / as \/ too, as PHP writes it). Also
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
        this.forms = all.stream().sorted(Comparator.comparingInt(String::length).reversed()).toList();
    }

    static Set<String> formsOf(String secret) {
        Set<String> forms = new LinkedHashSet<>();
        forms.add(secret);
        String query = URLEncoder.encode(secret, StandardCharsets.UTF_8);
        forms.add(query);
        forms.add(query.replace("+", "%20"));
        String json = new String(JsonStringEncoder.getInstance().quoteAsString(secret));
        forms.add(json);
        forms.add(json.replace("/", "\\/"));
        return forms;
    }

    public String apply(String text) {
        String s = text == null ? "" : text;
        for (String form : forms) {
            s = s.replace(form, "****");
        }
        return LINE_BREAKS.matcher(NAMED.matcher(s).replaceAll("$1=****")).replaceAll(" ");
    }
}
