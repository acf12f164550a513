package io.github.telecmicdr;

/**
 * A request the service refuses, with the HTTP status and the field at fault. Rendered as
 * {@code application/problem+json}; the message is written for the caller and never holds a secret.
 */
public class Problem extends RuntimeException {

    private final int status;
    private final String field;

    public Problem(int status, String detail) {
        this(status, detail, null);
    }

    public Problem(int status, String detail, String field) {
        super(detail, null, false, false);
        this.status = status;
        this.field = field;
    }

    public int status() {
        return status;
    }

    public String field() {
        return field;
    }

    public String detail() {
        return getMessage();
    }

    public static Problem badRequest(String field, String detail) {
        return new Problem(400, detail, field);
    }
}
