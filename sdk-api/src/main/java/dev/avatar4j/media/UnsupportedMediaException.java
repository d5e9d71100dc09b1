package dev.avatar4j.media;

/**
 * Thrown by a {@link MediaCodec} that does not handle a file's format, so that the next codec is
 * tried. A codec that recognises the format but finds the file broken throws
 * {@link dev.avatar4j.InvalidInputException} instead.
 */
public class UnsupportedMediaException extends Exception {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what the codec does not handle (e.g. the format or operation), for the error
     *                the SDK reports when no codec handles the file
     */
    public UnsupportedMediaException(String message) {
        super(message);
    }
}
