package dev.avatar4j.image;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * torch {@code F.interpolate(mode='bicubic', align_corners=False)} on CPU for float32
 * {@code [C, H, W]} (aten UpSampleKernel.cpp, generic N-d kernel), in its arithmetic order:
 * <ul>
 *   <li>{@code scale = in/out} in float32, source index {@code scale·(dst + 0.5) − 0.5} in float64;</li>
 *   <li>{@code i0 = floor(src)}, {@code t = clamp(src − i0, 0, 1)}, cubic convolution weights with
 *       a = −0.75 at distances {@code t+1, t, 1−t, 2−t};</li>
 *   <li>taps {@code i0−1 .. i0+2} clamped to the border (replicate);</li>
 *   <li>no antialiasing, also when downscaling;</li>
 *   <li>for each output pixel, each of the 4 rows is first reduced along W (4 taps, left to
 *       right), then the 4 row sums are combined along H, all in float32.</li>
 * </ul>
 * torch's vectorised CPU build (and the CUDA kernel the reference actually runs, on a bf16 input)
 * round differently, so results agree with torch 1.13 CPU to a few 1e-6, not bit for bit; that is
 * far below what matters here (a wrong kernel constant or pixel alignment shows up at 1e-2).
 */
final class TorchBicubic {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;
    private static final float A = -0.75f;

    private TorchBicubic() {
    }

    /** Per-axis taps: 4 clamped source indices and 4 weights per output index. */
    private record Axis(int[] index, float[] weight) {
    }

    static void resize(MemorySegment src, int channels, int inH, int inW, MemorySegment dst, int outH, int outW) {
        Axis ay = axis(inH, outH);
        Axis ax = axis(inW, outW);
        long inPlane = (long) inH * inW;
        long outPlane = (long) outH * outW;
        for (int c = 0; c < channels; c++) {
            long inBase = c * inPlane;
            long outBase = c * outPlane;
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++) {
                    float out = 0f;
                    for (int j = 0; j < 4; j++) {
                        long rowBase = inBase + (long) ay.index[oy * 4 + j] * inW;
                        float row = src.getAtIndex(F32, rowBase + ax.index[ox * 4]) * ax.weight[ox * 4];
                        for (int i = 1; i < 4; i++) {
                            row += src.getAtIndex(F32, rowBase + ax.index[ox * 4 + i]) * ax.weight[ox * 4 + i];
                        }
                        if (j == 0) {
                            out = row * ay.weight[oy * 4];
                        } else {
                            out += row * ay.weight[oy * 4 + j];
                        }
                    }
                    dst.setAtIndex(F32, outBase + (long) oy * outW + ox, out);
                }
            }
        }
    }

    private static Axis axis(int in, int out) {
        float scale = (float) in / (float) out; // area_pixel_compute_scale<float>
        int[] index = new int[out * 4];
        float[] weight = new float[out * 4];
        for (int o = 0; o < out; o++) {
            // area_pixel_compute_source_index (cubic: no clamp at 0). The 0.5 literals are doubles
            // in aten, and keeping the index in float64 until the fraction is taken matches torch
            // 1.13 CPU to ~1e-6, where an all-float32 index is off by up to 5e-5 when shrinking.
            double real = (double) scale * (o + 0.5) - 0.5;
            int i0 = Math.min((int) Math.floor(real), in - 1);
            float t = (float) Math.min(Math.max(real - i0, 0.0), 1.0);
            float x1 = t + 1.0f;
            float x2 = 1.0f - t;
            weight[o * 4] = cubic2(x1);
            weight[o * 4 + 1] = cubic1(t);
            weight[o * 4 + 2] = cubic1(x2);
            weight[o * 4 + 3] = cubic2(x2 + 1.0f);
            for (int j = 0; j < 4; j++) {
                index[o * 4 + j] = Math.max(Math.min(i0 + j - 1, in - 1), 0);
            }
        }
        return new Axis(index, weight);
    }

    /** |x| ≤ 1 branch of the cubic convolution kernel. */
    private static float cubic1(float x) {
        return ((A + 2) * x - (A + 3)) * x * x + 1;
    }

    /** 1 &lt; |x| &lt; 2 branch of the cubic convolution kernel. */
    private static float cubic2(float x) {
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    }
}
