package dev.avatar4j;

import dev.avatar4j.audio.OpenResampler;
import dev.avatar4j.family.LiveFeed;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The speech queue and frame clock of a {@link LiveSession}, the {@link LiveFeed} its engine reads.
 * Pushes (any thread) are resampled to the model's rate as they come ({@link OpenResampler}, so the
 * queued samples do not depend on how the speech was cut into pushes), queued up to a capacity
 * (a push waits for room), and split into utterances by {@link #endOfSpeech()}; {@link #interrupt()}
 * drops what is queued and starts a new epoch. The session's thread paces itself with
 * {@link #awaitFrame} and takes the samples with {@link #read}.
 *
 * <p>Thread-safe. Two locks: {@code pushLock} orders whole pushes (a push's samples stay together and
 * the resampler has one user); {@code lock} guards the queue and the clock's state, and is held only
 * briefly (a push waiting for room waits on it, releasing it).
 */
final class SpeechFeed implements LiveFeed {
    /** Marks the end of an utterance in the queue. */
    private static final Object END_MARK = new Object();
    /**
     * How late the session may fall and still catch up (make the frames it missed at once): a GC
     * pause or a busy CPU. Falling further behind (a consumer under back-pressure) starts the clock
     * over instead.
     */
    static final long CATCH_UP_NANOS = 500_000_000L;
    /** Input samples resampled and queued at a time, so that a long push waits for room piece by piece. */
    private static final int PIECE = 4096;

    private final int rate;
    private final int fps;
    private final long capacity;
    private final LiveClock clock;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** Queued chunks ({@code float[]} at {@link #rate}) and end marks, oldest first; guarded by lock. */
    private final ArrayDeque<Object> queue = new ArrayDeque<>();
    private int headOffset;
    private long queued;
    /** Samples ever queued, dropped ones included: the position after the newest queued sample. */
    private long produced;
    private int epoch;
    private boolean closed;
    private Throwable failure;
    // the clock (session thread, under lock)
    private boolean started;
    private long frame;
    private long base;
    private long baseFrame;
    private long restarts;
    /** The thread that runs the engine (set at its first frame). */
    private volatile Thread sessionThread;

    private final ReentrantLock pushLock = new ReentrantLock();
    // the push side (under pushLock)
    private OpenResampler resampler;
    private int pushEpoch;
    /** The odd byte of a PCM16 push, waiting for its partner; -1 when none. */
    private int carry = -1;

    SpeechFeed(int rate, int fps, Duration maxQueued, LiveClock clock) {
        this.rate = rate;
        this.fps = fps;
        this.capacity = Math.max(1, maxQueued.toNanos() * rate / 1_000_000_000L);
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    int sampleRate() {
        return rate;
    }

    // ---- the producer side --------------------------------------------------------------------

    /** See {@link LiveSession#push(float[], int, int, int)}. */
    void push(float[] pcm, int off, int len, int pcmRate) {
        pushLock.lock();
        try {
            ensureOpen();
            pushFloats(pcm, off, len, pcmRate);
        } finally {
            pushLock.unlock();
        }
    }

    /** See {@link LiveSession#pushPcm16(byte[], int, int, int)}: little-endian signed 16-bit, mono. */
    void pushPcm16(byte[] pcm, int off, int len, int pcmRate) {
        pushLock.lock();
        try {
            ensureOpen();
            syncEpoch();
            int have = (carry >= 0 ? 1 : 0) + len;
            float[] samples = new float[have / 2];
            int b = off;
            for (int i = 0; i < samples.length; i++) {
                int lo;
                if (i == 0 && carry >= 0) {
                    lo = carry;
                } else {
                    lo = pcm[b++] & 0xFF;
                }
                int hi = pcm[b++];
                samples[i] = (short) ((hi << 8) | lo) / 32768f;
            }
            carry = (have & 1) == 1 ? pcm[off + len - 1] & 0xFF : -1;
            pushFloats(samples, 0, samples.length, pcmRate);
        } finally {
            pushLock.unlock();
        }
    }

    /** Resamples and queues, piece by piece; stops (dropping the rest) when an interrupt comes. */
    private void pushFloats(float[] pcm, int off, int len, int pcmRate) {
        syncEpoch();
        int myEpoch = pushEpoch;
        if (resampler == null || resampler.fromRate() != pcmRate) {
            if (resampler != null && !append(resampler.finish(), myEpoch, false)) {
                return;
            }
            resampler = new OpenResampler(pcmRate, rate);
        }
        for (int i = off; i < off + len; i += PIECE) {
            float[] out = resampler.accept(pcm, i, Math.min(PIECE, off + len - i));
            if (!append(out, myEpoch, true)) {
                return; // interrupted: the rest of this push is dropped with what was queued
            }
        }
    }

    /** See {@link LiveSession#endOfSpeech()}. */
    void endOfSpeech() {
        pushLock.lock();
        try {
            ensureOpen();
            syncEpoch();
            carry = -1;
            if (resampler != null && !append(resampler.finish(), pushEpoch, false)) {
                return;
            }
            lock.lock();
            try {
                if (epoch == pushEpoch) {
                    queue.add(END_MARK);
                    changed.signalAll();
                }
            } finally {
                lock.unlock();
            }
        } finally {
            pushLock.unlock();
        }
    }

    /**
     * After an interrupt the push side starts over: the resampler's pending input is dropped (its
     * outputs counted as produced, so positions stay those of the pushed speech) and an odd PCM16 byte too.
     */
    private void syncEpoch() {
        lock.lock();
        try {
            if (pushEpoch != epoch) {
                pushEpoch = epoch;
                if (resampler != null) {
                    produced += Math.max(0, resampler.pending());
                    resampler.reset();
                }
                carry = -1;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Queues {@code samples}, waiting for room when {@code wait} (a piece larger than the whole
     * capacity goes into an empty queue).
     *
     * @return false when an interrupt came first (nothing queued)
     */
    private boolean append(float[] samples, int myEpoch, boolean wait) {
        lock.lock();
        try {
            while (wait && !closed && epoch == myEpoch && queued > 0 && queued + samples.length > capacity) {
                try {
                    changed.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AvatarException("interrupted while waiting for room in the speech queue");
                }
            }
            ensureOpenLocked();
            if (epoch != myEpoch) {
                return false;
            }
            if (samples.length > 0) {
                queue.add(samples);
                queued += samples.length;
                produced += samples.length;
                changed.signalAll();
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** See {@link LiveSession#interrupt()}. */
    void interrupt() {
        lock.lock();
        try {
            ensureOpenLocked();
            epoch++;
            queue.clear();
            queued = 0;
            headOffset = 0;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Speech queued and not yet taken by the engine. */
    Duration queued() {
        lock.lock();
        try {
            return Duration.ofNanos(queued * 1_000_000_000L / rate);
        } finally {
            lock.unlock();
        }
    }

    /** Times the clock started over because the session fell more than a frame behind. */
    long restarts() {
        lock.lock();
        try {
            return restarts;
        } finally {
            lock.unlock();
        }
    }

    /** Ends the session: the engine's next {@link #awaitFrame} returns false, pushes fail. */
    void close(Throwable why) {
        lock.lock();
        try {
            if (!closed) {
                closed = true;
                failure = why;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Whether the calling thread is the session's (a listener). */
    boolean isSessionThread() {
        return Thread.currentThread() == sessionThread;
    }

    boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    private void ensureOpen() {
        lock.lock();
        try {
            ensureOpenLocked();
        } finally {
            lock.unlock();
        }
    }

    private void ensureOpenLocked() {
        if (closed) {
            throw failure == null ? new IllegalStateException("the live session is closed")
                    : new IllegalStateException("the live session has ended: " + FailureMessages.of(failure,
                            failure.getClass().getSimpleName()), failure);
        }
    }

    // ---- the engine side (the session's thread) ------------------------------------------------

    @Override
    public boolean awaitFrame(Runnable checkpoint) {
        lock.lock();
        try {
            if (closed) {
                return false;
            }
            long now = clock.nanoTime();
            if (!started) {
                started = true;
                sessionThread = Thread.currentThread();
                base = now;
                baseFrame = frame;
            }
            long due = base + (frame - baseFrame) * 1_000_000_000L / fps;
            if (now - due > Math.max(CATCH_UP_NANOS, 1_000_000_000L / fps)) {
                base = now; // too late to catch up: keep the pace from now on, do not rush
                baseFrame = frame;
                due = now;
                restarts++;
            }
            while (!closed && clock.nanoTime() < due) {
                checkpoint.run();
                try {
                    clock.await(changed, due);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new GenerationCancelledException("interrupted");
                }
            }
            if (closed) {
                return false;
            }
            frame++;
            return true;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int epoch() {
        lock.lock();
        try {
            return epoch;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int read(float[] dst, int off, int len, int ep) {
        lock.lock();
        try {
            if (ep != epoch) {
                return STALE;
            }
            int n = 0;
            while (n < len && !queue.isEmpty()) {
                Object head = queue.peek();
                if (head == END_MARK) {
                    if (n == 0) {
                        queue.poll();
                        return END;
                    }
                    break;
                }
                float[] a = (float[]) head;
                int take = Math.min(len - n, a.length - headOffset);
                System.arraycopy(a, headOffset, dst, off + n, take);
                n += take;
                headOffset += take;
                if (headOffset == a.length) {
                    queue.poll();
                    headOffset = 0;
                }
            }
            if (n > 0) {
                queued -= n;
                changed.signalAll(); // room for a waiting push
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long position(int ep) {
        lock.lock();
        try {
            return ep != epoch ? -1 : produced - queued;
        } finally {
            lock.unlock();
        }
    }
}
