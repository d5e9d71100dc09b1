package dev.avatar4j.examples.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.BundleException;
import dev.avatar4j.Inspection;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code avatar4j inspect}: checks a bundle without loading it — the manifest, every file, every
 * file's sha256 (streamed; {@code --no-digests} skips it and then reads no weights at all), and
 * every graph's inputs and outputs, read from its file, against the contract of the family's
 * engine — and prints what it found ({@link AvatarModel#inspect}). A bundle whose graphs need more
 * memory than the machine has (LongCat's 15.9B DiT) can be checked on any machine. Exit 0 when
 * the bundle is valid, 3 when it is not.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = VersionProvider.class,
        description = {"Checks a model bundle without loading it: manifest, files, sha256 digests, and every "
                + "graph's inputs and outputs (read from the graph file, no weights) against the family's contract. "
                + "Exit 0 when the bundle is valid, 3 when it is not."},
        footer = {"", "Examples:", "  avatar4j inspect --model models/longcat-avatar-tiny",
                "  avatar4j inspect --model /data/longcat-bundle --no-digests --json"})
final class InspectCommand implements Callable<Integer> {
    private final Avatar4jCli cli;

    @Option(names = "--model", paramLabel = "DIR", required = true,
            description = "Model bundle directory (or .zip, which is extracted and verified first).")
    Path model;

    @Option(names = "--no-digests",
            description = "Do not check the files' sha256 (reads no weights; an absent external-data file is noted, "
                    + "not a problem).")
    boolean noDigests;

    @Option(names = "--json", description = "Print the findings as JSON on standard output.")
    boolean json;

    InspectCommand(Avatar4jCli cli) {
        this.cli = cli;
    }

    @Override
    public Integer call() {
        try {
            Inspection inspection;
            try (HashProgress progress = new HashProgress(ProgressDisplay.onTerminal(cli) ? cli.err() : null)) {
                inspection = AvatarModel.inspect(model, !noDigests, progress::hashed);
            }
            PrintStream out = cli.out();
            if (json) {
                try {
                    out.println(JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT).asString(inspection.details()));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write the findings as JSON", e);
                }
            } else {
                inspection.summary().forEach(out::println);
            }
            out.flush();
            if (!inspection.valid()) {
                int n = inspection.problems().size();
                String first = inspection.problems().getFirst();
                return cli.handleFailure(new BundleException(n == 1 ? first
                        : first + " (and " + (n - 1) + " more problem" + (n == 2 ? "" : "s") + ", listed on standard output)"));
            }
            return Avatar4jCli.EXIT_OK;
        } catch (RuntimeException | LinkageError e) {
            return cli.handleFailure(e);
        }
    }

    /** A bar of the bytes hashed, on a terminal only; made when the total is first known. */
    private static final class HashProgress implements AutoCloseable {
        private final PrintStream err;
        private ProgressBar bar;

        HashProgress(PrintStream err) {
            this.err = err;
        }

        void hashed(long done, long total) {
            if (err == null) {
                return;
            }
            if (bar == null) {
                bar = new ProgressBarBuilder().setTaskName("sha256").setInitialMax(total)
                        .setUnit(" MB", 1_000_000).setUpdateIntervalMillis(ProgressDisplay.REDRAW_MILLIS)
                        .showSpeed().setConsumer(new ConsoleProgressBarConsumer(err)).build();
            }
            bar.stepTo(done);
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
            }
        }
    }
}
