package dev.avatar4j;

import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.FamilyJob;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationPlan;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one job of any family (a portrait animation or a dub) on its own thread, behind the public
 * {@link Generation} handle: resolves the inputs ({@link InputResolver}), runs the family's
 * {@link FamilyEngine}, hands every frame to the listeners, the output and the {@link FrameBuffer},
 * publishes {@link Progress}, and ends with the commit protocol: the output is completed only if
 * no cancel came first, and aborted (no partial file) on every failure.
 *
 * <p>Everything here runs on the generation thread except {@link #cancel()}, {@link #progress()}
 * and the {@link #result()} future, which any thread may use.
 *
 * @param <J> the job type of the engine it runs
 */
final class GenerationRunner<J extends FamilyJob> {
    private static final Logger log = LoggerFactory.getLogger(GenerationRunner.class);
    private static final AtomicInteger THREADS = new AtomicInteger();

    private static final int RUNNING = 0;
    private static final int CANCELLED = 1;
    private static final int COMMITTED = 2;

    /**
     * Bytes of frames queued for the video encoder thread before generation waits. The engines
     * finish frames in bursts (a window's last step makes dozens final at once): a queue that holds
     * a burst lets the encoder work through it while the next window is denoised, where a queue of
     * a few frames made the generation thread wait for the encoder (the pipelining benchmark).
     */
    static final long ENCODER_QUEUE_BYTES = 32L << 20;

    /** Where the frames of a run go besides the listeners and the frame buffer. */
    sealed interface Output {
        /** No output: frames go to the listeners and the buffer only. */
        record None() implements Output {
        }

        /** The caller's sink: fed, then completed or aborted (even when the run fails before a frame). */
        record Sink(FrameSink sink) implements Output {
        }

        /** Our video writer to a file ({@code .part} file renamed on completion). */
        record File(Path path) implements Output {
        }

        /** Our fragmented-MP4 writer to the caller's stream (never closed). */
        record Stream(OutputStream out) implements Output {
        }
    }

    /**
     * Everything a run needs, immutable: built by {@link Avatar} or {@link Dub} from their values.
     *
     * @param model             the model to run on
     * @param resolver          turns the request's inputs into the engine's job, on the run's thread
     * @param output            where the frames go
     * @param frameListeners    called with every frame
     * @param progressListeners called with every progress snapshot
     * @param frameBuffer       frames kept for {@link Generation#frames()}
     * @param bufferMode        how those frames wait for a consumer (a live session's differ)
     */
    record Spec<J extends FamilyJob>(AvatarModel model, InputResolver<J> resolver, Output output,
                                     List<FrameListener> frameListeners, List<ProgressListener> progressListeners,
                                     int frameBuffer, FrameBuffer.Mode bufferMode) {
        Spec {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(resolver, "resolver");
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(bufferMode, "bufferMode");
            frameListeners = List.copyOf(frameListeners);
            progressListeners = List.copyOf(progressListeners);
        }

        /** A generation's spec (its frame buffer in {@link FrameBuffer.Mode#GENERATION}). */
        Spec(AvatarModel model, InputResolver<J> resolver, Output output, List<FrameListener> frameListeners,
             List<ProgressListener> progressListeners, int frameBuffer) {
            this(model, resolver, output, frameListeners, progressListeners, frameBuffer, FrameBuffer.Mode.GENERATION);
        }
    }

    private final Spec<J> spec;
    private final CompletableFuture<RenderResult> result = new CompletableFuture<>();
    /** RUNNING until {@link #cancel()} wins (CANCELLED) or the run commits its output (COMMITTED). */
    private final AtomicInteger state = new AtomicInteger(RUNNING);
    private final FrameBuffer frames;
    private final long startNanos = System.nanoTime();
    private volatile Progress progress = new Progress(Progress.Stage.PREPARING, 0, 0, 0, 0, Duration.ZERO);
    /** The output's sink once opened (generation thread only). */
    private FrameSink sink;

    private GenerationRunner(Spec<J> spec) {
        this.spec = spec;
        this.frames = new FrameBuffer(spec.frameBuffer(), spec.bufferMode());
    }

    /** Starts {@code spec} on a new daemon thread and returns its handle. */
    static <J extends FamilyJob> Generation start(Spec<J> spec) {
        GenerationRunner<J> runner = new GenerationRunner<>(spec);
        Generation handle = new Generation(runner);
        Thread t = new Thread(runner::run, "avatar4j-generation-" + THREADS.incrementAndGet());
        t.setDaemon(true);
        t.start();
        return handle;
    }

    /** The encoder queue's capacity in frames: {@link #ENCODER_QUEUE_BYTES} worth, at least 8, at most 256. */
    static int encoderQueueFrames(int width, int height) {
        long frameBytes = Math.max(1L, 3L * width * height);
        return (int) Math.clamp(ENCODER_QUEUE_BYTES / frameBytes, 8L, 256L);
    }

    /** The result, completed when the run has ended and cleaned up. */
    CompletableFuture<RenderResult> result() {
        return result;
    }

    /** The frames kept for the handle's iterator and publisher. */
    FrameBuffer frames() {
        return frames;
    }

    /** The latest snapshot. */
    Progress progress() {
        return progress;
    }

    /** See {@link Generation#cancel()}. */
    boolean cancel() {
        if (result.isDone()) {
            return false;
        }
        return state.compareAndSet(RUNNING, CANCELLED);
    }

    boolean cancelled() {
        return state.get() == CANCELLED;
    }

    private void run() {
        J job = null;
        InputResolver<J> resolver = spec.resolver();
        try (AvatarModel.Usage usage = spec.model().acquire()) {
            FamilyEngine<J> engine = usage.engine().runs(resolver.jobType())
                    .orElseThrow(() -> resolver.wrongFamily(spec.model()));
            job = resolver.resolve(spec.model());
            checkpoint();
            // a live session may run at another rate than the model's (LiveOptions.fps, the preview family)
            int fps = job instanceof dev.avatar4j.family.LiveRequest live ? live.fps() : engine.fps();
            Context ctx = new Context(job, engine.plan(job), fps);
            ctx.publish(Progress.Stage.PREPARING);
            if (job.width() > 0) {
                openOutput(job, job.width(), job.height(), engine.fps()); // the size is known: fail early if the output cannot be opened
            }
            engine.generate(job, ctx);
            job.closeInputs(); // the decoders of streamed speech: every frame is out
            checkpoint();
            if (!ctx.plan.isOpenEnded() && ctx.frames != ctx.plan.frames()) {
                throw new IllegalStateException("engine delivered " + ctx.frames + " frames, planned " + ctx.plan.frames());
            }
            if (sink == null && !(spec.output() instanceof Output.None)) {
                throw new InvalidInputException("no frame was made, so there is no video to write");
            }
            // our video writer drains its queue and writes the trailer; another sink: the stage name
            ctx.activity(spec.output() instanceof Output.File ? "muxing" : null, Progress.Stage.FINISHING);
            // the commit point: from here on cancel() returns false, before it the output is never completed
            if (!state.compareAndSet(RUNNING, COMMITTED)) {
                throw new GenerationCancelledException("generation cancelled");
            }
            if (sink != null) {
                sink.complete();
                sink = null;
            }
            ctx.activity(null, Progress.Stage.DONE);
            Optional<Path> path = spec.output() instanceof Output.File f ? Optional.of(f.path()) : Optional.empty();
            RenderResult r = new RenderResult(path, ctx.frames, ctx.width, ctx.height, fps,
                    engine.stepsRun(job), job.seed(), spec.model().backendName(), elapsed());
            release(resolver, null);
            frames.complete();
            result.complete(r);
        } catch (Throwable t) {
            AvatarException failure = translate(t);
            if (job != null) {
                try {
                    job.closeInputs();
                } catch (Throwable e) {
                    failure.addSuppressed(e);
                }
            }
            // a caller's sink is aborted even when the run fails before it was handed frames
            FrameSink toAbort = sink != null ? sink : spec.output() instanceof Output.Sink s ? s.sink() : null;
            if (toAbort != null) {
                try {
                    toAbort.abort();
                } catch (Throwable e) { // the run must still end: a hung await() is worse
                    failure.addSuppressed(e);
                }
            }
            release(resolver, failure);
            if (failure instanceof GenerationCancelledException) {
                log.info("generation cancelled after {} ms", elapsed().toMillis());
            } else {
                log.debug("generation failed", t);
            }
            frames.fail(failure);
            result.completeExceptionally(failure);
            if (t instanceof Error e && !(t instanceof OutOfMemoryError)) {
                throw e;
            }
        }
    }

    /** Deletes what the resolver made for the run (spooled inputs), once the output is completed or aborted. */
    private static void release(InputResolver<?> resolver, AvatarException failure) {
        try {
            resolver.release();
        } catch (RuntimeException e) {
            if (failure != null) {
                failure.addSuppressed(e);
            } else {
                log.warn("cannot clean up after the generation: {}", e.toString());
            }
        }
    }

    /** Opens the output for frames of {@code width} x {@code height} at {@code fps}. */
    private void openOutput(J job, int width, int height, int fps) {
        sink = switch (spec.output()) {
            case Output.None n -> null;
            case Output.Sink s -> s.sink();
            // our own video writer: encode on a worker thread, overlapped with generation
            case Output.File f -> new PipelinedFrameSink(MediaRegistry.global().openVideoWriter(f.path(),
                    spec.resolver().video(job, width, height, fps)), encoderQueueFrames(width, height));
            case Output.Stream s -> new PipelinedFrameSink(MediaRegistry.global().openVideoWriter(s.out(),
                    spec.resolver().video(job, width, height, fps)), encoderQueueFrames(width, height));
        };
    }

    private AvatarException translate(Throwable t) {
        if (state.get() == CANCELLED && !(t instanceof AvatarException ae && !(ae instanceof GenerationCancelledException))) {
            return new GenerationCancelledException("generation cancelled");
        }
        if (t instanceof AvatarException ae) {
            return ae;
        }
        if (t instanceof OutOfMemoryError) {
            return new AvatarException("out of memory: use a smaller size or fewer frames, or give the JVM more memory", t);
        }
        return new AvatarException(FailureMessages.of(t, "generation failed"), t);
    }

    private void checkpoint() {
        if (state.get() == CANCELLED || Thread.currentThread().isInterrupted()) {
            throw new GenerationCancelledException("generation cancelled");
        }
    }

    private Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    /**
     * What the engine reports to: frames to the listeners, the output and the buffer; progress, the
     * one place snapshots are made; checkpoints. A listener that throws fails the run with an
     * {@link AvatarException} naming it (one policy for every family).
     */
    private final class Context implements GenerationContext {
        private final J job;
        private final int fps;
        private GenerationPlan plan;
        private int width;
        private int height;
        private int frames;
        private long work;
        private Progress.Stage stage = Progress.Stage.PREPARING;
        private String activity;

        Context(J job, GenerationPlan plan, int fps) {
            this.job = job;
            this.plan = plan;
            this.fps = fps;
            this.width = job.width();
            this.height = job.height();
        }

        @Override
        public void emitFrame(byte[] rgb) {
            checkpoint();
            deliver(Frame.adopt(frames, fps, width, height, rgb));
        }

        @Override
        public void emitFrame(byte[] rgb, SpeechSpan speech) {
            checkpoint();
            deliver(Frame.adopt(frames, fps, width, height, rgb, speech));
        }

        @Override
        public void emitFrame(RgbImage image) {
            checkpoint();
            if (frames == 0 && width == 0) {
                width = image.width();
                height = image.height();
                openOutput(job, width, height, fps);
            } else if (image.width() != width || image.height() != height) {
                throw new IllegalStateException("frame " + frames + " is " + image.width() + "x" + image.height()
                        + ", the frames before were " + width + "x" + height);
            }
            deliver(Frame.adopt(frames, fps, width, height, image.toRgbArray()));
        }

        private void deliver(Frame frame) {
            frames++;
            for (FrameListener l : spec.frameListeners()) {
                try {
                    l.onFrame(frame);
                } catch (RuntimeException e) {
                    throw new AvatarException("frame listener failed on frame " + frame.index() + ": "
                            + FailureMessages.of(e, "no detail"), e);
                }
            }
            if (sink != null) {
                sink.accept(frame);
            }
            GenerationRunner.this.frames.offer(frame, this::checkpoint);
            publish(stage);
        }

        @Override
        public void replan(GenerationPlan plan) {
            if (frames > 0) {
                throw new IllegalStateException("replan after the first frame");
            }
            if (plan.frames() != this.plan.frames()) {
                throw new IllegalStateException("replan changes the frames from " + this.plan.frames() + " to "
                        + plan.frames());
            }
            this.plan = plan;
            publish(stage);
        }

        @Override
        public void advance(Progress.Stage stage, long units) {
            work += units;
            publish(stage);
        }

        @Override
        public void activity(String description) {
            if (!Objects.equals(description, activity)) {
                activity(description, stage);
            }
        }

        void activity(String description, Progress.Stage s) {
            activity = description;
            publish(s);
        }

        @Override
        public void checkpoint() {
            GenerationRunner.this.checkpoint();
        }

        void publish(Progress.Stage s) {
            stage = s;
            Progress p = new Progress(s, frames, Math.max(0, plan.frames()), Math.min(work, plan.workUnits()), plan.workUnits(),
                    elapsed(), activity);
            progress = p;
            for (ProgressListener l : spec.progressListeners()) {
                try {
                    l.onProgress(p);
                } catch (RuntimeException e) {
                    throw new AvatarException("progress listener failed: " + FailureMessages.of(e, "no detail"), e);
                }
            }
        }
    }
}
