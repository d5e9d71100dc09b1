package dev.avatar4j.media;

/**
 * Thrown by a {@link MediaCodec} that does not handle a file's format, so that the next codec is
 * tried. A codec that recognises the format but finds the file broken throws
 * {@link dev.avatar4j.InvalidInputException} instead.
 */
public class UnsupportedMediaException extends Exception {
    private static final long serialVersionUID = 1L;

    public UnsupportedMediaException(String message) {
        super(message);
    }
}
