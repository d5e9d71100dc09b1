package dev.avatar4j.engine;

import dev.avatar4j.Progress;

/**
 * What a {@link FamilyEngine} reports to while it generates: final frames, progress and
 * cancellation checkpoints. Implemented by the public {@code Generation}.
 */
public interface GenerationContext {

    /**
     * Delivers the next final frame (frames must come in index order, starting at 0).
     *
     * @param rgb packed RGB24, {@code width*height*3} bytes; ownership passes to the callee
     */
    void emitFrame(byte[] rgb);

    /** Reports that {@code units} more units of the planned work are done, in {@code stage}. */
    void advance(Progress.Stage stage, long units);

    /**
     * Says what the engine is doing now, in a few words ("encoding audio, window 2/7", "denoising
     * window 3/7, step 12/30", "decoding"), for {@link Progress#activity()}. It is shown with the next
     * progress snapshot and stays until the engine says something else (until then the stage's
     * name is shown). Cheap: call it before each model call. Does nothing by default.
     */
    default void activity(String description) {
    }

    /**
     * Throws {@link dev.avatar4j.GenerationCancelledException} if the generation was cancelled.
     * Engines call it between graph runs.
     */
    void checkpoint();
}
