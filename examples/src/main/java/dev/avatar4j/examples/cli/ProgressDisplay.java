package dev.avatar4j.examples.cli;

import dev.avatar4j.Progress;
import java.io.PrintStream;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

/**
 * A terminal progress bar of a generation. It follows the work done (model calls), not the frames
 * (which come late and in bursts, so a frame bar sat at 0 % through the whole denoising and then
 * jumped to 100 %), and says what runs now, e.g. {@code denoising window 3/7, step 12/30}; the text
 * is {@link ProgressLine}'s. The progressbar library redraws it twice a second whether or not a
 * snapshot arrived ({@code continuousUpdate}), so the clock and the ETA keep moving during a long
 * model call.
 */
final class ProgressDisplay implements AutoCloseable {
    /** Redraw interval: at least once a second, as the issue asks, with a margin. */
    static final int REDRAW_MILLIS = 500;

    private final ProgressBar bar;
    private final ProgressLine line;
    private final LongSupplier clock;
    private boolean closed;

    ProgressDisplay(PrintStream err) {
        this(err, System::nanoTime);
    }

    ProgressDisplay(PrintStream err, LongSupplier clock) {
        this.clock = clock;
        this.line = new ProgressLine(clock.getAsLong());
        this.bar = new ProgressBarBuilder()
                .setTaskName("generating")
                .setInitialMax(1)
                .setUpdateIntervalMillis(REDRAW_MILLIS)
                .continuousUpdate()
                .setRenderer((state, maxLength) -> render(maxLength))
                .setConsumer(new ConsoleProgressBarConsumer(err))
                .build();
    }

    /** Whether a bar makes sense: the CLI writes to the process's stderr and that is a terminal. */
    static boolean onTerminal(Avatar4jCli cli) {
        java.io.Console console = System.console();
        return console != null && console.isTerminal() && cli.err() == System.err;
    }

    private synchronized String render(int maxLength) {
        return line.render(clock.getAsLong(), maxLength);
    }

    /** Progress listener: called on the generation thread; never blocks on the terminal. */
    synchronized void update(Progress p) {
        if (!closed) {
            line.update(p, clock.getAsLong());
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        bar.close(); // draws the last line; outside the lock, the renderer takes it
    }
}
