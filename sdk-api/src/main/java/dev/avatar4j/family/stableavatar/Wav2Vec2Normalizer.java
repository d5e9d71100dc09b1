package dev.avatar4j.family.stableavatar;

/**
 * The normalisation of HF {@code Wav2Vec2FeatureExtractor} with {@code do_normalize=true}
 * (transformers 4.51.3, docs/REFERENCE.md §4.2), applied per audio slice:
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
        // Σ (x − mean)² in numpy's summation order, squaring on the fly instead of materialising the
        // float32 array numpy builds: every term is the same float32 (Java never fuses into an FMA),
        // so the sum is bit-identical without allocating and filling n floats per call.
        float var = numpySumSq(src, from, n, mean) / count;
        float denom = (float) Math.sqrt((double) var + EPSILON);
        // Copy, then divide in place with one index: C2 vectorises a[i] = (a[i] − mean) / denom, but
        // not dst[o + i] = (src[f + i] − mean) / denom, where it cannot rule out an overlapping
        // shifted range (about 10× slower on a 30 s clip). Same float32 subtraction and division per
        // element, so the result is unchanged bit for bit (numpy divides, too; a multiplication by
        // 1/denom would not be exact).
        if (src != dst || from != dstOffset) {
            System.arraycopy(src, from, dst, dstOffset, n);
        }
        int end = dstOffset + n;
        for (int i = dstOffset; i < end; i++) {
            dst[i] = (dst[i] - mean) / denom;
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

    /** {@link #numpySum} of {@code (a[i] − mean)²} without materialising the squares. */
    static float numpySumSq(float[] a, int from, int n, float mean) {
        float total = 0f;
        for (int off = 0; off < n; off += NUMPY_BUFFER) {
            total += pairwiseSumSq(a, from + off, Math.min(NUMPY_BUFFER, n - off), mean);
        }
        return total;
    }

    /** {@link #pairwiseSum} of the squared deviations, term for term the same float32 operations. */
    private static float pairwiseSumSq(float[] a, int from, int n, float mean) {
        if (n < 8) {
            float res = 0f;
            for (int i = 0; i < n; i++) {
                res += sq(a[from + i] - mean);
            }
            return res;
        } else if (n <= PAIRWISE_BLOCK) {
            float r0 = sq(a[from] - mean);
            float r1 = sq(a[from + 1] - mean);
            float r2 = sq(a[from + 2] - mean);
            float r3 = sq(a[from + 3] - mean);
            float r4 = sq(a[from + 4] - mean);
            float r5 = sq(a[from + 5] - mean);
            float r6 = sq(a[from + 6] - mean);
            float r7 = sq(a[from + 7] - mean);
            int i;
            int limit = n - (n % 8);
            for (i = 8; i < limit; i += 8) {
                int p = from + i;
                r0 += sq(a[p] - mean);
                r1 += sq(a[p + 1] - mean);
                r2 += sq(a[p + 2] - mean);
                r3 += sq(a[p + 3] - mean);
                r4 += sq(a[p + 4] - mean);
                r5 += sq(a[p + 5] - mean);
                r6 += sq(a[p + 6] - mean);
                r7 += sq(a[p + 7] - mean);
            }
            float res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
            for (; i < n; i++) {
                res += sq(a[from + i] - mean);
            }
            return res;
        } else {
            int n2 = n / 2;
            n2 -= n2 % 8;
            return pairwiseSumSq(a, from, n2, mean) + pairwiseSumSq(a, from + n2, n - n2, mean);
        }
    }

    private static float sq(float d) {
        return d * d;
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
