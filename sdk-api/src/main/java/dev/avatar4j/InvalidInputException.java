package dev.avatar4j;

/** The caller's input is unusable: a missing or unreadable file, an image or audio that cannot be decoded, or a parameter out of range. The message says what to fix. */
public class InvalidInputException extends AvatarException {
    private static final long serialVersionUID = 1L;

    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
