package dev.avatar4j;

/** The caller's input is unusable: a missing or unreadable file, an image or audio that cannot be decoded, or a parameter out of range. The message says what to fix. */
public class InvalidInputException extends AvatarException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what is wrong with the input and how to fix it
     */
    public InvalidInputException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what is wrong with the input and how to fix it
     * @param cause   the underlying error (kept as {@link Throwable#getCause()}), or null
     */
    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
