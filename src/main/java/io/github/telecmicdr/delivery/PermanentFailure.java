package io.github.telecmicdr.delivery;

/**
 * A delivery attempt that will not succeed by trying again (bad credentials, a file TeleCMI says is
 * missing, an answer that is not audio, missing configuration): the delivery ends {@code failed}.
 * Any other exception is retried with backoff.
 */
public class PermanentFailure extends RuntimeException {

    public PermanentFailure(String message) {
        super(message, null, false, false);
    }
}
