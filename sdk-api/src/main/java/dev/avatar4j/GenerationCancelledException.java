package dev.avatar4j;

/** The generation was cancelled ({@link Generation#cancel()} or thread interruption) before it finished. */
public class GenerationCancelledException extends AvatarException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message how the generation was cancelled
     */
    public GenerationCancelledException(String message) {
        super(message);
    }
}
