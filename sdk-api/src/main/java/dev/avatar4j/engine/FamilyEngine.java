package dev.avatar4j.engine;

/**
 * The generation pipeline of one model family (e.g. {@code stableavatar}), bound to a loaded
 * bundle and its graph sessions. Thread-safe: one engine serves concurrent generations.
 */
public interface FamilyEngine extends AutoCloseable {

    /** The family id from the bundle manifest. */
    String family();

    /** Output frame rate. */
    int fps();

    /** Sample rate the engine wants its audio at. */
    int sampleRate();

    /** Default output width when the request gives none. */
    int defaultWidth();

    /** Default output height when the request gives none. */
    int defaultHeight();

    /** Default denoising steps when the request gives none. */
    int defaultSteps();

    /** Frames and work of a request, without running anything. */
    GenerationPlan plan(GenerationRequest request);

    /** Runs the generation, delivering frames to {@code context}. */
    void generate(GenerationRequest request, GenerationContext context);

    /** Closes the graph sessions. */
    @Override
    void close();
}
