package dev.avatar4j;

import dev.avatar4j.media.RgbImage;
import java.time.Duration;
import java.util.Objects;

/**
 * One final video frame: its position in the video and its picture, an {@link RgbImage} (packed
 * 8-bit RGB, row-major, no padding). Immutable; safe to keep and to pass between threads. The
 * pixels are read through {@link #image()}.
 */
public final class Frame {
    private final int index;
    private final double fps;
    private final RgbImage image;
    /** The image's own pixel array (never handed out), for the SDK's buffer recycling. */
    private final byte[] rgb;
    /** The pushed speech a live session's frame shows, or null. */
    private final SpeechSpan speech;

    /**
     * Creates a frame (for sinks and tests; generations create their own frames).
     *
     * @param index 0-based frame number in the video, at least 0
     * @param fps   frame rate of the video, positive
     * @param image the picture; not null
     * @throws InvalidInputException if {@code index} is negative or {@code fps} is not positive
     *                               (or not a number)
     * @throws NullPointerException if {@code image} is null
     */
    public Frame(int index, double fps, RgbImage image) {
        this(index, fps, Objects.requireNonNull(image, "image"), null, null);
    }

    private Frame(int index, double fps, RgbImage image, byte[] rgb, SpeechSpan speech) {
        if (index < 0 || !(fps > 0)) {
            throw new InvalidInputException("a frame needs an index >= 0 and a positive frame rate, got index "
                    + index + " @ " + fps + " fps");
        }
        this.index = index;
        this.fps = fps;
        this.image = image;
        this.rgb = rgb;
        this.speech = speech;
    }

    /**
     * The position of this frame in the video.
     *
     * @return the 0-based frame number
     */
    public int index() {
        return index;
    }

    /**
     * The frame rate of the video this frame belongs to.
     *
     * @return frames per second, positive
     */
    public double fps() {
        return fps;
    }

    /**
     * When this frame is shown, from the start of the video.
     *
     * @return the presentation time, {@code index / fps} seconds rounded to the nanosecond
     */
    public Duration timestamp() {
        return Duration.ofNanos(Math.round(index * 1e9 / fps));
    }

    /**
     * The picture.
     *
     * @return the image: its size, its pixels ({@link RgbImage#pixels()} without copying,
     *         {@link RgbImage#rgb(int, int)} one by one) and conversions
     */
    public RgbImage image() {
        return image;
    }

    /**
     * The width, the same as {@code image().width()}.
     *
     * @return width in pixels
     */
    public int width() {
        return image.width();
    }

    /**
     * The height, the same as {@code image().height()}.
     *
     * @return height in pixels
     */
    public int height() {
        return image.height();
    }

    /**
     * The part of the pushed speech this frame shows, for the frames of a {@link LiveSession}.
     *
     * @return the span of a live session's speaking frame; empty for an idle frame (no speech was
     *         queued: the avatar listens, blinks and breathes) and for the frames of a
     *         {@link Generation}, whose frame {@code i} shows the speech at {@link #timestamp()}
     */
    public java.util.Optional<SpeechSpan> speech() {
        return java.util.Optional.ofNullable(speech);
    }

    /** A frame over {@code rgb} without copying it: the caller hands the array over (the engine's frames). */
    static Frame adopt(int index, double fps, int width, int height, byte[] rgb) {
        return new Frame(index, fps, RgbImage.ofOwned(width, height, rgb), rgb, null);
    }

    /** {@link #adopt(int, double, int, int, byte[])} of a live session's frame, showing {@code speech} (null: idle). */
    static Frame adopt(int index, double fps, int width, int height, byte[] rgb, SpeechSpan speech) {
        return new Frame(index, fps, RgbImage.ofOwned(width, height, rgb), rgb, speech);
    }

    /**
     * The pixel array itself, not a copy: for the SDK's own buffer recycling
     * ({@link PipelinedFrameSink}); null for a frame made with the public constructor.
     */
    byte[] buffer() {
        return rgb;
    }

    @Override
    public String toString() {
        return "Frame[" + index + ", " + width() + "x" + height() + (speech == null ? "" : ", speech "
                + speech.start() + ".." + speech.end()) + "]";
    }
}
