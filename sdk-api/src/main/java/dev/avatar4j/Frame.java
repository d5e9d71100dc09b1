package dev.avatar4j;

import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;

/**
 * One final video frame: packed 8-bit RGB, row-major, no padding. Immutable; safe to keep and to
 * pass between threads.
 */
public final class Frame {
    private final int index;
    private final double fps;
    private final int width;
    private final int height;
    private final byte[] rgb;

    /**
     * @param index  0-based frame number in the video
     * @param fps    frame rate of the video
     * @param width  width in pixels
     * @param height height in pixels
     * @param rgb    {@code width*height*3} bytes; copied
     */
    public Frame(int index, double fps, int width, int height, byte[] rgb) {
        this(index, fps, width, height, Objects.requireNonNull(rgb, "rgb"), true);
    }

    private Frame(int index, double fps, int width, int height, byte[] rgb, boolean copy) {
        if (index < 0 || width <= 0 || height <= 0 || fps <= 0) {
            throw new IllegalArgumentException("bad frame geometry: index " + index + ", " + width + "x" + height
                    + " @ " + fps + " fps");
        }
        if (rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("expected " + (long) width * height * 3 + " RGB bytes, got " + rgb.length);
        }
        this.index = index;
        this.fps = fps;
        this.width = width;
        this.height = height;
        this.rgb = copy ? rgb.clone() : rgb;
    }

    public int index() {
        return index;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    public double fps() {
        return fps;
    }

    /** Presentation time of this frame: {@code index / fps}. */
    public Duration timestamp() {
        return Duration.ofNanos(Math.round(index * 1e9 / fps));
    }

    /** Read-only view of the packed RGB bytes. */
    public ByteBuffer rgb() {
        return ByteBuffer.wrap(rgb).asReadOnlyBuffer();
    }

    /** A copy of the packed RGB bytes. */
    public byte[] toRgbArray() {
        return rgb.clone();
    }

    /** Red, green, blue of pixel (x, y) packed as {@code 0xRRGGBB}. */
    public int rgbAt(int x, int y) {
        int i = (y * width + x) * 3;
        return (rgb[i] & 0xff) << 16 | (rgb[i + 1] & 0xff) << 8 | (rgb[i + 2] & 0xff);
    }

    /** The frame as a new {@link BufferedImage#TYPE_INT_RGB} image. */
    public BufferedImage toBufferedImage() {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                row[x] = rgbAt(x, y);
            }
            img.setRGB(0, y, width, 1, row, 0, width);
        }
        return img;
    }

    /** A frame over {@code rgb} without copying it: the caller hands the array over (the engine's frames). */
    static Frame adopt(int index, double fps, int width, int height, byte[] rgb) {
        return new Frame(index, fps, width, height, rgb, false);
    }

    /** The array itself, not a copy: for the SDK's own buffer recycling ({@link PipelinedFrameSink}). */
    byte[] buffer() {
        return rgb;
    }

    @Override
    public String toString() {
        return "Frame[" + index + ", " + width + "x" + height + "]";
    }
}
