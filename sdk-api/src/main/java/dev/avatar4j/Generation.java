package dev.avatar4j;

import java.time.Duration;
import java.util.Iterator;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A running generation, started by {@link Avatar#start()} or {@link Dub#start()}: progress,
 * cancellation, the result, and the frames as an iterator, stream or publisher. Portrait animation
 * and dubbing run the same way and give the same handle.
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
 * {@link AvatarModel#close(Duration)} gives up waiting after a timeout. A listener that throws fails
 * the generation with an {@link AvatarException} that names it.
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
    /** The run behind this handle (the thread, the engine, the output, the frame buffer). */
    private final GenerationRunner<?> runner;
    private final FramePublisher publisher = new FramePublisher(this);

    Generation(GenerationRunner<?> runner) {
        this.runner = runner;
    }

    /** The run behind this handle (a {@link LiveSession} reaches its frame buffer through it). */
    GenerationRunner<?> runner() {
        return runner;
    }

    /**
     * The latest progress snapshot, without waiting. Safe to call from any thread.
     *
     * @return the most recent {@link Progress} published (stage {@link Progress.Stage#PREPARING}
     *         with no work done before the first update)
     */
    public Progress progress() {
        return runner.progress();
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
        return runner.cancel();
    }

    /**
     * Whether the generation has finished, without waiting.
     *
     * @return {@code true} once it has ended successfully, with an error, or cancelled (then
     *         {@link #await()} returns or throws at once)
     */
    public boolean isDone() {
        return runner.result().isDone();
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
            return runner.result().get();
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
            return runner.result().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
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
                    return runner.result().get();
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

    static AvatarException rethrow(Throwable cause) {
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
        CompletableFuture<RenderResult> f = runner.result().copy();
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
        return runner.frames().iterator();
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
                    if (!runner.frames().allFramesSeen()) {
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

    @Override
    public String toString() {
        return "Generation[" + runner.progress() + (runner.cancelled() ? ", cancelled" : "") + "]";
    }
}
