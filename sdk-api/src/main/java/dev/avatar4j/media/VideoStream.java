package dev.avatar4j.media;

import java.util.List;
import java.util.Objects;

/**
 * Video frames at a constant frame rate, decoded front to back on demand, so that a long input is
 * never held in memory at once. Returned by {@link MediaCodec#readVideoStream}; the frames are
 * exactly those {@link MediaCodec#readVideo} returns for the same file, rate and frame limit, in
 * order. Frames that the frame-rate conversion duplicates may be the same {@link RgbImage}
 * instance.
 *
 * <p>Not thread-safe. Close it to release the file and any native decoder.
 */
public interface VideoStream extends AutoCloseable {

    /**
     * The frame width.
     *
     * @return frame width in pixels (of the upright frames)
     */
    int width();

    /**
     * The frame height.
     *
     * @return frame height in pixels (of the upright frames)
     */
    int height();

    /**
     * The constant frame rate the frames are delivered at (the rate asked for, not the source's).
     *
     * @return frames per second
     */
    int fps();

    /**
     * Decodes the next frame.
     *
     * @return the next frame, or {@code null} at the end of the video (or of the frame limit)
     * @throws dev.avatar4j.InvalidInputException if the file turns out to be broken while decoding
     */
    RgbImage next();

    /**
     * The bit rate of the source's video track as its file declares it, in bit/s, or 0 when unknown
     * (used to encode a dub at no less than its input's rate). The default is 0.
     *
     * @return bits per second, or 0
     */
    default long bitRate() {
        return 0;
    }

    /** Releases the file and any native decoder; further reads are not allowed. */
    @Override
    void close();

    /**
     * A stream over an in-memory clip (frames are not copied).
     *
     * @param clip the decoded video
     * @return a stream that returns the clip's frames in order
     */
    static VideoStream of(VideoClip clip) {
        Objects.requireNonNull(clip, "clip");
        List<RgbImage> frames = clip.frames();
        return new VideoStream() {
            private int at;

            @Override
            public int width() {
                return clip.width();
            }

            @Override
            public int height() {
                return clip.height();
            }

            @Override
            public int fps() {
                return clip.fps();
            }

            @Override
            public RgbImage next() {
                return at < frames.size() ? frames.get(at++) : null;
            }

            @Override
            public void close() {
                at = frames.size();
            }
        };
    }
}
