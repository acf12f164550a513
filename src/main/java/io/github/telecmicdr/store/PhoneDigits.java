package io.github.telecmicdr.store;

/**
 * A call's number as the phone filter looks it up ({@code notification.caller_digits}, ...): the
 * number as TeleCMI wrote it without the separators people write ({@code +}, space, dot, dash,
 * brackets), so {@code +91 98765-43210} and {@code 919876543210} are one number. V6 computes the
 * same for the answered CDRs stored before it, in SQL: change one, change both.
 */
public final class PhoneDigits {

    /** The width of the columns; a longer "number" is no number anyone searches for. */
    static final int MAX_LENGTH = 32;

    private PhoneDigits() {
    }

    /** Null when nothing, or more than {@link #MAX_LENGTH} characters, is left. */
    public static String of(String number) {
        if (number == null) {
            return null;
        }
        StringBuilder kept = new StringBuilder(Math.min(number.length(), MAX_LENGTH + 1));
        for (int i = 0; i < number.length(); i++) {
            char ch = number.charAt(i);
            if (ch == '+' || ch == ' ' || ch == '.' || ch == '-' || ch == '(' || ch == ')') {
                continue;
            }
            if (kept.length() == MAX_LENGTH) {
                return null;
            }
            kept.append(ch);
        }
        return kept.length() == 0 ? null : kept.toString();
    }
}
