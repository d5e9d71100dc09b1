package dev.avatar4j.family;

/**
 * The speech and the clock of a live session as its engine sees them (implemented by the SDK's
 * live session; see {@link dev.avatar4j.LiveSession}). The engine's loop, on the session's thread:
 * {@link #awaitFrame} paces it at its frame rate; each frame it checks {@link #epoch()} (a change
 * means the speech it holds was interrupted: drop it) and {@link #read reads} the speech it needs
 * for its next speaking frame, in utterances that end with {@link #END}.
 *
 * <p>Samples are mono, in [-1, 1], at the engine's {@link FamilyEngine#sampleRate()}. Positions
 * count every sample pushed into the session (at that rate, including samples an interrupt
 * dropped), so a frame can say which part of the pushed speech it shows.
 */
public interface LiveFeed {
    /** {@link #read} result: the utterance ends here (the next read starts the next one). */
    int END = -1;
    /** {@link #read} result: the epoch given is not the current one (an interrupt came). */
    int STALE = -2;

    /**
     * Waits until the next frame is due (the first is due at once); frames are paced at the
     * engine's rate. A session that fell a little behind (a GC pause, a busy CPU: up to half a
     * second) gets the frames it missed due at once, so that the speech it shows is not delayed for
     * good; one that fell further behind (a slow consumer under back-pressure) starts the clock over
     * from now rather than rushing through a backlog.
     *
     * @param checkpoint run while waiting (throws to cancel)
     * @return false when the session was closed: the engine returns
     */
    boolean awaitFrame(Runnable checkpoint);

    /** The interrupt count: it changes when queued speech is dropped. */
    int epoch();

    /**
     * Takes up to {@code len} queued samples of the current utterance.
     *
     * @param epoch the epoch the caller's held speech belongs to
     * @return the samples read (0 when none is queued now), {@link #END} at the end of an
     *         utterance, or {@link #STALE} when {@code epoch} is not {@link #epoch()}
     */
    int read(float[] dst, int off, int len, int epoch);

    /**
     * The position of the next sample {@link #read} returns, in samples since the session started.
     *
     * @param epoch the caller's epoch
     * @return the position, or -1 when {@code epoch} is stale
     */
    long position(int epoch);
}
