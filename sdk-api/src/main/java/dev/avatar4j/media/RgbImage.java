package dev.avatar4j.media;

import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.util.Objects;

/** An immutable image of packed 8-bit RGB pixels, row-major, no padding. */
public final class RgbImage {
    private final int width;
    private final int height;
    private final byte[] rgb;

    private RgbImage(int width, int height, byte[] rgb) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("expected " + (long) width * height * 3 + " RGB bytes, got " + rgb.length);
        }
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /**
     * An image holding a copy of {@code rgb}, so later changes to the array do not affect it.
     *
     * @param width width in pixels, positive
     * @param height height in pixels, positive
     * @param rgb packed 8-bit RGB pixels, row-major without padding: exactly
     *            {@code width * height * 3} bytes; not null
     * @return the new image
     * @throws IllegalArgumentException if a size is not positive or {@code rgb} has the wrong length
     * @throws NullPointerException if {@code rgb} is null
     */
    public static RgbImage of(int width, int height, byte[] rgb) {
        return new RgbImage(width, height, Objects.requireNonNull(rgb, "rgb").clone());
    }

    /**
     * An image over {@code rgb} without copying it. The caller hands the array over and must not
     * modify it afterwards (decoders use this to avoid one copy per image).
     *
     * @param width width in pixels, positive
     * @param height height in pixels, positive
     * @param rgb packed 8-bit RGB pixels, row-major without padding: exactly
     *            {@code width * height * 3} bytes; not null, and owned by the image from now on
     * @return the new image, backed by {@code rgb}
     * @throws IllegalArgumentException if a size is not positive or {@code rgb} has the wrong length
     * @throws NullPointerException if {@code rgb} is null
     */
    public static RgbImage ofOwned(int width, int height, byte[] rgb) {
        return new RgbImage(width, height, Objects.requireNonNull(rgb, "rgb"));
    }

    /**
     * Converts any {@link BufferedImage} to 8-bit sRGB (alpha is dropped, not composited onto a
     * background). The pixels are copied.
     *
     * @param img the image, of any type; not null
     * @return a new image of the same size
     * @throws NullPointerException if {@code img} is null
     * @throws ArithmeticException if {@code width * height * 3} overflows an {@code int}
     */
    public static RgbImage fromBufferedImage(BufferedImage img) {
        Objects.requireNonNull(img, "img");
        int w = img.getWidth();
        int h = img.getHeight();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int p = row[x];
                int i = (y * w + x) * 3;
                out[i] = (byte) (p >> 16);
                out[i + 1] = (byte) (p >> 8);
                out[i + 2] = (byte) p;
            }
        }
        return new RgbImage(w, h, out);
    }

    /**
     * The width.
     *
     * @return width in pixels, at least 1
     */
    public int width() {
        return width;
    }

    /**
     * The height.
     *
     * @return height in pixels, at least 1
     */
    public int height() {
        return height;
    }

    /**
     * One pixel.
     *
     * @param x column, 0 (left) to {@code width() - 1}
     * @param y row, 0 (top) to {@code height() - 1}
     * @return the pixel as {@code 0xRRGGBB} (the top byte is 0)
     * @throws IndexOutOfBoundsException if {@code x} or {@code y} is outside the image
     */
    public int rgb(int x, int y) {
        Objects.checkIndex(x, width);
        Objects.checkIndex(y, height);
        int i = (y * width + x) * 3;
        return (rgb[i] & 0xff) << 16 | (rgb[i + 1] & 0xff) << 8 | (rgb[i + 2] & 0xff);
    }

    /**
     * One channel of one pixel.
     *
     * @param x column, 0 (left) to {@code width() - 1}
     * @param y row, 0 (top) to {@code height() - 1}
     * @param c channel: 0 = red, 1 = green, 2 = blue
     * @return the channel value, 0..255
     * @throws IndexOutOfBoundsException if {@code x}, {@code y} or {@code c} is out of range
     */
    public int channel(int x, int y, int c) {
        Objects.checkIndex(x, width);
        Objects.checkIndex(y, height);
        Objects.checkIndex(c, 3);
        return rgb[(y * width + x) * 3 + c] & 0xff;
    }

    /**
     * The pixels without copying them.
     *
     * @return a read-only buffer over the packed RGB bytes ({@code width * height * 3}, row-major),
     *         positioned at 0
     */
    public ByteBuffer pixels() {
        return ByteBuffer.wrap(rgb).asReadOnlyBuffer();
    }

    /**
     * The pixels as a new array.
     *
     * @return a copy of the packed RGB bytes ({@code width * height * 3}, row-major), free to modify
     */
    public byte[] toRgbArray() {
        return rgb.clone();
    }

    /**
     * Converts to AWT.
     *
     * @return a new {@link BufferedImage#TYPE_INT_RGB} image of the same size and pixels
     */
    public BufferedImage toBufferedImage() {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                row[x] = rgb(x, y);
            }
            img.setRGB(0, y, width, 1, row, 0, width);
        }
        return img;
    }

    /** Images are equal when they have the same size and pixels. */
    @Override
    public boolean equals(Object o) {
        return o instanceof RgbImage r && r.width == width && r.height == height && java.util.Arrays.equals(r.rgb, rgb);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + java.util.Arrays.hashCode(rgb);
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + "]";
    }
}
