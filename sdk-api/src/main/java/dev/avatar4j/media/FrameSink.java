package dev.avatar4j.media;

import dev.avatar4j.Frame;

/**
 * Consumes the frames of one generation in order (an MP4 writer, a PNG sequence, a live preview).
 *
 * <p>Life cycle: {@link #accept} for every frame, then exactly one of {@link #complete()} (the
 * output becomes visible, e.g. by an atomic rename) or {@link #abort()} (nothing is left behind).
 * {@link #close()} after neither behaves like {@code abort()}.
 */
public interface FrameSink extends AutoCloseable {

    /**
     * Writes the next frame.
     *
     * @param frame the frame, of the output's size; its index is one more than the previous one's
     */
    void accept(Frame frame);

    /** Finishes the output and makes it visible. */
    void complete();

    /** Discards everything written so far. Never throws. */
    void abort();

    /** Aborts unless completed. */
    @Override
    default void close() {
        abort();
    }
}
