package dev.avatar4j.examples.cli;

import dev.avatar4j.BackendException;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.backend.BackendRegistry;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.tensorrt.TensorRtBackend;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code avatar4j engines build --model DIR}: builds (or rebuilds) the TensorRT engine of every
 * graph of a model bundle into the engine cache, so the first generation does not pay for it.
 * Without a usable TensorRT it fails with exit code 4 and the probe's reason.
 */
@Command(name = "engines", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Manages the TensorRT engine cache.")
final class EnginesCommand implements Runnable {
    @Spec
    CommandSpec spec;

    /** This command with its {@code build} subcommand. */
    static CommandLine commandLine(Avatar4jCli cli) {
        return new CommandLine(new EnginesCommand()).addSubcommand("build", new Build(cli));
    }

    /** Without a subcommand: a usage error. */
    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: engines build --model DIR");
    }

    /** {@code engines build}. */
    @Command(name = "build", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
            description = "Builds the TensorRT engines of a model bundle's graphs into the engine cache "
                    + "(-Davatar4j.tensorrt.engineCache, else $AVATAR4J_CACHE/engines, else ~/.cache/avatar4j/engines).")
    static final class Build implements Callable<Integer> {
        private final Avatar4jCli cli;

        @Option(names = "--model", required = true, paramLabel = "DIR", description = "The model bundle directory.")
        Path model;

        Build(Avatar4jCli cli) {
            this.cli = cli;
        }

        @Override
        public Integer call() {
            Bundle bundle = Bundle.open(model);
            Backend backend = BackendRegistry.global().select("tensorrt");
            if (!(backend instanceof TensorRtBackend trt)) {
                throw new BackendException("backend 'tensorrt' is not the TensorRT backend: " + backend.description());
            }
            cli.out().println("TensorRT engines for " + Avatar4jCli.printable(bundle.manifest().name()) + " on " + trt.description());
            for (String key : bundle.manifest().graphs().keySet()) {
                Path engine = trt.prebuild(bundle.graph(key)); // the verified bytes, never the path
                cli.out().println(Avatar4jCli.format("  %-14s %s", key, engine));
            }
            cli.out().flush();
            return Avatar4jCli.EXIT_OK;
        }
    }
}
