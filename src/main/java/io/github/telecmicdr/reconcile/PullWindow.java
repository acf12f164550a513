package io.github.telecmicdr.reconcile;

import java.time.Instant;

/**
 * The window being asked of TeleCMI's pull API, carried by the reconciliation route in the
 * variable {@value Reconciliation#WINDOW}: its bounds, the next page, and what its rows became.
 * One route's thread works it (the split over a page's rows is sequential).
 */
public final class PullWindow {

    private final long id;
    private final Instant start;
    private final Instant end;
    private final Instant claimedAt;
    private final int failuresBefore;
    private int page = 1;
    private int pagesRead;
    private int rowsSeen;
    private int rowsStored;
    private int rowsRefused;
    private String firstRowOfLastPage;

    PullWindow(long id, Instant start, Instant end, Instant claimedAt, int failuresBefore) {
        this.id = id;
        this.start = start;
        this.end = end;
        this.claimedAt = claimedAt;
        this.failuresBefore = failuresBefore;
    }

    long id() {
        return id;
    }

    Instant start() {
        return start;
    }

    Instant end() {
        return end;
    }

    Instant claimedAt() {
        return claimedAt;
    }

    int failuresBefore() {
        return failuresBefore;
    }

    /** The page to ask for next, counting from 1. */
    int page() {
        return page;
    }

    /**
     * A page was read: {@code rows} of them, the first as given. False when its first row is the
     * first row of the page before, which a service that pages never answers.
     */
    boolean pageRead(int rows, String firstRow) {
        boolean repeated = firstRow != null && firstRow.equals(firstRowOfLastPage);
        firstRowOfLastPage = firstRow;
        pagesRead++;
        page++;
        rowsSeen += rows;
        return !repeated;
    }

    void stored() {
        rowsStored++;
    }

    void refused() {
        rowsRefused++;
    }

    int pagesRead() {
        return pagesRead;
    }

    int rowsSeen() {
        return rowsSeen;
    }

    int rowsStored() {
        return rowsStored;
    }

    int rowsRefused() {
        return rowsRefused;
    }

    @Override
    public String toString() {
        return start + ".." + end;
    }
}
