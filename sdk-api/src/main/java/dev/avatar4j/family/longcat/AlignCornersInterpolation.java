package dev.avatar4j.family.longcat;

/**
 * Linear interpolation along time with {@code align_corners=True}, as PyTorch's CPU
 * {@code F.interpolate(x, size=out, mode='linear', align_corners=True)} computes it in float32:
 * {@code scale = (in − 1)/(out − 1)} (0 when out = 1), {@code src = scale·i}, {@code i0 = floor(src)},
 * {@code λ = src − i0}, {@code y_i = (1 − λ)·x_{i0} + λ·x_{min(i0+1, in−1)}}. The first row is
 * copied exactly; the last one only up to the float32 rounding of {@code scale·(out − 1)}, exactly as
 * in PyTorch (λ can come out as 0.99999… instead of 0 at the last input row). LongCat uses it to bring the Whisper encoder's 50 Hz states to the
 * 25 fps video rate (docs/REFERENCE.md §3 "Audio, v1.5", step 6).
 */
public final class AlignCornersInterpolation {

    private AlignCornersInterpolation() {
    }

    /**
     * Interpolates a row-major {@code [in][dim]} sequence to {@code [out][dim]}.
     *
     * @param x input, {@code in·dim} floats, time-major
     * @param in number of input rows, at least 1
     * @param dim floats per row, at least 1
     * @param out number of output rows, at least 1
     * @return {@code out·dim} floats
     */
    public static float[] resample(float[] x, int in, int dim, int out) {
        if (in < 1 || dim < 1 || out < 1) {
            throw new IllegalArgumentException("in, dim and out must be >= 1, got " + in + ", " + dim + ", " + out);
        }
        if ((long) in * dim != x.length) {
            throw new IllegalArgumentException("x holds " + x.length + " floats, expected " + (long) in * dim);
        }
        float[] y = new float[Math.multiplyExact(out, dim)];
        float scale = out > 1 ? (float) (in - 1) / (float) (out - 1) : 0f;
        for (int i = 0; i < out; i++) {
            float src = scale * (float) i;
            int i0 = Math.min((int) Math.floor(src), in - 1);
            int i1 = Math.min(i0 + 1, in - 1);
            float lambda = Math.min(Math.max(src - (float) i0, 0f), 1f);
            float w0 = 1f - lambda;
            int a = i0 * dim;
            int b = i1 * dim;
            int o = i * dim;
            for (int d = 0; d < dim; d++) {
                y[o + d] = w0 * x[a + d] + lambda * x[b + d];
            }
        }
        return y;
    }
}
