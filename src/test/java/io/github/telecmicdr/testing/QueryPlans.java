package io.github.telecmicdr.testing;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What H2's EXPLAIN ANALYZE says a query read. */
public final class QueryPlans {

    private static final Pattern SCAN_COUNT = Pattern.compile("scanCount: (\\d+)");

    private QueryPlans() {
    }

    /** Rows read, over every table and subquery of the plan. */
    public static long rowsRead(String plan) {
        long read = 0;
        Matcher scanned = SCAN_COUNT.matcher(plan);
        while (scanned.find()) {
            read += Long.parseLong(scanned.group(1));
        }
        return read;
    }
}
