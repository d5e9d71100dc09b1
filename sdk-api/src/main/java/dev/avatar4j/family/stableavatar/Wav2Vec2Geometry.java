package dev.avatar4j.family.stableavatar;

/**
 * Output length of the wav2vec2 convolutional feature encoder (base-960h): seven 1-D convolutions
 * without padding, kernels (10,3,3,3,3,2,2), strides (5,2,2,2,2,2,2), each mapping a length L to
 * {@code floor((L − k)/s) + 1}. About 50 tokens per second of 16 kHz audio (320 samples per token).
 */
public final class Wav2Vec2Geometry {

    private static final int[] KERNELS = {10, 3, 3, 3, 3, 2, 2};
    private static final int[] STRIDES = {5, 2, 2, 2, 2, 2, 2};

    /** The fewest samples that yield one token (400 = 25 ms). */
    public static final int MIN_SAMPLES = 400;

    private Wav2Vec2Geometry() {
    }

    /**
     * Number of encoder tokens L for a slice of {@code samples} samples; 51840 → 161,
     * 53760 → 167, 39040 → 121.
     *
     * @param samples slice length, ≥ 0
     * @return L, or 0 when the slice is shorter than {@link #MIN_SAMPLES}: some convolution would
     *     see an input shorter than its kernel, which torch rejects, so callers must not run the
     *     encoder (and should pad or merge such a slice)
     * @throws IllegalArgumentException if samples is negative
     */
    public static int tokenCount(long samples) {
        if (samples < 0) {
            throw new IllegalArgumentException("negative sample count " + samples);
        }
        long len = samples;
        for (int layer = 0; layer < KERNELS.length; layer++) {
            if (len < KERNELS[layer]) {
                return 0;
            }
            len = (len - KERNELS[layer]) / STRIDES[layer] + 1;
        }
        return Math.toIntExact(len);
    }
}
