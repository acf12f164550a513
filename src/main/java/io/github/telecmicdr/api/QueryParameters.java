package io.github.telecmicdr.api;

import io.github.telecmicdr.Problem;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/** The read API's query parameters, read one way everywhere: a bad one is a 400 naming it. */
public final class QueryParameters {

    private QueryParameters() {
    }

    /** An ISO-8601 time ({@code since}, {@code until}), in UTC; null when absent. */
    public static OffsetDateTime instant(String field, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(value.trim()).withOffsetSameInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            try {
                return Instant.parse(value.trim()).atOffset(ZoneOffset.UTC);
            } catch (DateTimeParseException e2) {
                throw Problem.badRequest(field, "'" + field + "' must be an ISO-8601 time such as 2026-11-26T10:00:00Z");
            }
        }
    }

    /** A whole number from 1 to {@code max} ({@code limit}, {@code cursor}), or {@code absent} when not given. */
    public static long positive(String field, String value, long max, long absent) {
        if (value == null || value.isBlank()) {
            return absent;
        }
        try {
            long n = Long.parseLong(value.trim());
            if (n >= 1 && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // the problem below says what is expected
        }
        throw Problem.badRequest(field, "'" + field + "' must be a whole number from 1 to " + max);
    }
}
