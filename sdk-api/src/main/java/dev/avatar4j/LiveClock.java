package dev.avatar4j;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;

/**
 * The time a {@link LiveSession} paces its frames by: the system's monotonic clock, or in tests a
 * clock they move by hand, so that pacing is tested without depending on how fast the machine is.
 */
interface LiveClock {
    /** The system's {@link System#nanoTime()}. */
    LiveClock SYSTEM = new LiveClock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void await(Condition condition, long deadline) throws InterruptedException {
            long wait = deadline - System.nanoTime();
            if (wait > 0) {
                condition.awaitNanos(wait);
            }
        }
    };

    /** Now, in nanoseconds (only differences matter). */
    long nanoTime();

    /**
     * Waits on {@code condition} (its lock held) until {@code deadline} at the latest; may return
     * early (a signal, or spuriously): callers loop.
     */
    void await(Condition condition, long deadline) throws InterruptedException;

    /** A test clock polled by the waiter every millisecond of real time. */
    static LiveClock polling(java.util.function.LongSupplier now) {
        return new LiveClock() {
            @Override
            public long nanoTime() {
                return now.getAsLong();
            }

            @Override
            public void await(Condition condition, long deadline) throws InterruptedException {
                if (now.getAsLong() < deadline) {
                    condition.await(1, TimeUnit.MILLISECONDS);
                }
            }
        };
    }
}
