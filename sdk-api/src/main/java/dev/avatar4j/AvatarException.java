package dev.avatar4j;

/**
 * Base of every error the SDK reports. Unchecked, so that the fluent API stays fluent; catch the
 * subtypes to tell the caller what to fix:
 * {@link InvalidInputException} (image, audio, parameters), {@link BundleException} (the model
 * bundle), {@link BackendException} (the inference runtime) and {@link GenerationCancelledException}.
 */
public class AvatarException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed, for the user
     */
    public AvatarException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what failed, for the user
     * @param cause   the underlying error (kept as {@link Throwable#getCause()}), or null
     */
    public AvatarException(String message, Throwable cause) {
        super(message, cause);
    }
}
