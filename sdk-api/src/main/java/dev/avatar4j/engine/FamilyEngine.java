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

    /**
     * Denoising steps a generation of {@code request} runs (reported by
     * {@link dev.avatar4j.RenderResult#steps()}): the request's steps by default; 0 for an engine
     * without a sampler, which ignores them.
     */
    default int stepsRun(GenerationRequest request) {
        return request.steps();
    }

    /** Frames and work of a request, without running anything. */
    GenerationPlan plan(GenerationRequest request);

    /** Runs the generation, delivering frames to {@code context}. */
    void generate(GenerationRequest request, GenerationContext context);

    /** Closes the graph sessions. */
    @Override
    void close();
}
