package dev.avatar4j;

/** The model bundle is unusable: missing or malformed manifest, a file outside the bundle, a checksum mismatch, or a graph whose inputs/outputs do not match the family's contract. The message names the file. */
public class BundleException extends AvatarException {
    private static final long serialVersionUID = 1L;

    public BundleException(String message) {
        super(message);
    }

    public BundleException(String message, Throwable cause) {
        super(message, cause);
    }
}
