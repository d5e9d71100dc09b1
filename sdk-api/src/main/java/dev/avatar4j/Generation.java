package dev.avatar4j;

import dev.avatar4j.engine.FamilyEngine;
import dev.avatar4j.engine.GenerationContext;
import dev.avatar4j.engine.GenerationPlan;
import dev.avatar4j.engine.GenerationRequest;
import dev.avatar4j.media.FrameSink;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running generation, started by {@link Avatar#start()}: progress, cancellation, the result, and
 * the frames as an iterator or stream.
 *
 * <p>Frames go to the request's {@link FrameListener}s and sink as soon as they are final. They are
 * also kept for {@link #frames()} in a bounded buffer ({@link Avatar#frameBuffer(int)} frames):
 * open the iterator early — once it is open the generation waits for the consumer (back-pressure);
 * until then, when the buffer is full, the oldest frames are dropped and a later
 * {@link #iterator()} call fails, so no frame is ever silently skipped.
 *
 * <p>Listeners ({@link FrameListener}, {@link ProgressListener}) run on the generation's own
 * thread and must not block: a generation stops at its checkpoints (between model calls, between
 * frames, every few tens of milliseconds of a pre-pass), and a listener that never returns keeps
 * it from reaching one, so {@link #cancel()} and {@link AvatarModel#close()} would wait for it.
 * {@link AvatarModel#close(Duration)} gives up waiting after a timeout.
 *
 * <p><b>Daemon threads.</b> The generation runs on a daemon thread (and so does its video
 * encoder): it does not keep the JVM alive. A program that starts a generation and then returns
 * from {@code main} exits at once and the output is never written; wait for it with
 * {@link #await()} (or {@link #toFuture()}, or iterate {@link #frames()} to the end). Daemons on
 * purpose: a generation blocked on a consumer that went away (an abandoned {@link #frames()}
 * stream applies back-pressure forever) must not stop the JVM from exiting, and a server's
 * shutdown must not wait for renders nobody will collect.
 */
public final class Generation {
    private static final Logger log = LoggerFactory.getLogger(Generation.class);
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final Object END = new Object();

    private final CompletableFuture<RenderResult> future = new CompletableFuture<>();
    private static final int RUNNING = 0;
    private static final int CANCELLED = 1;
    private static final int COMMITTED = 2;
    /** RUNNING until {@link #cancel()} wins (CANCELLED) or the generation commits its output (COMMITTED). */
    private final AtomicInteger state = new AtomicInteger(RUNNING);
    private final ArrayBlockingQueue<Object> buffer;
    private final AtomicBoolean iteratorOpened = new AtomicBoolean();
    private volatile boolean framesDropped;
    /**
     * Frames the buffer may hold: its capacity less one slot that stays free for the end marker, so
     * that ending never has to drop a frame an open iterator has not read yet.
     */
    private final java.util.concurrent.Semaphore frameSlots;
    private volatile boolean allFramesSeen;
    private volatile Progress progress;
    private final long startNanos = System.nanoTime();
    private final FramePublisher publisher = new FramePublisher(this);

    Generation(int frameBuffer) {
        this.buffer = new ArrayBlockingQueue<>(Math.max(1, frameBuffer) + 1);
        this.frameSlots = new java.util.concurrent.Semaphore(Math.max(1, frameBuffer));
        this.progress = new Progress(Progress.Stage.PREPARING, 0, 0, 0, 0, Duration.ZERO);
    }

    /** Starts {@code job} on a new thread. */
    static Generation start(Job job) {
        Generation g = new Generation(job.frameBuffer());
        Thread t = new Thread(() -> g.run(job), "avatar4j-generation-" + THREADS.incrementAndGet());
        t.setDaemon(true);
        t.start();
        return g;
    }

    /** Everything a generation needs, resolved by {@link Avatar}. */
    record Job(AvatarModel model, Function<AvatarModel, GenerationRequest> request,
               Function<GenerationRequest, FrameSink> sink, FrameSink given, Path output,
               List<FrameListener> frameListeners, List<ProgressListener> progressListeners, int frameBuffer) {
    }

    /**
     * Bytes of frames queued for the video encoder thread before generation waits. The engines
     * finish frames in bursts (a window's last step makes dozens final at once): a queue that holds
     * a burst lets the encoder work through it while the next window is denoised, where a queue of
     * a few frames made the generation thread wait for the encoder (the pipelining benchmark).
     */
    static final long ENCODER_QUEUE_BYTES = 32L << 20;

    /** The encoder queue's capacity in frames: {@link #ENCODER_QUEUE_BYTES} worth, at least 8, at most 256. */
    static int encoderQueueFrames(int width, int height) {
        long frameBytes = Math.max(1L, 3L * width * height);
        return (int) Math.clamp(ENCODER_QUEUE_BYTES / frameBytes, 8L, 256L);
    }

    private void run(Job job) {
        FrameSink sink = null;
        GenerationRequest request = null;
        try (AvatarModel.Usage usage = job.model().acquire()) {
            FamilyEngine engine = usage.engine();
            request = job.request().apply(job.model());
            checkpoint();
            GenerationPlan plan = engine.plan(request);
            Context ctx = new Context(request, plan, job, engine.fps());
            ctx.publish(Progress.Stage.PREPARING);
            sink = job.sink() == null ? null : job.sink().apply(request);
            if (sink != null && job.output() != null) {
                // our own video writer: encode on a worker thread, overlapped with generation
                sink = new PipelinedFrameSink(sink, encoderQueueFrames(request.width(), request.height()));
            }
            ctx.sink = sink;
            engine.generate(request, ctx);
            request.closeAudio(); // the decoders of streamed speech: every frame is out
            checkpoint();
            if (ctx.frames != plan.frames()) {
                throw new IllegalStateException("engine delivered " + ctx.frames + " frames, planned " + plan.frames());
            }
            // our video writer drains its queue and writes the trailer; another sink: the stage name
            ctx.activity(job.output() != null ? "muxing" : null, Progress.Stage.FINISHING);
            // the commit point: from here on cancel() returns false, before it the output is never completed
            if (!state.compareAndSet(RUNNING, COMMITTED)) {
                throw new GenerationCancelledException("generation cancelled");
            }
            if (sink != null) {
                sink.complete();
                sink = null;
            }
            ctx.activity(null, Progress.Stage.DONE);
            RenderResult result = new RenderResult(Optional.ofNullable(job.output()), ctx.frames, request.width(),
                    request.height(), engine.fps(), engine.stepsRun(request), request.seed(), job.model().backendName(),
                    elapsed());
            endFrames(END);
            future.complete(result);
        } catch (Throwable t) {
            if (request != null) {
                try {
                    request.closeAudio();
                } catch (Throwable e) {
                    t.addSuppressed(e);
                }
            }
            AvatarException failure = translate(t);
            // a caller's sink is aborted even when the generation fails before it was handed frames
            FrameSink toAbort = sink != null ? sink : job.given();
            if (toAbort != null) {
                try {
                    toAbort.abort();
                } catch (Throwable e) { // the generation must still end: a hung await() is worse
                    failure.addSuppressed(e);
                }
            }
            if (failure instanceof GenerationCancelledException) {
                log.info("generation cancelled after {} ms", elapsed().toMillis());
            } else {
                log.debug("generation failed", t);
            }
            endFrames(failure);
            future.completeExceptionally(failure);
            if (t instanceof Error e && !(t instanceof OutOfMemoryError)) {
                throw e;
            }
        }
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

    private void endFrames(Object marker) {
        // make room: the end marker must always get in, even if nobody reads the frames
        while (!buffer.offer(marker)) {
            buffer.poll();
            framesDropped = true;
        }
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
     * The latest progress snapshot, without waiting. Safe to call from any thread.
     *
     * @return the most recent {@link Progress} published (stage {@link Progress.Stage#PREPARING}
     *         with no work done before the first update)
     */
    public Progress progress() {
        return progress;
    }

    /**
     * Asks the generation to stop. It stops at the next checkpoint (between model calls), aborts
     * its output (no partial file) and completes with {@link GenerationCancelledException}.
     * Idempotent; does nothing once finished or once the output is being completed.
     *
     * @return whether this call requested the cancellation: {@code true} means the generation will
     *         not complete successfully (it ends cancelled, or with an error that happened first)
     */
    public boolean cancel() {
        if (future.isDone()) {
            return false;
        }
        return state.compareAndSet(RUNNING, CANCELLED);
    }

    /**
     * Whether the generation has finished, without waiting.
     *
     * @return {@code true} once it has ended successfully, with an error, or cancelled (then
     *         {@link #await()} returns or throws at once)
     */
    public boolean isDone() {
        return future.isDone();
    }

    /**
     * Waits for the generation to finish.
     *
     * <p>Interrupting the waiting thread cancels the generation ({@link #cancel()}): this method
     * then waits for it to stop at its next checkpoint and clean up (no partial output is left),
     * restores the thread's interrupt status and throws {@link GenerationCancelledException}. If
     * the generation was already completing its output when the interrupt came, it cannot be
     * cancelled any more: its result is returned, with the interrupt status set.
     *
     * @return the result
     * @throws AvatarException (one of its subtypes) when the generation failed or was cancelled
     */
    public RenderResult await() {
        try {
            return future.get();
        } catch (InterruptedException e) {
            return cancelOnInterrupt();
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        }
    }

    /**
     * Waits at most {@code timeout} for the generation to finish. An interrupt cancels the
     * generation, as for {@link #await()}.
     *
     * @param timeout the longest time to wait; not null
     * @return the result
     * @throws AvatarException (one of its subtypes) when the generation failed or was cancelled
     * @throws TimeoutException if it is still running after {@code timeout}
     */
    public RenderResult await(Duration timeout) throws TimeoutException {
        try {
            return future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            return cancelOnInterrupt();
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        }
    }

    /**
     * The waiting thread was interrupted: cancels, waits (ignoring further interrupts) until the
     * generation has stopped and cleaned up, and restores the interrupt status.
     */
    private RenderResult cancelOnInterrupt() {
        cancel();
        try {
            while (true) {
                try {
                    return future.get();
                } catch (InterruptedException again) {
                    // keep waiting: the generation stops at its next checkpoint
                } catch (ExecutionException e) {
                    AvatarException failure = rethrow(e.getCause());
                    throw failure instanceof GenerationCancelledException
                            ? new GenerationCancelledException("interrupted while waiting for the generation")
                            : failure;
                }
            }
        } finally {
            Thread.currentThread().interrupt();
        }
    }

    private static AvatarException rethrow(Throwable cause) {
        if (cause instanceof GenerationCancelledException gc) {
            return new GenerationCancelledException(gc.getMessage());
        }
        if (cause instanceof AvatarException ae) {
            return ae;
        }
        return new AvatarException(String.valueOf(cause), cause);
    }

    /**
     * The result as a future, for asynchronous composition. Each call returns a new future;
     * cancelling one ({@code cancel(true)} or {@code cancel(false)}) cancels the generation as
     * {@link #cancel()} does (no output file is completed) — the other futures and
     * {@link #await()} then end with {@link GenerationCancelledException}.
     *
     * @return a new future that completes with the result, or exceptionally with the
     *         {@link AvatarException} the generation failed with
     */
    public CompletableFuture<RenderResult> toFuture() {
        CompletableFuture<RenderResult> f = future.copy();
        f.whenComplete((r, e) -> {
            if (f.isCancelled()) {
                cancel();
            }
        });
        return f;
    }

    /**
     * The frames in order. Can be called once; blocks while waiting for the next frame. The
     * iterator throws the generation's {@link AvatarException} if it fails.
     *
     * @return an iterator over the frames from the first one, ending after the last; its
     *         {@code hasNext()} blocks until the next frame is final or the generation has ended
     * @throws IllegalStateException if called twice, or if frames were already dropped from the
     *                               buffer because nobody was reading them
     */
    public Iterator<Frame> iterator() {
        synchronized (buffer) { // atomic with the producer's decision to drop a frame
            if (iteratorOpened.get()) {
                throw new IllegalStateException("frames can be iterated only once per generation");
            }
            if (framesDropped) {
                throw new IllegalStateException("frames were already dropped: open the iterator before the "
                        + "frame buffer fills up, or use onFrame(...) / a larger frameBuffer(...)");
            }
            iteratorOpened.set(true);
        }
        return new Iterator<>() {
            private Object next;

            @Override
            public boolean hasNext() {
                if (next == null) {
                    try {
                        next = buffer.take();
                        if (next instanceof Frame) {
                            frameSlots.release();
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new GenerationCancelledException("interrupted while waiting for a frame");
                    }
                }
                if (next instanceof AvatarException e) {
                    allFramesSeen = true;
                    throw rethrow(e);
                }
                if (next == END) {
                    allFramesSeen = true;
                }
                return next != END;
            }

            @Override
            public Frame next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Frame f = (Frame) next;
                next = null;
                return f;
            }
        };
    }

    /**
     * The frames as a sequential stream over {@link #iterator()}. Closing the stream before its last
     * frame cancels the generation (use try-with-resources when you may stop early).
     *
     * @return an ordered, sequential stream of the frames
     * @throws IllegalStateException as {@link #iterator()}: if the frames were iterated before, or
     *                               frames were already dropped
     */
    public Stream<Frame> frames() {
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(iterator(),
                Spliterator.ORDERED | Spliterator.NONNULL), false).onClose(() -> {
                    if (!allFramesSeen) {
                        cancel();
                    }
                });
    }

    /**
     * The frames as a {@link java.util.concurrent.Flow.Publisher} for reactive stacks, honouring
     * demand: a subscriber gets {@code onSubscribe} first (from a delivery thread of the SDK), then
     * {@code onNext} only for frames it has requested, then {@code onComplete}, or {@code onError}
     * with the generation's {@link AvatarException} (its cause attached) when it fails. While the
     * demand is 0 the generation waits once it is {@link Avatar#frameBuffer(int)} frames ahead
     * (the back-pressure of {@link #iterator()}, which the publisher uses: the two exclude each
     * other). {@code request(n)} with {@code n <= 0} signals {@code onError} with an
     * {@link IllegalArgumentException} and cancels the generation; cancelling the subscription
     * cancels the generation ({@link #cancel()}: no output file is left).
     *
     * <p>One subscriber per generation: a second one (or one after {@link #iterator()} was
     * opened, or after frames were dropped because nobody subscribed in time) gets
     * {@code onSubscribe} and then {@code onError} with an {@link IllegalStateException}. Subscribe
     * early, as for {@link #iterator()}.
     *
     * @return the publisher of this generation's frames
     */
    public java.util.concurrent.Flow.Publisher<Frame> publisher() {
        return publisher;
    }

    /** Bridges engine callbacks to listeners, the sink, the frame buffer and progress. */
    private final class Context implements GenerationContext {
        private final GenerationRequest request;
        private final GenerationPlan plan;
        private final Job job;
        private final int fps;
        private FrameSink sink;
        private int frames;
        private long work;
        private Progress.Stage stage = Progress.Stage.PREPARING;
        private String activity;

        Context(GenerationRequest request, GenerationPlan plan, Job job, int fps) {
            this.request = request;
            this.plan = plan;
            this.job = job;
            this.fps = fps;
        }

        @Override
        public void emitFrame(byte[] rgb) {
            checkpoint();
            Frame frame = Frame.adopt(frames, fps, request.width(), request.height(), rgb);
            frames++;
            for (FrameListener l : job.frameListeners()) {
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
            offerFrame(frame);
            publish(stage);
        }

        private void offerFrame(Frame frame) {
            synchronized (buffer) {
                if (!iteratorOpened.get()) {
                    // nobody reads yet: drop the oldest frame (its slot goes to this one)
                    if (!frameSlots.tryAcquire()) {
                        buffer.poll();
                        framesDropped = true;
                    }
                    buffer.offer(frame);
                    return;
                }
            }
            try {
                while (!frameSlots.tryAcquire(100, TimeUnit.MILLISECONDS)) { // back-pressure
                    checkpoint();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new GenerationCancelledException("interrupted");
            }
            buffer.offer(frame); // always room: frames hold at most frameBuffer of its frameBuffer + 1 slots
        }

        @Override
        public void advance(Progress.Stage stage, long units) {
            work += units;
            publish(stage);
        }

        @Override
        public void activity(String description) {
            if (!java.util.Objects.equals(description, activity)) {
                activity(description, stage);
            }
        }

        void activity(String description, Progress.Stage s) {
            activity = description;
            publish(s);
        }

        @Override
        public void checkpoint() {
            Generation.this.checkpoint();
        }

        void publish(Progress.Stage s) {
            stage = s;
            Progress p = new Progress(s, frames, plan.frames(), Math.min(work, plan.workUnits()), plan.workUnits(),
                    elapsed(), activity);
            progress = p;
            for (ProgressListener l : job.progressListeners()) {
                try {
                    l.onProgress(p);
                } catch (RuntimeException e) {
                    throw new AvatarException("progress listener failed: " + FailureMessages.of(e, "no detail"), e);
                }
            }
        }
    }

    @Override
    public String toString() {
        return "Generation[" + progress + (state.get() == CANCELLED ? ", cancelled" : "") + "]";
    }
}
