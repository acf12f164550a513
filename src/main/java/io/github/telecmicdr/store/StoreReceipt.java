package io.github.telecmicdr.store;

/** What the webhook answers: whether this delivery was new, of which kind, for which call. */
public record StoreReceipt(String status, String kind, String cmiuuid) {

    public static final String STORED = "stored";
    public static final String DUPLICATE = "duplicate";
}
