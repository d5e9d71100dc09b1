package dev.avatar4j;

/** The inference runtime failed: it could not be found or started, or a graph run failed. */
public class BackendException extends AvatarException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed in the runtime, and which graph or backend
     */
    public BackendException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what failed in the runtime, and which graph or backend
     * @param cause   the underlying error (kept as {@link Throwable#getCause()}), or null
     */
    public BackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
