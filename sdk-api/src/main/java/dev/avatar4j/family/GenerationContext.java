package dev.avatar4j.family;

import dev.avatar4j.Progress;
import dev.avatar4j.media.RgbImage;

/**
 * What a {@link FamilyEngine} reports to while it runs a job: final frames, progress and
 * cancellation checkpoints. Implemented by the generation runner for every family, portrait and
 * dubbing alike.
 */
public interface GenerationContext {

    /**
     * Delivers the next final frame (frames must come in index order, starting at 0).
     *
     * @param rgb packed RGB24, {@code width*height*3} bytes; ownership passes to the callee
     */
    void emitFrame(byte[] rgb);

    /**
     * Delivers the next final frame as an image, for jobs whose frames bring their size (a dub keeps
     * its video's: {@link FamilyJob#width()} is 0). The pixels are copied out of {@code frame}. By
     * default {@link #emitFrame(byte[])} of its pixels, for contexts that know the size.
     *
     * @param frame the frame; every frame of a job has the same size
     */
    default void emitFrame(RgbImage frame) {
        emitFrame(frame.toRgbArray());
    }

    /**
     * Delivers the next final frame of a live session, with the part of the pushed speech it shows.
     *
     * @param rgb    packed RGB24, {@code width*height*3} bytes; ownership passes to the callee
     * @param speech the speech the frame shows, or null for an idle frame (no speech queued)
     *               By default the span is dropped ({@link #emitFrame(byte[])}): contexts that are no
     *               live session have nowhere to put it.
     */
    default void emitFrame(byte[] rgb, dev.avatar4j.SpeechSpan speech) {
        emitFrame(rgb);
    }

    /**
     * Replaces the plan the engine gave before running, once it knows its whole work (dubbing, after
     * locating the faces); call it before the first frame. The frames must stay those planned.
     *
     * @param plan the frames and the work units of the whole job
     */
    default void replan(GenerationPlan plan) {
    }

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
