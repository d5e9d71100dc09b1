package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Wav2Vec2NormalizerTest {

    @Test
    void appendixABlockJ() {
        float[] y = Wav2Vec2Normalizer.normalize(new float[] {0f, 0.5f, -0.5f, 1f});
        // numpy prints [-0.44721353  0.44721353 -1.3416406   1.3416406 ]
        float[] expected = {-0.44721353f, 0.44721353f, -1.3416406f, 1.3416406f};
        for (int i = 0; i < 4; i++) {
            assertThat((double) y[i]).isCloseTo(expected[i], within(1e-7));
        }
        assertThat(y).containsExactly(expected); // and in fact bit-exact
    }

    /**
     * Exact signal shared with numpy: a 64-bit LCG (Knuth MMIX constants), top 24 bits as a signed
     * fraction in [-0.5, 0.5), plus a 0.03 DC offset, all exact float32 operations.
     */
    private static float[] signal(int n, long seed) {
        float[] out = new float[n];
        long s = seed;
        for (int i = 0; i < n; i++) {
            s = s * 6364136223846793005L + 1442695040888963407L;
            long k = s >>> 40;
            out[i] = (float) (k - 8388608) * 0x1p-24f + 0.03f;
        }
        return out;
    }

    /** FNV-1a-style 64-bit hash over the float32 bit patterns (same in the generator). */
    private static long hash(float[] y) {
        long h = 1469598103934665603L;
        for (float v : y) {
            h = (h ^ (Float.floatToRawIntBits(v) & 0xFFFFFFFFL)) * 1099511628211L;
        }
        return h;
    }

    /**
     * Golden values from numpy 1.24 on the same signal, {@code (x - x.mean()) / np.sqrt(x.var() + 1e-7)}
     * with x float32, i.e. transformers' {@code zero_mean_unit_var_norm}. Lengths cover numpy's
     * pairwise leaf (128), several 8192-element reduction chunks and real slice sizes (39 040 =
     * the 5 s example's tail, 53 760 = an 84-frame window). The hash makes the check bit-exact over
     * every element; summing in float64 instead breaks it.
     */
    @ParameterizedTest
    @CsvSource({
        "5, 1, -0.846220850944519, 0.6347694396972656, 1.602285385131836, 145863521508076322",
        "8192, 2, 0.9398701190948486, -0.5340735912322998, 1.5649468898773193, 6040502318311901812",
        "39040, 3, -1.3340541124343872, -1.5442440509796143, 0.2705458104610443, 4982893917986269373",
        "53760, 4, -0.1441638171672821, 0.010451520793139935, -0.9397051930427551, 6716919860014106945",
        "100000, 5, 1.0500200986862183, -0.025796324014663696, -1.4443994760513306, -2439017547804635197",
    })
    void bitExactAgainstNumpy(int n, long seed, float first, float middle, float last, long expectedHash) {
        float[] y = Wav2Vec2Normalizer.normalize(signal(n, seed));
        assertThat(y[0]).isEqualTo(first);
        assertThat(y[n / 2]).isEqualTo(middle);
        assertThat(y[n - 1]).isEqualTo(last);
        assertThat(hash(y)).isEqualTo(expectedHash);
    }

    @Test
    void normalisesASubrangeInPlace() {
        float[] x = signal(1000, 9);
        float[] expected = Wav2Vec2Normalizer.normalize(java.util.Arrays.copyOfRange(x, 100, 900));
        Wav2Vec2Normalizer.normalize(x, 100, 900, x, 100);
        assertThat(java.util.Arrays.copyOfRange(x, 100, 900)).containsExactly(expected);
        double mean = 0;
        double sq = 0;
        for (float v : expected) {
            mean += v;
            sq += (double) v * v;
        }
        assertThat(mean / expected.length).isCloseTo(0, within(1e-6));
        assertThat(sq / expected.length).isCloseTo(1, within(1e-4));
    }

    /**
     * Into another array at another offset (the copy-then-divide-in-place path): the same bits as
     * the golden-checked whole-array form, and nothing outside the destination range is touched.
     */
    @Test
    void normalisesASubrangeIntoAnotherArrayAtAnotherOffset() {
        float[] x = signal(60_000, 11);
        float[] expected = Wav2Vec2Normalizer.normalize(java.util.Arrays.copyOfRange(x, 321, 54_081));
        float[] dst = new float[60_000];
        java.util.Arrays.fill(dst, 7f);
        Wav2Vec2Normalizer.normalize(x, 321, 54_081, dst, 1000);
        assertThat(java.util.Arrays.copyOfRange(dst, 1000, 1000 + 53_760)).containsExactly(expected);
        assertThat(java.util.Arrays.copyOfRange(dst, 0, 1000)).containsOnly(7f);
        assertThat(java.util.Arrays.copyOfRange(dst, 1000 + 53_760, 60_000)).containsOnly(7f);
        assertThat(x).containsExactly(signal(60_000, 11)); // the source is left alone
    }

    @Test
    void constantInputBecomesZeroThanksToEpsilon() {
        assertThat(Wav2Vec2Normalizer.normalize(new float[] {0.3f, 0.3f, 0.3f})).containsOnly(0f);
    }

    /**
     * Silence (issue #8: "pure silence gives a calm avatar"): an all-zero window, of the length
     * of a real window's slice, normalises to exactly zero. The reference's
     * {@code (x − mean) / sqrt(var + 1e-7)} divides by {@code sqrt(1e-7)}, never by zero, so no
     * NaN reaches the audio encoder.
     */
    @Test
    void silenceNormalisesToExactZeros() {
        float[] out = Wav2Vec2Normalizer.normalize(new float[84 * 640]);
        assertThat(out).hasSize(84 * 640).containsOnly(0f);
    }

    /** numpy 1.24's output for ±1 LSB dither (see {@link #ditherIsKeptQuietByTheEpsilon()}). */
    private static final float NUMPY_DITHER = 0.096058786f;

    /**
     * Near-silence stays near zero instead of being blown up to unit variance: the epsilon
     * dominates a variance of 16-bit dither. Alternating ±1 LSB has mean 0 and variance
     * 2^-30 exactly, so every output is ±(2^-15) / float32(sqrt(2^-30 + 1e-7)); numpy 1.24 (the
     * reference's 1.x, with the float64 epsilon sum) gives ±0.09605878591537476 (float32) for this input.
     */
    @Test
    void ditherIsKeptQuietByTheEpsilon() {
        float lsb = 1f / 32768;
        float[] x = new float[8192];
        for (int i = 0; i < x.length; i++) {
            x[i] = i % 2 == 0 ? lsb : -lsb;
        }
        float denom = (float) Math.sqrt(Math.pow(2, -30) + 1e-7);
        float expected = lsb / denom;
        float[] out = Wav2Vec2Normalizer.normalize(x);
        assertThat(expected).isEqualTo(NUMPY_DITHER);
        for (int i = 0; i < out.length; i++) {
            assertThat(out[i]).as("sample %d", i).isEqualTo(i % 2 == 0 ? expected : -expected);
        }
    }

    @Test
    void emptySliceIsRejected() {
        assertThatThrownBy(() -> Wav2Vec2Normalizer.normalize(new float[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> Wav2Vec2Normalizer.normalize(new float[4], 2, 2, new float[4], 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Wav2Vec2Normalizer.normalize(new float[4], 0, 4, new float[3], 0))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }

    /**
     * The on-the-fly sum of squared deviations is bit-identical to numpy's order over the
     * materialised float32 squares, for lengths around every leaf and buffer boundary.
     */
    @net.jqwik.api.Property(tries = 200)
    void sumOfSquaresMatchesTheMaterialisedSum(
            @net.jqwik.api.ForAll @net.jqwik.api.constraints.IntRange(min = 1, max = 20_000) int n,
            @net.jqwik.api.ForAll long seed) {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        float[] a = new float[n + 3];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (rnd.nextGaussian() * 0.3);
        }
        int from = 3;
        float mean = Wav2Vec2Normalizer.numpySum(a, from, n) / (float) n;
        float[] sq = new float[n];
        for (int i = 0; i < n; i++) {
            float d = a[from + i] - mean;
            sq[i] = d * d;
        }
        assertThat(Float.floatToRawIntBits(Wav2Vec2Normalizer.numpySumSq(a, from, n, mean)))
                .isEqualTo(Float.floatToRawIntBits(Wav2Vec2Normalizer.numpySum(sq, 0, n)));
    }
}
