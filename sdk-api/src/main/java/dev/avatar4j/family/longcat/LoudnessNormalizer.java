package dev.avatar4j.family.longcat;

/**
 * ITU-R BS.1770 integrated loudness and the loudness normalisation that LongCat-Video-Avatar applies
 * to its speech before feature extraction (docs/REFERENCE.md §3 "Audio, v1.5", step 1), computed
 * as pyloudnorm's {@code Meter(rate).integrated_loudness} and {@code normalize.loudness} do:
 * <ol>
 *   <li>K-weighting: a high shelf (G = +4 dB, Q = 1/√2, f_c = 1500 Hz) then a high pass
 *       (Q = 0.5, f_c = 38 Hz), both biquads designed at the signal's <em>actual</em> sample rate
 *       with pyloudnorm's formulas (not the 48 kHz coefficient table of the standard);</li>
 *   <li>mean square of 400 ms blocks with 75 % overlap; block count
 *       {@code round((T − 0.4)/0.1) + 1} (round half to even), block j covering samples
 *       {@code [int(0.4·0.25j·rate), int(0.4·(0.25j + 1)·rate))} (the last may be short but is still
 *       divided by the full block length);</li>
 *   <li>block loudness {@code −0.691 + 10·log10(z_j)}; absolute gate {@code ≥ −70 LUFS}, relative
 *       gate {@code > Γ_r = L(mean of absolutely gated z) − 10}; the result is
 *       {@code −0.691 + 10·log10(mean z over blocks passing both)}, −∞ when none pass.</li>
 * </ol>
 * Normalisation multiplies by {@code 10^((target − L)/20)} without clipping; like the reference it
 * is skipped when {@code |L| > 100} (silence gives −∞). Arithmetic is float64 throughout.
 *
 * <p>Deviation: pyloudnorm raises an error for input shorter than one 400 ms block; LongCat never
 * reaches that case because it pads the audio to at least one 93-frame segment first. Here
 * {@link #integratedLoudness} returns −∞ for such input, so {@link #normalize} leaves it unchanged.
 */
public final class LoudnessNormalizer {

    /** LongCat's target loudness in LUFS. */
    public static final double TARGET_LUFS = -23.0;
    /** |loudness| above which the reference skips normalisation. */
    public static final double SKIP_THRESHOLD = 100.0;

    static final double BLOCK_SECONDS = 0.400;
    static final double OVERLAP_STEP = 0.25;
    private static final double ABSOLUTE_GATE = -70.0;

    private LoudnessNormalizer() {
    }

    /**
     * The normalised biquad coefficients {@code [b0, b1, b2, 1, a1, a2]} of the two K-weighting
     * stages at a sample rate, as pyloudnorm designs them.
     *
     * @param rate sample rate in Hz, &gt; 0
     * @return {@code [shelf, highPass]}, each of 6 values
     */
    public static double[][] kWeighting(int rate) {
        if (rate <= 0) {
            throw new IllegalArgumentException("rate must be > 0, got " + rate);
        }
        return new double[][] {highShelf(rate, 4.0, 1 / Math.sqrt(2), 1500.0), highPass(rate, 0.5, 38.0)};
    }

    private static double[] highShelf(int rate, double gainDb, double q, double fc) {
        double a = Math.pow(10, gainDb / 40.0);
        double w0 = 2.0 * Math.PI * (fc / rate);
        double alpha = Math.sin(w0) / (2.0 * q);
        double cos = Math.cos(w0);
        double sqrtA = Math.sqrt(a);
        double b0 = a * ((a + 1) + (a - 1) * cos + 2 * sqrtA * alpha);
        double b1 = -2 * a * ((a - 1) + (a + 1) * cos);
        double b2 = a * ((a + 1) + (a - 1) * cos - 2 * sqrtA * alpha);
        double a0 = (a + 1) - (a - 1) * cos + 2 * sqrtA * alpha;
        double a1 = 2 * ((a - 1) - (a + 1) * cos);
        double a2 = (a + 1) - (a - 1) * cos - 2 * sqrtA * alpha;
        return new double[] {b0 / a0, b1 / a0, b2 / a0, a0 / a0, a1 / a0, a2 / a0};
    }

    private static double[] highPass(int rate, double q, double fc) {
        double w0 = 2.0 * Math.PI * (fc / rate);
        double alpha = Math.sin(w0) / (2.0 * q);
        double cos = Math.cos(w0);
        double b0 = (1 + cos) / 2;
        double b1 = -(1 + cos);
        double b2 = (1 + cos) / 2;
        double a0 = 1 + alpha;
        double a1 = -2 * cos;
        double a2 = 1 - alpha;
        return new double[] {b0 / a0, b1 / a0, b2 / a0, a0 / a0, a1 / a0, a2 / a0};
    }

    /** Biquad in transposed direct form II (as scipy.signal.lfilter), zero initial state, in place. */
    private static void biquad(double[] x, double[] c) {
        double b0 = c[0];
        double b1 = c[1];
        double b2 = c[2];
        double a1 = c[4];
        double a2 = c[5];
        double z1 = 0;
        double z2 = 0;
        for (int i = 0; i < x.length; i++) {
            double in = x[i];
            double out = b0 * in + z1;
            z1 = b1 * in - a1 * out + z2;
            z2 = b2 * in - a2 * out;
            x[i] = out;
        }
    }

    /**
     * Integrated loudness of a mono signal.
     *
     * @param samples mono samples in [−1, 1] (not modified)
     * @param rate sample rate in Hz
     * @return loudness in LUFS; {@code −∞} for silence or input shorter than one 400 ms block
     */
    public static double integratedLoudness(float[] samples, int rate) {
        double[][] k = kWeighting(rate);
        int n = samples.length;
        if (n < BLOCK_SECONDS * rate) {
            return Double.NEGATIVE_INFINITY;
        }
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            y[i] = samples[i];
        }
        biquad(y, k[0]);
        biquad(y, k[1]);
        double duration = (double) n / rate;
        int blocks = (int) Math.rint((duration - BLOCK_SECONDS) / (BLOCK_SECONDS * OVERLAP_STEP)) + 1;
        double[] z = new double[blocks];
        double norm = 1.0 / (BLOCK_SECONDS * rate);
        for (int j = 0; j < blocks; j++) {
            int lo = (int) (BLOCK_SECONDS * (j * OVERLAP_STEP) * rate);
            int hi = Math.min(n, (int) (BLOCK_SECONDS * (j * OVERLAP_STEP + 1) * rate));
            double sum = 0;
            for (int i = lo; i < hi; i++) {
                sum += y[i] * y[i];
            }
            z[j] = norm * sum;
        }
        return gated(z);
    }

    /**
     * The gated integrated loudness of block mean squares {@code z} (step 3 above); shared by the
     * whole-array measurement and {@link LoudnessMeter}, so both gate identically.
     */
    static double gated(double[] z) {
        double absSum = 0;
        int absCount = 0;
        for (double zj : z) {
            if (blockLoudness(zj) >= ABSOLUTE_GATE) {
                absSum += zj;
                absCount++;
            }
        }
        if (absCount == 0) {
            return Double.NEGATIVE_INFINITY;
        }
        double relativeGate = blockLoudness(absSum / absCount) - 10.0;
        double sum = 0;
        int count = 0;
        for (double zj : z) {
            double l = blockLoudness(zj);
            if (l > relativeGate && l > ABSOLUTE_GATE) {
                sum += zj;
                count++;
            }
        }
        return count == 0 ? Double.NEGATIVE_INFINITY : blockLoudness(sum / count);
    }

    /**
     * The gain {@link #normalize} multiplies by: {@code 10^((target − L)/20)}, or exactly 1 when the
     * reference skips normalisation ({@code |L| > 100}, e.g. silence). Multiplying a float sample by
     * 1.0 and rounding back to float32 returns it unchanged, so applying this gain sample by sample,
     * {@code (float) (gain * x)}, equals {@link #normalize} bit for bit.
     *
     * @param loudness the integrated loudness in LUFS ({@link #integratedLoudness} or {@link LoudnessMeter})
     * @param targetLufs the target
     * @return the gain
     */
    public static double gain(double loudness, double targetLufs) {
        if (!(Math.abs(loudness) <= SKIP_THRESHOLD)) {
            return 1.0;
        }
        return Math.pow(10.0, (targetLufs - loudness) / 20.0);
    }

    private static double blockLoudness(double meanSquare) {
        return -0.691 + 10.0 * Math.log10(meanSquare);
    }

    /**
     * Normalises to a target loudness as LongCat's {@code _loudness_norm} does: unchanged (the same
     * array) when {@code |L| > 100}, otherwise a new array {@code x·10^((target − L)/20)} rounded to
     * float32, not clipped.
     *
     * @param samples mono samples
     * @param rate sample rate in Hz
     * @param targetLufs target loudness (LongCat: {@link #TARGET_LUFS})
     * @return the normalised samples, or {@code samples} itself when skipped
     */
    public static float[] normalize(float[] samples, int rate, double targetLufs) {
        double loudness = integratedLoudness(samples, rate);
        if (!(Math.abs(loudness) <= SKIP_THRESHOLD)) {
            return samples;
        }
        double gain = gain(loudness, targetLufs);
        float[] out = new float[samples.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (gain * samples[i]);
        }
        return out;
    }
}
