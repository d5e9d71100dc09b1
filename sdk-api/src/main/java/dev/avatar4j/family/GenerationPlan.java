package dev.avatar4j.family;

/**
 * Sizes of a generation known before it runs.
 *
 * @param frames    video frames that will be delivered
 * @param workUnits units of work for progress (forward passes + decoded latent frames)
 */
public record GenerationPlan(int frames, long workUnits) {
    /** {@link #frames()} of a job whose frames are not known before it ends (a live session). */
    public static final int OPEN_ENDED = -1;

    /**
     * The plan of a job that runs until it is stopped (a live session): frames and work unknown.
     *
     * @return a plan with {@link #OPEN_ENDED} frames and no work units
     */
    public static GenerationPlan openEnded() {
        return new GenerationPlan(OPEN_ENDED, 0);
    }

    /** Whether the frames are not known in advance. */
    public boolean isOpenEnded() {
        return frames == OPEN_ENDED;
    }
}
