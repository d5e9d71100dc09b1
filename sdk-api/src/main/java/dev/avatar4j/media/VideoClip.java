package dev.avatar4j.media;

import java.util.List;
import java.util.Objects;

/**
 * Decoded video frames at a constant frame rate, all of one size. Frames that the frame-rate
 * conversion duplicates are the same {@link RgbImage} instance, so memory grows with the number of
 * distinct frames only.
 *
 * @param width  frame width in pixels
 * @param height frame height in pixels
 * @param fps    frames per second of {@code frames}
 * @param frames the frames, in presentation order; unmodifiable, at least one
 */
public record VideoClip(int width, int height, int fps, List<RgbImage> frames) {

    /**
     * Validates and copies the frame list.
     *
     * @throws IllegalArgumentException if there is no frame, a frame's size differs or fps is not positive
     */
    public VideoClip {
        Objects.requireNonNull(frames, "frames");
        frames = List.copyOf(frames);
        if (fps <= 0) {
            throw new IllegalArgumentException("fps must be positive, got " + fps);
        }
        if (frames.isEmpty()) {
            throw new IllegalArgumentException("a video clip needs at least one frame");
        }
        for (int i = 0; i < frames.size(); i++) {
            RgbImage f = frames.get(i);
            if (f.width() != width || f.height() != height) {
                throw new IllegalArgumentException("frame " + i + " is " + f.width() + "x" + f.height()
                        + ", expected " + width + "x" + height);
            }
        }
    }

    /**
     * The length of the clip in frames.
     *
     * @return the number of frames, at least 1
     */
    public int frameCount() {
        return frames.size();
    }
}
