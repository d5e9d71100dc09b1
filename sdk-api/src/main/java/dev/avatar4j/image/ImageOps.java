package dev.avatar4j.image;

import dev.avatar4j.media.RgbImage;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The reference's image arithmetic (docs/REFERENCE.md §1.2, §1.7): resizing the reference
 * image, mapping pixels to and from [−1, 1], and CLIP preprocessing.
 */
public final class ImageOps {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    /**
     * The published CLIP ViT-H/14's input side. Engines read the side from the image-encoder graph's
     * {@code pixel_values} input and call {@link #clipPreprocess(MemorySegment, int, int, int, MemorySegment)}.
     */
    public static final int CLIP_SIZE = 224;

    /** OpenAI CLIP per-channel mean (R, G, B), as float32 like torchvision's Normalize. */
    private static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};

    /** OpenAI CLIP per-channel standard deviation (R, G, B). */
    private static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    private ImageOps() {
    }

    /**
     * Resizes exactly like Pillow's {@code Image.resize((w, h))} on an RGB image, whose default
     * filter since Pillow 7 is BICUBIC: cubic kernel a = −0.5, antialiased (kernel stretched) when
     * downscaling, separable with a horizontal then a vertical uint8 pass. The aspect ratio is not
     * preserved, as in the reference. Returns {@code src} itself when the size is unchanged.
     *
     * @param src source image
     * @param width target width, ≥ 1
     * @param height target height, ≥ 1
     * @return the resized image
     * @throws IllegalArgumentException if a size is &lt; 1
     */
    public static RgbImage resize(RgbImage src, int width, int height) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("target size must be >= 1x1, got " + width + "x" + height);
        }
        if (width == src.width() && height == src.height()) {
            return src;
        }
        return PillowResample.resize(src, width, height);
    }

    /**
     * Writes the image as a float32 {@code [3, H, W]} tensor in [−1, 1]:
     * {@code x/255·2 − 1}, which in float32 equals the reference's {@code (x/255 − 0.5)·2}.
     *
     * @param img the image
     * @param dstCHW destination, at least {@code 3·H·W} floats
     */
    public static void toSignedUnit(RgbImage img, MemorySegment dstCHW) {
        int w = img.width();
        int h = img.height();
        long plane = (long) w * h;
        requireFloats(dstCHW, 3 * plane, "dstCHW");
        var px = img.pixels();
        for (int i = 0; i < plane; i++) {
            for (int c = 0; c < 3; c++) {
                float v = (px.get(i * 3 + c) & 0xFF) / 255f;
                dstCHW.setAtIndex(F32, c * plane + i, v * 2f - 1f);
            }
        }
    }

    /**
     * The inverse mapping of the reference's output path for a float32 {@code [3, H, W]} frame in
     * [−1, 1], pixel by pixel with {@link #toUint8(float)}.
     *
     * @param srcCHW source, {@code 3·H·W} floats
     * @param width W
     * @param height H
     * @return the image
     */
    public static RgbImage fromSignedUnit(MemorySegment srcCHW, int width, int height) {
        long plane = (long) width * height;
        requireFloats(srcCHW, 3 * plane, "srcCHW");
        byte[] out = new byte[Math.toIntExact(3 * plane)];
        for (int i = 0; i < plane; i++) {
            for (int c = 0; c < 3; c++) {
                out[i * 3 + c] = toUint8(srcCHW.getAtIndex(F32, c * plane + i));
            }
        }
        return RgbImage.ofOwned(width, height, out);
    }

    /**
     * CLIP preprocessing of the reference image as Wan's {@code CLIPModel.visual} does it: torch
     * bicubic interpolation (a = −0.75, {@code align_corners=False}, border clamp, no antialias,
     * also when shrinking) to 224×224, then {@code x·0.5 + 0.5}, then
     * {@code (x − mean_c)/std_c} with the OpenAI CLIP constants, all in float32.
     *
     * @param srcCHWSignedUnit float32 {@code [3, h, w]} image in [−1, 1]
     * @param h source height
     * @param w source width
     * @param dst224 destination, float32 {@code [3, 224, 224]}
     */
    public static void clipPreprocess(MemorySegment srcCHWSignedUnit, int h, int w, MemorySegment dst224) {
        clipPreprocess(srcCHWSignedUnit, h, w, CLIP_SIZE, dst224);
    }

    /**
     * CLIP preprocessing as {@link #clipPreprocess(MemorySegment, int, int, MemorySegment)}, to a
     * {@code size}×{@code size} input (the image-encoder graph's side; the aspect ratio is not kept,
     * as in the reference).
     *
     * @param srcCHWSignedUnit float32 {@code [3, h, w]} image in [−1, 1]
     * @param h    source height
     * @param w    source width
     * @param size the CLIP input side, at least 1
     * @param dst  destination, float32 {@code [3, size, size]}
     */
    public static void clipPreprocess(MemorySegment srcCHWSignedUnit, int h, int w, int size, MemorySegment dst) {
        if (h < 1 || w < 1) {
            throw new IllegalArgumentException("source size must be >= 1x1, got " + w + "x" + h);
        }
        if (size < 1) {
            throw new IllegalArgumentException("CLIP input size must be >= 1, got " + size);
        }
        requireFloats(srcCHWSignedUnit, 3L * h * w, "srcCHWSignedUnit");
        long plane = (long) size * size;
        requireFloats(dst, 3 * plane, "dst");
        TorchBicubic.resize(srcCHWSignedUnit, 3, h, w, dst, size, size);
        for (int c = 0; c < 3; c++) {
            float mean = CLIP_MEAN[c];
            float std = CLIP_STD[c];
            for (long i = c * plane, end = (c + 1) * plane; i < end; i++) {
                float x = dst.getAtIndex(F32, i) * 0.5f + 0.5f;
                dst.setAtIndex(F32, i, (x - mean) / std);
            }
        }
    }

    /**
     * Convenience: {@link #clipPreprocess} into a newly allocated segment of the given arena.
     *
     * @param srcCHWSignedUnit float32 {@code [3, h, w]} image in [−1, 1]
     * @param h source height
     * @param w source width
     * @param arena where to allocate the {@code [3, 224, 224]} result
     * @return the preprocessed tensor
     */
    public static MemorySegment clipPreprocess(MemorySegment srcCHWSignedUnit, int h, int w, Arena arena) {
        MemorySegment dst = arena.allocate(3L * CLIP_SIZE * CLIP_SIZE * Float.BYTES, Float.BYTES);
        clipPreprocess(srcCHWSignedUnit, h, w, dst);
        return dst;
    }

    /**
     * The reference's output pixel mapping: {@code (x/2 + 0.5)} clamped to [0, 1], times 255,
     * truncated (numpy {@code astype(uint8)}), all in float32. So 1 → 255, 0.999 → 254, 0 → 127,
     * −1 → 0; NaN → 0.
     *
     * @param signedUnit a decoded sample, nominally in [−1, 1]
     * @return the pixel value as an unsigned byte
     */
    public static byte toUint8(float signedUnit) {
        float u = signedUnit * 0.5f + 0.5f; // × 0.5 is exactly ÷ 2 in binary floating point
        // comparisons rather than Math.min/max (whose NaN and −0 rules cost extra instructions in
        // this per-pixel hot path): NaN fails "> 0" and becomes 0, as the reference's clamp and cast give
        u = u > 0f ? u : 0f;
        u = u < 1f ? u : 1f;
        return (byte) (int) (u * 255f); // (int) truncates toward zero
    }

    private static void requireFloats(MemorySegment seg, long floats, String name) {
        if (seg.byteSize() < floats * Float.BYTES) {
            throw new IllegalArgumentException(
                    name + " holds " + seg.byteSize() + " bytes, need " + floats * Float.BYTES);
        }
    }
}
