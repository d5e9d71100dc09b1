package dev.avatar4j.examples.cli;

import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.media.PartFiles;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * What the CLI does when the JVM shuts down (Ctrl-C, {@code kill}): cancel the running work, wait a
 * while for it to remove its partial output, then delete whatever partial output ({@link PartFiles})
 * of this process is still there, so that no exit path leaves a {@code .part} file or folder.
 *
 * <p>Work that can only be cancelled by interrupting its thread (a blocking {@code dub}) runs through
 * {@link #interruptibly(Supplier)}; the shutdown interrupts it.
 */
final class ShutdownCleanup {
    /** How long the shutdown waits for the work to clean up itself before it deletes the parts. */
    static final Duration WAIT = Duration.ofSeconds(10);

    private final Object lock = new Object();
    private Thread worker;
    private CountDownLatch workerDone;
    private boolean shuttingDown;

    /**
     * Runs {@code work} on this thread so that a shutdown interrupts it. A failure after such an
     * interrupt is reported as {@link GenerationCancelledException} (the interrupt surfaces in many
     * shapes: an interrupted channel, a cancelled engine).
     *
     * @throws GenerationCancelledException if a shutdown began before or during the work
     */
    <T> T interruptibly(Supplier<T> work) {
        CountDownLatch done = new CountDownLatch(1);
        synchronized (lock) {
            if (shuttingDown) {
                throw new GenerationCancelledException("cancelled");
            }
            worker = Thread.currentThread();
            workerDone = done;
        }
        try {
            return work.get();
        } catch (RuntimeException e) {
            if (cancelled()) {
                GenerationCancelledException c = new GenerationCancelledException("cancelled");
                c.initCause(e);
                throw c;
            }
            throw e;
        } finally {
            synchronized (lock) {
                worker = null;
                workerDone = null;
            }
            if (cancelled()) {
                Thread.interrupted(); // the interrupt was ours; it must not reach the exit path
            }
            done.countDown();
        }
    }

    private boolean cancelled() {
        synchronized (lock) {
            return shuttingDown;
        }
    }

    /**
     * Interrupts the work running through {@link #interruptibly} (if any) and waits up to {@code wait}
     * for it to end; no new work starts afterwards.
     *
     * @return whether work was running
     */
    boolean cancelAndWait(Duration wait) {
        Thread t;
        CountDownLatch done;
        synchronized (lock) {
            shuttingDown = true;
            t = worker;
            done = workerDone;
        }
        if (t == null) {
            return false;
        }
        t.interrupt();
        try {
            done.await(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
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
