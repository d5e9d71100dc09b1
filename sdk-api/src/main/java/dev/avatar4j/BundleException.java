package dev.avatar4j;

/** The model bundle is unusable: missing or malformed manifest, a file outside the bundle, a checksum mismatch, or a graph whose inputs/outputs do not match the family's contract. The message names the file. */
public class BundleException extends AvatarException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what is wrong with the bundle, naming the file
     */
    public BundleException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what is wrong with the bundle, naming the file
     * @param cause   the underlying error (kept as {@link Throwable#getCause()}), or null
     */
    public BundleException(String message, Throwable cause) {
        super(message, cause);
    }
}
