package dev.avatar4j;

import dev.avatar4j.media.FrameSink;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs a sink's {@link FrameSink#accept} on its own thread, so that encoding and muxing frame
 * {@code i} overlaps with generating frame {@code i + 1} instead of adding to the generation's wall
 * time (docs/ARCHITECTURE.md §7 "a frame pipeline, not a final pass").
 *
 * <p><b>Buffers are recycled.</b> {@link #accept} copies the frame into a buffer of a small pool
 * and returns; the caller's frame is not referenced afterwards, so it dies young (it is usually
 * garbage as soon as the listeners are done with it). Once the delegate's {@code accept} returns,
 * the worker puts the buffer back into the pool, so the delegate must not keep the {@link Frame}
 * it is given beyond its {@code accept} call (the video writers of a
 * {@link dev.avatar4j.media.MediaCodec} convert it to their own format at once). Handing over the
 * caller's frames themselves kept them alive for as long as they waited in the queue: frames
 * outlived young collections, were promoted, and the old generation — and with it the resident
 * heap — grew with the video's length until a full collection (1.96x the resident set of a
 * 30-second video after ten minutes). The pool holds at most {@code capacity + 2} buffers (the
 * queue, the one in the worker's hands and the one being filled), about the bound the queue had, and they stay alive
 * for the whole generation, so steady state allocates no frame memory here at all.
 *
 * <p>The queue is bounded ({@code capacity} frames): a sink slower than the generation
 * back-pressures it rather than buffering without limit. Order is kept (one worker). A failure of the delegate is reported by the
 * next {@link #accept} or by {@link #complete} — the same exception object, so its type survives —
 * and the worker then drops the frames still queued. {@link #complete} and {@link #abort} run on the
 * caller's thread after the worker has stopped, so the delegate is never used by two threads at once.
 */
final class PipelinedFrameSink implements FrameSink {
    private static final AtomicInteger THREADS = new AtomicInteger();
    /** Marks the end of the frames; compared by identity. */
    private static final Frame END = Frame.adopt(0, 1, 1, 1, new byte[3]);

    private final FrameSink delegate;
    private final BlockingQueue<Frame> queue;
    /** Buffers the worker has finished with, for {@link #accept} to reuse; never more than capacity + 2. */
    private final BlockingQueue<byte[]> free;
    private final Thread worker;
    private volatile Throwable failure;
    private volatile boolean aborted;
    private boolean ended;

    PipelinedFrameSink(FrameSink delegate, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        }
        this.delegate = delegate;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.free = new ArrayBlockingQueue<>(capacity + 2);
        this.worker = new Thread(this::drain, "avatar4j-encoder-" + THREADS.incrementAndGet());
        worker.setDaemon(true);
        worker.start();
    }

    private void drain() {
        // encode in the CPU the graphs leave idle rather than preempting their workers
        BackgroundPriority.lowerCurrentThread();
        try {
            while (true) {
                Frame f = queue.take();
                if (f == END) {
                    return;
                }
                if (!aborted) {
                    delegate.accept(f);
                }
                free.offer(f.buffer()); // the delegate is done with it: reuse it for a later frame
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            failure = t;
            queue.clear(); // frees the producer if it waits for space; it sees the failure next
        }
    }

    @Override
    public void accept(Frame frame) {
        rethrowFailure();
        if (ended) {
            throw new IllegalStateException("sink already completed or aborted");
        }
        put(copy(frame));
    }

    /**
     * The frame in a pooled buffer: a recycled one of the right size, else a new one (only when
     * none is free). At most capacity + 2 buffers exist: each is in the queue, in the worker's
     * hands, being filled here, or free.
     */
    private Frame copy(Frame frame) {
        int bytes = frame.width() * frame.height() * 3;
        byte[] buf = free.poll();
        while (buf != null && buf.length != bytes) { // a frame of another size: drop the old buffers
            buf = free.poll();
        }
        if (buf == null) {
            buf = new byte[bytes];
        }
        frame.image().pixels().get(buf, 0, bytes);
        return Frame.adopt(frame.index(), frame.fps(), frame.width(), frame.height(), buf);
    }

    @Override
    public void complete() {
        if (ended) {
            throw new IllegalStateException("sink already completed or aborted");
        }
        rethrowFailure();
        ended = true;
        put(END);
        joinWorker();
        rethrowFailure();
        delegate.complete();
    }

    @Override
    public void abort() {
        aborted = true;
        if (!ended) {
            ended = true;
            queue.clear();
            queue.offer(END); // room is guaranteed: only this thread puts, and the queue was just cleared
        }
        joinWorker();
        delegate.abort();
    }

    private void put(Frame frame) {
        try {
            while (!queue.offer(frame, 50, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                if (failure != null || !worker.isAlive()) {
                    rethrowFailure();
                    throw new IllegalStateException("the encoder thread stopped");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GenerationCancelledException("interrupted while handing a frame to the encoder");
        }
    }

    private void joinWorker() {
        boolean interrupted = false;
        while (worker.isAlive()) {
            try {
                worker.join();
            } catch (InterruptedException e) {
                interrupted = true; // the delegate must not be touched while the worker may still use it
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void rethrowFailure() {
        Throwable t = failure;
        if (t == null) {
            return;
        }
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new AvatarException("frame sink failed: " + FailureMessages.of(t, "no detail"), t);
    }
}
