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

    /** An image holding a copy of {@code rgb} ({@code width*height*3} bytes). */
    public static RgbImage of(int width, int height, byte[] rgb) {
        return new RgbImage(width, height, Objects.requireNonNull(rgb, "rgb").clone());
    }

    /**
     * An image over {@code rgb} without copying it. The caller hands the array over and must not
     * modify it afterwards (decoders use this to avoid one copy per image).
     */
    public static RgbImage ofOwned(int width, int height, byte[] rgb) {
        return new RgbImage(width, height, Objects.requireNonNull(rgb, "rgb"));
    }

    /** Converts any {@link BufferedImage} (alpha is dropped, not composited). */
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

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** Pixel (x, y) as {@code 0xRRGGBB}. */
    public int rgb(int x, int y) {
        Objects.checkIndex(x, width);
        Objects.checkIndex(y, height);
        int i = (y * width + x) * 3;
        return (rgb[i] & 0xff) << 16 | (rgb[i + 1] & 0xff) << 8 | (rgb[i + 2] & 0xff);
    }

    /** Channel {@code c} (0 = R, 1 = G, 2 = B) of pixel (x, y), 0..255. */
    public int channel(int x, int y, int c) {
        Objects.checkIndex(x, width);
        Objects.checkIndex(y, height);
        Objects.checkIndex(c, 3);
        return rgb[(y * width + x) * 3 + c] & 0xff;
    }

    /** Read-only view of the packed RGB bytes. */
    public ByteBuffer pixels() {
        return ByteBuffer.wrap(rgb).asReadOnlyBuffer();
    }

    /** A copy of the packed RGB bytes. */
    public byte[] toRgbArray() {
        return rgb.clone();
    }

    /** The image as a new {@link BufferedImage#TYPE_INT_RGB}. */
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
