package dev.avatar4j.family;

import java.util.Optional;

/**
 * The pipeline of one model family (e.g. {@code stableavatar}), bound to a loaded bundle and its
 * graph sessions. Thread-safe: one engine serves concurrent generations.
 *
 * <p>The contract is typed by the job the family runs: the portrait families take a
 * {@link GenerationRequest} (image + speech), the dubbing family a {@link DubRequest} (video +
 * speech). Every engine is run the same way, by the one generation runner: {@link #plan} what is
 * known before running, then {@link #generate} into a {@link GenerationContext} (frames, progress,
 * cancellation). An engine is never asked for a job it does not run: the runner checks
 * {@link #jobType()} first, so no engine has methods that refuse.
 *
 * @param <J> the job this family runs
 */
public interface FamilyEngine<J extends FamilyJob> extends AutoCloseable {

    /** The family id from the bundle manifest. */
    String family();

    /** The job type this engine runs ({@code GenerationRequest.class} or {@code DubRequest.class}). */
    Class<J> jobType();

    /**
     * This engine typed for jobs of {@code type}, or empty when it runs another kind of job.
     *
     * @param type the job type wanted
     * @param <T> the job type
     * @return this engine, if {@link #jobType()} is {@code type}
     */
    @SuppressWarnings("unchecked")
    default <T extends FamilyJob> Optional<FamilyEngine<T>> runs(Class<T> type) {
        return jobType() == type ? Optional.of((FamilyEngine<T>) this) : Optional.empty();
    }

    /** Output frame rate. */
    int fps();

    /**
     * Whether this engine renders a {@link LiveRequest} at a frame rate other than {@link #fps()}
     * when the job asks for one ({@link LiveRequest#fps()}): true for the preview family's live
     * mode, whose motion is timed in seconds; false (the default) for a diffusion family, whose
     * frames are tied to the rate its model was trained at.
     *
     * @return whether any {@link LiveRequest#fps()} is rendered as asked
     */
    default boolean rendersAnyFps() {
        return false;
    }

    /** Sample rate the engine wants its audio at. */
    int sampleRate();

    /** Default output width when the request gives none. */
    int defaultWidth();

    /** Default output height when the request gives none. */
    int defaultHeight();

    /** Default denoising steps when the request gives none. */
    int defaultSteps();

    /**
     * Denoising steps a run of {@code job} makes (reported by {@link dev.avatar4j.RenderResult#steps()}):
     * the job's steps by default; 0 for an engine without a sampler, which ignores them.
     */
    default int stepsRun(J job) {
        return job.steps();
    }

    /**
     * Frames and work of a job, without running anything. An engine whose work depends on what it
     * finds while running (dubbing: the frames with a face) returns what it knows (the frames, work
     * 0) and gives the whole plan to {@link GenerationContext#replan} before its first frame.
     */
    GenerationPlan plan(J job);

    /** Runs the job, delivering frames, progress and checkpoints to {@code context}. */
    void generate(J job, GenerationContext context);

    /** Closes the graph sessions. */
    @Override
    void close();
}
