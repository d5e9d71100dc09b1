package dev.avatar4j.examples.cli;

import dev.avatar4j.Generation;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.media.PartFiles;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * What the CLI does when the JVM shuts down (Ctrl-C, {@code kill}): cancel the running generation or
 * dub, wait a while for it to remove its partial output, then delete whatever partial output
 * ({@link PartFiles}) of this process is still there, so that no exit path leaves a {@code .part}
 * file or folder.
 *
 * <p>{@code generate} and {@code dub} both start their work through {@link #start}, which tracks the
 * {@link Generation} handle until the command has cleaned up: a shutdown cancels it
 * ({@link Generation#cancel()}) the same way for both.
 */
final class ShutdownCleanup {
    /** How long the shutdown waits for the work to clean up itself before it deletes the parts. */
    static final Duration WAIT = Duration.ofSeconds(10);

    private final Object lock = new Object();
    private Running running;
    private boolean shuttingDown;

    /** A generation in flight and the signal that the command's clean-up after it is over. */
    private record Running(Generation generation, CountDownLatch finished) {
    }

    /**
     * Starts a generation or a dub through {@code start}, unless a shutdown began; until
     * {@link #ended()} a shutdown cancels it and waits for {@code finished}.
     *
     * @param start    starts the work (called under the lock, so a shutdown cannot slip in between)
     * @param finished counted down by the command once it has cleaned up after the work
     * @return the started generation
     * @throws GenerationCancelledException if a shutdown began before
     */
    Generation start(Supplier<Generation> start, CountDownLatch finished) {
        synchronized (lock) {
            if (shuttingDown) {
                throw new GenerationCancelledException("generation cancelled");
            }
            Generation g = start.get();
            running = new Running(g, finished);
            return g;
        }
    }

    /** The work started by {@link #start} is over; a shutdown has nothing to cancel any more. */
    void ended() {
        synchronized (lock) {
            running = null;
        }
    }

    /** Whether a generation or dub is running. */
    boolean running() {
        synchronized (lock) {
            return running != null;
        }
    }

    /**
     * Cancels the running generation or dub (if any) and waits up to {@code wait} for the command's
     * clean-up; no new work starts afterwards.
     *
     * @return whether this call requested the cancellation of running work
     */
    boolean cancelAndWait(Duration wait) {
        Running r;
        synchronized (lock) {
            shuttingDown = true;
            r = running;
        }
        if (r == null) {
            return false;
        }
        boolean requested = r.generation().cancel();
        try {
            r.finished().await(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return requested;
    }

    /**
     * The shutdown hook's work: {@code cancel} (which waits up to {@link #WAIT}), then delete the
     * partial outputs of this process that are left.
     *
     * @param cancel cancels the running work and waits for it, given the time to wait
     * @return how many partial outputs had to be deleted here
     */
    static int onShutdown(java.util.function.Consumer<Duration> cancel) {
        try {
            cancel.accept(WAIT);
        } catch (RuntimeException e) {
            // nothing to report at exit; the parts are removed all the same
        }
        return PartFiles.deleteOwn();
    }
}
