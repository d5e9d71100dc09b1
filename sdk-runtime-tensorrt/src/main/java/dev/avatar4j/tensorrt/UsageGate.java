package dev.avatar4j.tensorrt;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Usage counting for native resources used by concurrent calls: every call {@link #enter()}s and
 * {@link #exit()}s; {@link #close()} refuses new calls, waits for those in flight and releases the
 * resource exactly once. If the closing thread is interrupted, the last {@link #exit()} releases it,
 * so it is never freed under a running call and never leaked. (Same contract as the ONNX backend's
 * gate; each backend module keeps its own copy so neither depends on the other.)
 */
final class UsageGate {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    private final Runnable release;
    private int inFlight;
    private boolean closing;
    private boolean done;

    UsageGate(Runnable release) {
        this.release = release;
    }

    /** Registers a call; false when closed (the caller must not touch the resource). */
    boolean enter() {
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
    void exit() {
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

    /** Calls in flight. */
    int inFlight() {
        lock.lock();
        try {
            return inFlight;
        } finally {
            lock.unlock();
        }
    }

    /** Whether the resource has been released. */
    boolean isReleased() {
        lock.lock();
        try {
            return done;
        } finally {
            lock.unlock();
        }
    }

    /** Refuses new calls and waits until the resource is released. Idempotent. */
    void close() {
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
                    Thread.currentThread().interrupt();
                    break;
                }
            }
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
