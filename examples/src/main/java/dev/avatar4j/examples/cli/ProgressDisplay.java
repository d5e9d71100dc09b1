package dev.avatar4j.examples.cli;

import dev.avatar4j.Progress;
import java.io.PrintStream;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Optional;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

/**
 * A terminal progress bar of a generation: frames done / total, the stage, and the time left.
 * The ETA comes from the SDK's work-based estimate ({@link Progress#eta()}), which is meaningful
 * long before the first frame is final.
 */
final class ProgressDisplay implements AutoCloseable {
    private final ProgressBar bar;
    private volatile Progress last;
    private boolean closed;

    ProgressDisplay(PrintStream err) {
        this.bar = new ProgressBarBuilder()
                .setTaskName("generating")
                .setInitialMax(-1)
                .setUnit(" frames", 1)
                .setUpdateIntervalMillis(250)
                .setSpeedUnit(ChronoUnit.SECONDS)
                .setEtaFunction(state -> eta())
                .setConsumer(new ConsoleProgressBarConsumer(err))
                .build();
    }

    /** Whether a bar makes sense: the CLI writes to the process's stderr and that is a terminal. */
    static boolean onTerminal(Avatar4jCli cli) {
        java.io.Console console = System.console();
        return console != null && console.isTerminal() && cli.err() == System.err;
    }

    private Optional<Duration> eta() {
        Progress p = last;
        return p == null ? Optional.empty() : p.eta();
    }

    /** Progress listener: called on the generation thread. */
    void update(Progress p) {
        last = p;
        synchronized (this) {
            if (closed) {
                return;
            }
            if (p.framesTotal() > 0 && bar.getMax() != p.framesTotal()) {
                bar.maxHint(p.framesTotal());
            }
            bar.stepTo(p.framesDone());
            bar.setExtraMessage(p.stage().name().toLowerCase(Locale.ROOT));
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            bar.close();
        }
    }
}
