package dev.avatar4j.spi;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Usage counting for a native resource used by concurrent calls (the idea of ONNX Runtime's own
 * {@code NativeObject} usage handles): every call {@link #enter()}s and {@link #exit()}s, and
 * {@link #close()} refuses new calls, waits for the ones in flight and then releases the resource
 * exactly once. If the closing thread is interrupted while waiting, it stops waiting and the last
 * call to {@link #exit()} releases the resource instead, so it is never freed under a running call
 * and never leaked.
 *
 * <p>A building block for {@link Backend} implementations: a {@link GraphSession} must stay usable by
 * concurrent {@code run} calls and its {@code close()} must be safe while a run is in flight; every
 * backend (ONNX Runtime, TensorRT) guards its native handles with one of these.
 */
public final class UsageGate {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    private final Runnable release;
    private int inFlight;
    private boolean closing;
    private boolean done;

    /**
     * Creates an open gate with no call in flight.
     *
     * @param release frees the resource; run once, by whichever thread sees the last usage end after close
     */
    public UsageGate(Runnable release) {
        this.release = release;
    }

    /**
     * Registers a call.
     *
     * @return false when the gate is closed (the caller must not touch the resource)
     */
    public boolean enter() {
        lock.lock();
        try {
            if (closing) {
                return false;
            }
            inFlight++;
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Ends a call registered by a successful {@link #enter()}. */
    public void exit() {
        lock.lock();
        try {
            if (inFlight <= 0) {
                throw new IllegalStateException("exit() without enter()");
            }
            inFlight--;
            if (closing && inFlight == 0) {
                releaseLocked();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether the gate is closed.
     *
     * @return {@code true} once {@link #close()} has been called (the resource may still be in use
     *         by calls in flight)
     */
    public boolean isClosed() {
        lock.lock();
        try {
            return closing;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The calls in flight.
     *
     * @return the number of successful {@link #enter()}s not yet matched by {@link #exit()}
     */
    public int inFlight() {
        lock.lock();
        try {
            return inFlight;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Refuses new calls and waits until the resource has been released (immediately when nothing is
     * in flight). Idempotent; concurrent callers all wait.
     *
     * @return nanoseconds spent waiting for calls in flight
     */
    public long close() {
        long t0 = System.nanoTime();
        lock.lock();
        try {
            if (!closing) {
                closing = true;
                if (inFlight == 0) {
                    releaseLocked();
                }
            }
            while (!done) {
                try {
                    released.await(1, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    // Keep the interrupt for the caller; the last exit() releases the resource.
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            return System.nanoTime() - t0;
        } finally {
            lock.unlock();
        }
    }

    private void releaseLocked() {
        if (done) {
            return;
        }
        try {
            release.run();
        } finally {
            done = true;
            released.signalAll();
        }
    }
}
