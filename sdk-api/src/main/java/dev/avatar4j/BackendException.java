package dev.avatar4j;

/** The inference runtime failed: it could not be found or started, or a graph run failed. */
public class BackendException extends AvatarException {
    private static final long serialVersionUID = 1L;

    public BackendException(String message) {
        super(message);
    }

    public BackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
