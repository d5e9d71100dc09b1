package dev.avatar4j.family.stableavatar;

/**
 * The audio adapter's per-latent-frame token windows, as an index table
 * (docs/REFERENCE.md §1.1 step 7, Appendix A block F; StableAvatar
 * {@code split_audio_sequence} + {@code split_tensor_with_padding(expand_length=4)}).
 *
 * <p>For L encoder tokens and a clip of {@code clipFrames} (81) video frames:
 * <pre>
 * tpf  = L / clipFrames                 (float64)
 * half = int(tpf·4 / 2)
 * c_0  = 0;  c_i = int((tpf·(4(i−1)+1) + tpf·(4i+1)) / 2) − 1     (= int(tpf·(4i−1)) − 1)
 * r_i  = [c_i − half, c_i + half]; r_0 replaced by [r_1.start − 2·half, r_1.start]
 * every r_i widened by 4 on both sides → W = 2·half + 1 + 8 tokens
 * </pre>
 * Row i lists the valid tokens {@code max(start,0) .. min(end,L−1)} in order, then −1 for
 * <em>every</em> missing position, all at the end, even those missing before token 0 (so the
 * first row is left-aligned). That is where the reference appends zeros after the adapter's
 * projection and LayerNorm; a −1 entry means "exact zero vector".
 *
 * <p>The slot count is fixed by {@code clipFrames}, not by the window: the reference always splits
 * into 21 slots, also for a shorter last window (see {@link TailMode}).
 */
public final class AudioTokenIndex {

    /** Tokens added on each side of every range ({@code expand_length}). */
    public static final int EXPAND = 4;

    /** Video frames per latent frame, the factor in {@code tokens_per_latent_frame = tpf·4}. */
    private static final int FRAMES_PER_LATENT = 4;

    private AudioTokenIndex() {
    }

    /**
     * Builds the gather table.
     *
     * @param tokens L, the wav2vec2 token count of the window's audio, ≥ 1
     * @param slots latent slots (21 = (clipFrames − 1)/4 + 1), ≥ 2 because the first range is
     *     derived from the second
     * @param clipFrames video frames the adapter assumes (81)
     * @return {@code [slots][W]} token indices, −1 for padding
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static long[][] build(int tokens, int slots, int clipFrames) {
        if (tokens < 1) {
            throw new IllegalArgumentException("need at least one audio token, got " + tokens);
        }
        if (slots < 2) {
            throw new IllegalArgumentException("need at least 2 latent slots, got " + slots);
        }
        if (clipFrames < 1) {
            throw new IllegalArgumentException("clipFrames must be >= 1, got " + clipFrames);
        }
        double tpf = (double) tokens / clipFrames;
        int half = half(tokens, clipFrames);
        int width = 2 * half + 1 + 2 * EXPAND;
        long[] starts = new long[slots];
        long[] ends = new long[slots];
        for (int i = 0; i < slots; i++) {
            long centre;
            if (i == 0) {
                centre = 0;
            } else {
                // The reference's own expression (not the simplified tpf·(4i−1)) so that float64
                // rounding, and hence int() truncation, is identical.
                double startToken = tpf * ((i - 1) * FRAMES_PER_LATENT + 1);
                double endToken = tpf * (i * FRAMES_PER_LATENT + 1);
                centre = (long) ((startToken + endToken) / 2) - 1;
            }
            starts[i] = centre - half;
            ends[i] = centre + half;
        }
        starts[0] = starts[1] - 2L * half;
        ends[0] = starts[1];
        long[][] table = new long[slots][width];
        long maxValid = tokens - 1L;
        for (int i = 0; i < slots; i++) {
            long a = starts[i] - EXPAND;
            long b = ends[i] + EXPAND;
            long validStart = Math.max(a, 0);
            long validEnd = Math.min(b, maxValid);
            int col = 0;
            for (long tok = validStart; tok <= validEnd; tok++) {
                table[i][col++] = tok;
            }
            // Padding goes after the valid tokens whichever side was missing. If a range lies wholly
            // outside [0, L) (only for tiny L) the reference would fail to stack rows of unequal
            // length; we pad to W so the table stays rectangular.
            while (col < width) {
                table[i][col++] = -1;
            }
        }
        return table;
    }

    /**
     * Tokens per latent slot W = 2·half + 1 + 8: 15 for L = 161, 17 for L = 167, 13 for L = 121.
     *
     * @param tokens L, ≥ 1
     * @param clipFrames video frames the adapter assumes (81)
     * @return W
     */
    public static int windowTokens(int tokens, int clipFrames) {
        if (tokens < 1 || clipFrames < 1) {
            throw new IllegalArgumentException("tokens and clipFrames must be >= 1");
        }
        return 2 * half(tokens, clipFrames) + 1 + 2 * EXPAND;
    }

    private static int half(int tokens, int clipFrames) {
        double tpf = (double) tokens / clipFrames;
        return (int) (tpf * FRAMES_PER_LATENT / 2);
    }
}
