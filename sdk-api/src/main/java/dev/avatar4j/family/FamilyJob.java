package dev.avatar4j.family;

/**
 * A job a {@link FamilyEngine} runs, resolved and validated: a portrait animation
 * ({@link GenerationRequest}) or a dub ({@link DubRequest}). What the generation runner needs of
 * every job, whatever its family: the size of its frames, the steps and seed it reports, and the
 * inputs to release when the engine is done.
 */
public interface FamilyJob {

    /**
     * Output frame width in pixels, or 0 when the frames bring their size (a dub keeps its video's,
     * known at the first frame): the runner opens the output before the engine runs when the size is
     * known, else at the first frame.
     */
    int width();

    /** Output frame height in pixels, or 0 as for {@link #width()}. */
    int height();

    /** Denoising steps asked for (defaults applied). */
    int steps();

    /** The noise seed. */
    long seed();

    /**
     * Releases what the job holds open (decoders of streamed speech), once the engine is done with it
     * or the generation failed. Does nothing by default.
     */
    default void closeInputs() {
    }
}
