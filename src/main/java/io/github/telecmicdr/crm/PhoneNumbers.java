package io.github.telecmicdr.crm;

import com.google.i18n.phonenumbers.NumberParseException;
import com.google.i18n.phonenumbers.PhoneNumberUtil;
import com.google.i18n.phonenumbers.PhoneNumberUtil.PhoneNumberFormat;
import com.google.i18n.phonenumbers.Phonenumber.PhoneNumber;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Phone numbers as a CRM matches contacts on them: E.164 ({@code +919876543210}), by Google's
 * libphonenumber, or {@code null} when the number is not a valid one.
 *
 * <p>TeleCMI writes numbers three ways: bare digits that start with the country code and have no
 * plus ({@code 919876543210}), national forms with a trunk 0 ({@code 02240001234},
 * {@code 09876543210}), and now and then international ones ({@code +44 20 7946 0958}). They are
 * read in this order, the first valid reading wins:
 * <ol>
 * <li>As dialled in the default region ({@code phone.default-region}). This reads {@code +...} and
 * {@code 00...} as international, a leading 0 as the trunk prefix, a bare 10-digit Indian mobile
 * {@code 9876543210} as Indian, and bare digits that start with the region's own country code
 * ({@code 919876543210} in {@code IN}) as that country's number: libphonenumber strips the code
 * when the rest is a valid national number.</li>
 * <li>Only then, when the text is bare digits (spaces, dots, dashes and brackets allowed) with no
 * plus and no leading 0, as {@code "+" + digits}: a foreign number written as TeleCMI writes
 * numbers, such as the UK mobile {@code 447911123456}.</li>
 * </ol>
 * The region comes first because the other order misreads the numbers TeleCMI sends most: a
 * 10-digit Indian mobile such as {@code 9607123456} is also a valid Maldivian number as
 * {@code +960 712 3456}, and an Indian toll-free {@code 18002001234} is also a valid US one as
 * {@code +1 800 200 1234}. A foreign number is only taken when the text cannot be a valid number of
 * the default region.
 *
 * <p>Never throws for a number: null, blank, letters, too long or invalid all give {@code null}.
 * Only digits, one leading plus and the separators space, dot, dash and brackets are read.
 * Safe to share between threads.
 */
public final class PhoneNumbers {

    /** Far above any real number with its separators (E.164 has at most 15 digits). */
    private static final int MAX_LENGTH = 64;
    /**
     * Digits with an optional leading plus and the separators people write. Anything else (letters,
     * "anonymous", a SIP address) is not read at all: libphonenumber would turn vanity letters into
     * digits and pick a number out of surrounding text, which a CRM should not match a contact on.
     */
    private static final Pattern DIALLABLE = Pattern.compile("\\+?[0-9 ().\\-]+");
    private static final Pattern BARE_DIGITS = Pattern.compile("[1-9][0-9 ().\\-]*");

    /**
     * Readings kept, at most: a call's own numbers (to, virtual_number) recur on every call, and
     * libphonenumber takes tens of microseconds a reading. Emptied when full, so it stays this small.
     */
    static final int CACHED_READINGS = 4096;

    private final PhoneNumberUtil util = PhoneNumberUtil.getInstance();
    private final String defaultRegion;
    /** Number as written → its E.164, or "" when it is not a valid number. */
    private final Map<String, String> readings = new ConcurrentHashMap<>();

    /**
     * @param defaultRegion an ISO 3166 region code libphonenumber knows ({@code IN}, {@code GB},
     *                      {@code US}, any case), for numbers written without their country code
     * @throws IllegalArgumentException for a blank or unknown region code
     */
    public PhoneNumbers(String defaultRegion) {
        String region = defaultRegion == null ? "" : defaultRegion.trim().toUpperCase(Locale.ROOT);
        if (!util.getSupportedRegions().contains(region)) {
            throw new IllegalArgumentException("phone.default-region must be a region code such as IN, GB or US"
                    + " (ISO 3166-1 alpha-2), not '" + defaultRegion + "'");
        }
        this.defaultRegion = region;
    }

    public String defaultRegion() {
        return defaultRegion;
    }

    /** The number in E.164 ({@code +919876543210}), or {@code null} unless it is a valid number; see the class comment for how it is read. */
    public String e164(String number) {
        if (number == null || number.length() > MAX_LENGTH) {
            // too long to be a number even padded: not read, and not kept
            return number == null || number.strip().length() > MAX_LENGTH ? null : read(number);
        }
        String known = readings.get(number);
        if (known == null) {
            if (readings.size() >= CACHED_READINGS) {
                readings.clear();
            }
            String read = read(number);
            known = read == null ? "" : read;
            readings.put(number, known);
        }
        return known.isEmpty() ? null : known;
    }

    private String read(String number) {
        String text = number.strip();
        if (text.length() > MAX_LENGTH || !DIALLABLE.matcher(text).matches()) {
            return null;
        }
        PhoneNumber national = parse(text, defaultRegion);
        if (national != null) {
            return format(national);
        }
        if (BARE_DIGITS.matcher(text).matches()) {
            PhoneNumber international = parse("+" + text, null);
            if (international != null) {
                return format(international);
            }
        }
        return null;
    }

    /**
     * The ways TeleCMI may have written the number someone typed, as digits only: what was typed,
     * and when it is a valid number (read as {@link #e164} reads it) its E.164 digits
     * ({@code 919876543210}), its national form with the trunk prefix ({@code 09876543210}) and
     * without ({@code 9876543210}). Empty when the text is not diallable (see the class comment).
     * What the ops page's phone filter looks each stored number up by.
     */
    public java.util.Set<String> writtenForms(String typed) {
        java.util.Set<String> forms = new java.util.LinkedHashSet<>();
        String text = typed == null ? "" : typed.strip();
        if (text.isEmpty() || text.length() > MAX_LENGTH || !DIALLABLE.matcher(text).matches()) {
            return forms;
        }
        forms.add(digits(text));
        String e164 = e164(text);
        if (e164 != null) {
            forms.add(digits(e164));
            PhoneNumber valid = parse(e164, null);
            forms.add(digits(util.format(valid, PhoneNumberFormat.NATIONAL)));
            forms.add(util.getNationalSignificantNumber(valid));
        }
        forms.remove("");
        return forms;
    }

    private static String digits(String text) {
        return text.replaceAll("[^0-9]", "");
    }

    /** The number if it parses and is valid, else null. */
    private PhoneNumber parse(String text, String region) {
        try {
            PhoneNumber parsed = util.parse(text, region);
            return util.isValidNumber(parsed) ? parsed : null;
        } catch (NumberParseException e) {
            return null;
        }
    }

    private String format(PhoneNumber number) {
        return util.format(number, PhoneNumberFormat.E164);
    }
}
