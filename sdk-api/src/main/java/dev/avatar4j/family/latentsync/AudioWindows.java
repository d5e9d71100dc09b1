package dev.avatar4j.family.latentsync;

/**
 * LatentSync's per-video-frame audio context (docs/REFERENCE.md §2 "Audio features" items 4–6,
 * Appendix A block H): the Whisper-tiny encoder gives {@code [N_a, 5, 384]} features at 50 Hz (the
 * embedding before block 1 and the outputs of the 4 blocks); video frame i (25 fps) takes the rows
 * {@code 2i − 4 … 2i + 5} clamped to {@code [0, N_a − 1]}, flattened time-major to 50 tokens × 384.
 */
final class AudioWindows {

    /** Encoder layers collected per time step. */
    static final int LAYERS = 5;
    /** Time steps per video frame. */
    static final int STEPS = 10;
    /** Tokens per video frame. */
    static final int TOKENS = STEPS * LAYERS;

    private AudioWindows() {
    }

    /**
     * Encoder rows kept from a segment: the first {@code int(validFrames/2)} of its 1500.
     *
     * @param validFrames mel frames of the file in the segment
     * @return rows to keep
     */
    static int keptRows(int validFrames) {
        return validFrames / 2;
    }

    /**
     * How many per-frame windows the reference builds for {@code N_a} feature rows:
     * {@code floor(N_a/2) + 2} (its loop appends until {@code 2i > N_a}, two more than the nominal
     * frame count). Frames beyond the video are cut by the caller.
     */
    static int referenceChunkCount(int featureRows) {
        return featureRows / 2 + 2;
    }

    /**
     * The window of one video frame.
     *
     * @param features {@code [rows][5][width]} flattened row-major
     * @param rows     N_a, at least 1
     * @param width    feature width (384 for Whisper tiny)
     * @param frame    video frame index, ≥ 0
     * @return {@code [50][width]} flattened: time step major, then layer
     */
    static float[] window(float[] features, int rows, int width, int frame) {
        if (rows < 1 || width < 1 || frame < 0 || features.length != (long) rows * LAYERS * width) {
            throw new IllegalArgumentException("bad window request: rows=" + rows + ", width=" + width
                    + ", frame=" + frame + ", features=" + features.length);
        }
        int stride = LAYERS * width;
        float[] out = new float[TOKENS * width];
        long centre = 2L * frame;
        for (int s = 0; s < STEPS; s++) {
            long idx = Math.max(0, Math.min(rows - 1, centre - 4 + s));
            System.arraycopy(features, (int) idx * stride, out, s * stride, stride);
        }
        return out;
    }
}
