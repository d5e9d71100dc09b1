package dev.avatar4j.family.longcat;

/**
 * {@link LoudnessNormalizer#integratedLoudness} measured over a stream: the samples of a track of
 * known length are fed in order, in pieces of any size, and never held. The K-weighting biquads
 * run sample by sample with the same float64 operations in the same order as the whole-array
 * filter, the filtered samples of the last 400 ms are kept in a ring, and each block's sum of
 * squares is taken over that ring in increasing sample order as soon as its last sample has
 * arrived, so the block mean squares, the gating and the result are the whole-array ones bit for
 * bit. Memory: one 400 ms ring plus one double per 100 ms block (2.9 MB for 10 hours at any rate).
 *
 * <p>Not thread-safe.
 */
public final class LoudnessMeter {
    private final int rate;
    private final long total;
    private final double[] shelf;
    private final double[] highPass;
    private final double[] z;
    private final double norm;
    private final double[] ring;
    private double s1z1;
    private double s1z2;
    private double s2z1;
    private double s2z2;
    private long fed;
    private int nextBlock;

    /**
     * A meter for a track of {@code total} samples.
     *
     * @param rate sample rate in Hz, &gt; 0
     * @param total the number of samples that will be fed (the block layout depends on it)
     */
    public LoudnessMeter(int rate, long total) {
        double[][] k = LoudnessNormalizer.kWeighting(rate);
        if (total < 0) {
            throw new IllegalArgumentException("total must be >= 0, got " + total);
        }
        this.rate = rate;
        this.total = total;
        this.shelf = k[0];
        this.highPass = k[1];
        double bs = LoudnessNormalizer.BLOCK_SECONDS;
        if (total < bs * rate) {
            this.z = new double[0]; // shorter than one block: −∞, as the whole-array measurement
        } else {
            double duration = (double) total / rate;
            int blocks = (int) Math.rint((duration - bs) / (bs * LoudnessNormalizer.OVERLAP_STEP)) + 1;
            this.z = new double[blocks];
        }
        this.norm = 1.0 / (bs * rate);
        this.ring = new double[(int) Math.ceil(bs * rate) + 2];
    }

    private long blockStart(int j) {
        return (long) (LoudnessNormalizer.BLOCK_SECONDS * (j * LoudnessNormalizer.OVERLAP_STEP) * rate);
    }

    private long blockEnd(int j) {
        return Math.min(total, (long) (LoudnessNormalizer.BLOCK_SECONDS * (j * LoudnessNormalizer.OVERLAP_STEP + 1)
                * rate));
    }

    /**
     * Feeds the next {@code len} samples.
     *
     * @param x samples
     * @param off first sample
     * @param len count
     * @throws IllegalStateException if more than the announced total is fed
     */
    public void accept(float[] x, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, x.length);
        if (fed + len > total) {
            throw new IllegalStateException("fed " + (fed + len) + " samples to a meter of " + total);
        }
        for (int i = 0; i < len; i++) {
            double in = x[off + i];
            // stage 1: high shelf, transposed direct form II (as LoudnessNormalizer's biquad)
            double o1 = shelf[0] * in + s1z1;
            s1z1 = shelf[1] * in - shelf[4] * o1 + s1z2;
            s1z2 = shelf[2] * in - shelf[5] * o1;
            // stage 2: high pass
            double o2 = highPass[0] * o1 + s2z1;
            s2z1 = highPass[1] * o1 - highPass[4] * o2 + s2z2;
            s2z2 = highPass[2] * o1 - highPass[5] * o2;
            ring[(int) (fed % ring.length)] = o2;
            fed++;
            while (nextBlock < z.length && blockEnd(nextBlock) <= fed) {
                closeBlock(nextBlock++);
            }
        }
    }

    private void closeBlock(int j) {
        long lo = blockStart(j);
        long hi = blockEnd(j);
        double sum = 0;
        for (long i = lo; i < hi; i++) {
            double y = ring[(int) (i % ring.length)];
            sum += y * y;
        }
        z[j] = norm * sum;
    }

    /** {@return the samples fed so far} */
    public long fed() {
        return fed;
    }

    /**
     * The integrated loudness of the whole track.
     *
     * @return loudness in LUFS; {@code −∞} for silence or a track shorter than one 400 ms block
     * @throws IllegalStateException if fewer samples than the announced total were fed
     */
    public double integratedLoudness() {
        if (fed != total) {
            throw new IllegalStateException("fed " + fed + " of the " + total + " samples");
        }
        if (z.length == 0) {
            return Double.NEGATIVE_INFINITY;
        }
        while (nextBlock < z.length) { // blocks that end before they start (none in practice)
            closeBlock(nextBlock++);
        }
        return LoudnessNormalizer.gated(z);
    }
}
