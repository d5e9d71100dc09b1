package dev.avatar4j.family.longcat;

/**
 * The audio context of LongCat-Video-Avatar as index tables into the 25 fps audio embedding
 * {@code [T, 5, D]} (docs/REFERENCE.md §3 "Per-frame audio window").
 *
 * <p><b>Per frame</b> (demo scripts): frame j of a segment whose audio starts at index s looks at
 * the positions {@code clamp(s + stride·j + o, 0, T − 1)} for o = −2..2.
 *
 * <p><b>Per latent</b> (DiT): latent 0 (frame 0 alone) uses frame 0's 5 positions; latent n ≥ 1
 * covers frames 4n−3..4n and uses the union of the positions ≤ centre of its first frame, the
 * centre of its two middle frames and the positions ≥ centre of its last frame: 3 + 1 + 1 + 3 = 8.
 * The clamping happens per frame before the union, as in the reference.
 */
public final class LongCatAudioWindows {

    /** Half width of the per-frame window (offsets −2..2). */
    public static final int HALF = 2;
    /** Positions per frame. */
    public static final int FRAME_WINDOW = 2 * HALF + 1;
    /** VAE temporal compression: frames per latent after the first. */
    public static final int VAE_SCALE = 4;
    /** Positions per latent n ≥ 1: {@code FRAME_WINDOW + VAE_SCALE − 1}. */
    public static final int LATENT_WINDOW = FRAME_WINDOW + VAE_SCALE - 1;

    private LongCatAudioWindows() {
    }

    /**
     * The per-frame windows of one segment.
     *
     * @param start audio index of the segment's frame 0
     * @param frames frames in the segment
     * @param stride audio indices per frame (v1.5: 1)
     * @param length T, the length of the audio embedding, at least 1
     * @return {@code [frames][5]} indices in {@code [0, T)}
     */
    public static int[][] frameWindows(int start, int frames, int stride, int length) {
        if (frames < 1 || stride < 1 || length < 1) {
            throw new IllegalArgumentException("frames, stride and length must be >= 1");
        }
        int[][] w = new int[frames][FRAME_WINDOW];
        for (int j = 0; j < frames; j++) {
            long centre = start + (long) stride * j;
            for (int o = 0; o < FRAME_WINDOW; o++) {
                w[j][o] = (int) Math.clamp(centre + o - HALF, 0, length - 1);
            }
        }
        return w;
    }

    /**
     * The per-latent unions of a segment's frame windows.
     *
     * @param frameWindows {@code [1 + 4k][5]} from {@link #frameWindows}
     * @return row 0: latent 0's 5 positions; rows 1..k: 8 positions each
     */
    public static int[][] latentWindows(int[][] frameWindows) {
        int frames = frameWindows.length;
        if (frames < 1 || (frames - 1) % VAE_SCALE != 0) {
            throw new IllegalArgumentException("frame count must be 1 + 4k, got " + frames);
        }
        int latents = 1 + (frames - 1) / VAE_SCALE;
        int[][] out = new int[latents][];
        out[0] = frameWindows[0].clone();
        for (int n = 1; n < latents; n++) {
            int f0 = 1 + (n - 1) * VAE_SCALE;
            int[] u = new int[LATENT_WINDOW];
            int k = 0;
            for (int o = 0; o <= HALF; o++) {
                u[k++] = frameWindows[f0][o];
            }
            for (int f = f0 + 1; f < f0 + VAE_SCALE - 1; f++) {
                u[k++] = frameWindows[f][HALF];
            }
            for (int o = HALF; o < FRAME_WINDOW; o++) {
                u[k++] = frameWindows[f0 + VAE_SCALE - 1][o];
            }
            out[n] = u;
        }
        return out;
    }
}
