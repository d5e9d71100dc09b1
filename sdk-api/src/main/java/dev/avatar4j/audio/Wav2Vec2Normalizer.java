package dev.avatar4j.audio;

/**
 * The normalisation of HF {@code Wav2Vec2FeatureExtractor} with {@code do_normalize=true}
 * (transformers 4.51.3, REFERENCE-ALGORITHMS §4.2), applied per audio slice:
 * {@code x' = (x − mean(x)) / sqrt(var(x) + 1e-7)} with the population variance.
 *
 * <p>The reference evaluates this with numpy 1.x on a float32 array, and this class reproduces it
 * bit for bit rather than merely closely, so that parity tests of the audio encoder start from
 * identical inputs:
 * <ul>
 *   <li>sums are float32, in numpy's order: pairwise summation (8 interleaved accumulators,
 *       128-element leaves) within blocks of 8192 elements, the block sums added left to right
 *       (numpy's reduction buffer size);</li>
 *   <li>{@code mean = sum/n} and {@code var = Σ (x − mean)² / n} in float32;</li>
 *   <li>{@code var + 1e-7} is a float64 scalar in numpy 1.x, so the square root is taken in float64
 *       and rounded to float32 when it divides the float32 array.</li>
 * </ul>
 * A float64 accumulation would differ from the reference by about one float32 ulp on real audio;
 * the model would not notice, but exact inputs make parity failures easy to attribute.
 */
public final class Wav2Vec2Normalizer {

    /** Variance floor of transformers ≥ 4.x (older versions used 1e-5). */
    public static final double EPSILON = 1e-7;

    /** numpy's pairwise-summation leaf size (PW_BLOCKSIZE). */
    private static final int PAIRWISE_BLOCK = 128;

    /** numpy's ufunc reduction buffer size: reductions proceed in chunks of this many elements. */
    private static final int NUMPY_BUFFER = 8192;

    private Wav2Vec2Normalizer() {
    }

    /**
     * Normalises {@code src[from, to)} into {@code dst[dstOffset, dstOffset + (to − from))}.
     * {@code dst} may be {@code src} (in place), provided the ranges start at the same index.
     *
     * @param src raw 16 kHz samples
     * @param from first sample (inclusive)
     * @param to last sample (exclusive)
     * @param dst destination
     * @param dstOffset first destination index
     * @throws IllegalArgumentException if the range is empty
     * @throws IndexOutOfBoundsException if a range lies outside its array
     */
    public static void normalize(float[] src, int from, int to, float[] dst, int dstOffset) {
        int n = to - from;
        if (n <= 0) {
            throw new IllegalArgumentException("cannot normalise an empty audio slice [" + from + ", " + to + ")");
        }
        java.util.Objects.checkFromToIndex(from, to, src.length);
        java.util.Objects.checkFromIndexSize(dstOffset, n, dst.length);
        float count = (float) n; // numpy casts the element count to float32 for the division
        float mean = numpySum(src, from, n) / count;
        float[] sq = new float[n];
        for (int i = 0; i < n; i++) {
            float d = src[from + i] - mean;
            sq[i] = d * d;
        }
        float var = numpySum(sq, 0, n) / count;
        float denom = (float) Math.sqrt((double) var + EPSILON);
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = (src[from + i] - mean) / denom;
        }
    }

    /**
     * Convenience form returning a new array.
     *
     * @param samples raw samples, at least one
     * @return the normalised copy
     * @throws IllegalArgumentException if {@code samples} is empty
     */
    public static float[] normalize(float[] samples) {
        float[] out = new float[samples.length];
        normalize(samples, 0, samples.length, out, 0);
        return out;
    }

    /** float32 {@code np.add.reduce} of a contiguous range: 8192-element chunks, each summed pairwise. */
    static float numpySum(float[] a, int from, int n) {
        float total = 0f;
        for (int off = 0; off < n; off += NUMPY_BUFFER) {
            total += pairwiseSum(a, from + off, Math.min(NUMPY_BUFFER, n - off));
        }
        return total;
    }

    /** numpy's {@code FLOAT_pairwise_sum} (numpy/core/src/umath/loops_utils.h.src). */
    private static float pairwiseSum(float[] a, int from, int n) {
        if (n < 8) {
            float res = 0f;
            for (int i = 0; i < n; i++) {
                res += a[from + i];
            }
            return res;
        } else if (n <= PAIRWISE_BLOCK) {
            float r0 = a[from];
            float r1 = a[from + 1];
            float r2 = a[from + 2];
            float r3 = a[from + 3];
            float r4 = a[from + 4];
            float r5 = a[from + 5];
            float r6 = a[from + 6];
            float r7 = a[from + 7];
            int i;
            int limit = n - (n % 8);
            for (i = 8; i < limit; i += 8) {
                int p = from + i;
                r0 += a[p];
                r1 += a[p + 1];
                r2 += a[p + 2];
                r3 += a[p + 3];
                r4 += a[p + 4];
                r5 += a[p + 5];
                r6 += a[p + 6];
                r7 += a[p + 7];
            }
            float res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
            for (; i < n; i++) {
                res += a[from + i];
            }
            return res;
        } else {
            int n2 = n / 2;
            n2 -= n2 % 8;
            return pairwiseSum(a, from, n2) + pairwiseSum(a, from + n2, n - n2);
        }
    }
}
