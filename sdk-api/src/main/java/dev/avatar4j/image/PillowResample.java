package dev.avatar4j.image;

import dev.avatar4j.media.RgbImage;
/**
 * Pillow's {@code Image.resize} with the BICUBIC filter for 8-bit RGB, reproduced exactly
 * (libImaging/Resample.c, unchanged in substance since Pillow 7): a separable convolution,
 * horizontal pass first, each pass rounding back to uint8.
 * <ul>
 *   <li>Cubic kernel with a = −0.5 (not the −0.75 of torch/OpenCV), support 2.</li>
 *   <li>When downscaling by s &gt; 1 the kernel is stretched by s (support 2s), i.e. antialiased.</li>
 *   <li>Output pixel x samples around {@code center = (x + 0.5)·scale}; the taps are
 *       {@code [int(center − support + 0.5), int(center + support + 0.5))} clipped to the image;
 *       the weights are normalised to sum 1 over the taps that exist.</li>
 *   <li>Weights become 22-bit fixed point, rounded half away from zero; each pass accumulates in
 *       int32 starting from 0.5 (rounding), shifts right by 22 and clamps to [0, 255].</li>
 *   <li>A dimension whose size does not change is not filtered at all.</li>
 * </ul>
 */
final class PillowResample {

    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double SUPPORT = 2.0;

    private PillowResample() {
    }

    /** Taps of one pass: for each output index, the first input index, tap count and fixed-point weights. */
    private record Coefficients(int[] first, int[] count, int[][] weights) {
    }

    static RgbImage resize(RgbImage src, int width, int height) {
        byte[] in = src.toRgbArray();
        int w = src.width();
        int h = src.height();
        if (width != w) {
            in = horizontal(in, w, h, width, coefficients(w, width));
            w = width;
        }
        if (height != h) {
            in = vertical(in, w, h, height, coefficients(h, height));
        }
        return RgbImage.ofOwned(width, height, in);
    }

    /** Pillow's cubic with a = −0.5. */
    private static double bicubic(double x) {
        final double a = -0.5;
        if (x < 0.0) {
            x = -x;
        }
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /** precompute_coeffs + normalize_coeffs_8bpc for the full box [0, inSize). */
    private static Coefficients coefficients(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = SUPPORT * filterScale;
        int[] first = new int[outSize];
        int[] count = new int[outSize];
        int[][] weights = new int[outSize][];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            // (int) truncates toward zero like C; the +0.5 rounds the positive case.
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            double[] k = new double[xmax];
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                double wgt = bicubic((x + xmin - center + 0.5) * ss);
                k[x] = wgt;
                ww += wgt;
            }
            int[] fixed = new int[xmax];
            for (int x = 0; x < xmax; x++) {
                double v = ww != 0.0 ? k[x] / ww : k[x];
                fixed[x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS))
                                 : (int) (0.5 + v * (1 << PRECISION_BITS));
            }
            first[xx] = xmin;
            count[xx] = xmax;
            weights[xx] = fixed;
        }
        return new Coefficients(first, count, weights);
    }

    private static int clip8(int acc) {
        int v = acc >> PRECISION_BITS; // arithmetic shift = floor, as in Pillow
        return v < 0 ? 0 : Math.min(v, 255);
    }

    private static byte[] horizontal(byte[] in, int w, int h, int outW, Coefficients co) {
        byte[] out = new byte[outW * h * 3];
        for (int y = 0; y < h; y++) {
            int row = y * w * 3;
            for (int xx = 0; xx < outW; xx++) {
                int[] k = co.weights[xx];
                int base = row + co.first[xx] * 3;
                int s0 = 1 << (PRECISION_BITS - 1);
                int s1 = s0;
                int s2 = s0;
                for (int x = 0; x < co.count[xx]; x++) {
                    int p = base + x * 3;
                    s0 += (in[p] & 0xFF) * k[x];
                    s1 += (in[p + 1] & 0xFF) * k[x];
                    s2 += (in[p + 2] & 0xFF) * k[x];
                }
                int o = (y * outW + xx) * 3;
                out[o] = (byte) clip8(s0);
                out[o + 1] = (byte) clip8(s1);
                out[o + 2] = (byte) clip8(s2);
            }
        }
        return out;
    }

    private static byte[] vertical(byte[] in, int w, int h, int outH, Coefficients co) {
        byte[] out = new byte[w * outH * 3];
        int stride = w * 3;
        for (int yy = 0; yy < outH; yy++) {
            int[] k = co.weights[yy];
            int firstRow = co.first[yy];
            for (int x = 0; x < w; x++) {
                int s0 = 1 << (PRECISION_BITS - 1);
                int s1 = s0;
                int s2 = s0;
                for (int y = 0; y < co.count[yy]; y++) {
                    int p = (firstRow + y) * stride + x * 3;
                    s0 += (in[p] & 0xFF) * k[y];
                    s1 += (in[p + 1] & 0xFF) * k[y];
                    s2 += (in[p + 2] & 0xFF) * k[y];
                }
                int o = (yy * w + x) * 3;
                out[o] = (byte) clip8(s0);
                out[o + 1] = (byte) clip8(s1);
                out[o + 2] = (byte) clip8(s2);
            }
        }
        return out;
    }
}
