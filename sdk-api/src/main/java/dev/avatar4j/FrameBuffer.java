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
 *
 * <p>A live session's buffer ({@link Mode#LIVE_DROP}, {@link Mode#LIVE_BACK_PRESSURE}) differs in
 * two ways: it keeps no frame before the iterator opens (a live stream is joined while it runs,
 * from the frame after), and under {@link Mode#LIVE_DROP} the oldest frame is dropped even while
 * an iterator is open, so the session never waits for its consumer.
 */
final class FrameBuffer {
    private static final Object END = new Object();

    /** How the buffer treats a consumer that does not keep up. */
    enum Mode {
        /** A generation's: drop while nobody reads, then back-pressure; late iterators fail. */
        GENERATION,
        /** A live session's {@link LiveOptions.SlowConsumer#DROP_OLDEST}. */
        LIVE_DROP,
        /** A live session's {@link LiveOptions.SlowConsumer#BACK_PRESSURE}. */
        LIVE_BACK_PRESSURE
    }

    private final Mode mode;
    /** Set once the producer must never wait again (a live session closing). */
    private volatile boolean released;
    private final java.util.concurrent.atomic.AtomicLong dropped = new java.util.concurrent.atomic.AtomicLong();

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
        this(frames, Mode.GENERATION);
    }

    FrameBuffer(int frames, Mode mode) {
        this.mode = mode;
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
        if (mode != Mode.GENERATION) {
            offerLive(frame, checkpoint);
            return;
        }
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

    /**
     * A live session's offer: nothing is kept until an iterator is open (a live stream is joined
     * from the moment of joining; frames kept for nobody would outlive young collections and be
     * promoted, so the resident heap of a session fed to listeners only would grow until a full
     * collection); then it drops the oldest frame when full, unless under back-pressure (and the
     * buffer was not {@link #release() released}), where it waits as a generation does.
     */
    private void offerLive(Frame frame, Runnable checkpoint) {
        if (!iteratorOpened.get()) {
            return;
        }
        try {
            while (!frameSlots.tryAcquire()) {
                if (mode == Mode.LIVE_DROP || released) {
                    synchronized (queue) {
                        Object old = queue.poll();
                        if (old instanceof Frame) {
                            frameSlots.release(); // its slot, for this frame
                            dropped.incrementAndGet();
                        } else {
                            // none left (the end marker comes only after the last frame): the
                            // consumer took the frame and is about to free its slot
                            Thread.onSpinWait();
                        }
                    }
                } else if (!frameSlots.tryAcquire(100, TimeUnit.MILLISECONDS)) { // back-pressure
                    checkpoint.run();
                } else {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GenerationCancelledException("interrupted");
        }
        queue.offer(frame);
    }

    /** Frames a live buffer dropped because nobody took them in time. */
    long dropped() {
        return dropped.get();
    }

    /**
     * Makes every later {@link #offer} of a live buffer drop instead of waiting (a closing live
     * session); one waiting now stops within 100 ms.
     */
    void release() {
        released = true;
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
            if (framesDropped && mode == Mode.GENERATION) {
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
