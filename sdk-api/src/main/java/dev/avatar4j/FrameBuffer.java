package dev.avatar4j;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The frames of one run kept for {@link Generation#frames()}, {@link Generation#iterator()} and
 * {@link Generation#publisher()}: a bounded queue the runner offers every frame to and ends with
 * an end marker or the failure.
 *
 * <p>Until an iterator is open the oldest frames are dropped when it is full (and a later
 * {@link #iterator()} fails, so no frame is ever silently skipped); once it is open the runner
 * waits for the consumer (back-pressure), checking for a cancel while it waits.
 */
final class FrameBuffer {
    private static final Object END = new Object();

    private final ArrayBlockingQueue<Object> queue;
    /**
     * Frames the queue may hold: its capacity less one slot that stays free for the end marker, so
     * that ending never has to drop a frame an open iterator has not read yet.
     */
    private final Semaphore frameSlots;
    private final AtomicBoolean iteratorOpened = new AtomicBoolean();
    private volatile boolean framesDropped;
    private volatile boolean allFramesSeen;

    FrameBuffer(int frames) {
        this.queue = new ArrayBlockingQueue<>(Math.max(1, frames) + 1);
        this.frameSlots = new Semaphore(Math.max(1, frames));
    }

    /**
     * Offers the next frame (on the runner's thread): dropped-oldest while nobody reads, else waits
     * for room, running {@code checkpoint} every 100 ms of waiting.
     *
     * @throws GenerationCancelledException if the thread is interrupted while waiting, or from {@code checkpoint}
     */
    void offer(Frame frame, Runnable checkpoint) {
        synchronized (queue) {
            if (!iteratorOpened.get()) {
                // nobody reads yet: drop the oldest frame (its slot goes to this one)
                if (!frameSlots.tryAcquire()) {
                    queue.poll();
                    framesDropped = true;
                }
                queue.offer(frame);
                return;
            }
        }
        try {
            while (!frameSlots.tryAcquire(100, TimeUnit.MILLISECONDS)) { // back-pressure
                checkpoint.run();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GenerationCancelledException("interrupted");
        }
        queue.offer(frame); // always room: frames hold at most frameBuffer of its frameBuffer + 1 slots
    }

    /** Ends the frames after the last one. */
    void complete() {
        end(END);
    }

    /** Ends the frames with {@code failure}, which the iterator throws. */
    void fail(AvatarException failure) {
        end(failure);
    }

    private void end(Object marker) {
        // make room: the end marker must always get in, even if nobody reads the frames
        while (!queue.offer(marker)) {
            queue.poll();
            framesDropped = true;
        }
    }

    /** Whether an iterator has read up to the end (or the failure). */
    boolean allFramesSeen() {
        return allFramesSeen;
    }

    /** See {@link Generation#iterator()}. */
    Iterator<Frame> iterator() {
        synchronized (queue) { // atomic with the producer's decision to drop a frame
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
                        next = queue.take();
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
                    throw Generation.rethrow(e);
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
}
