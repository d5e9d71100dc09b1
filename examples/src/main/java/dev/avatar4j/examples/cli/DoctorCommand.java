package dev.avatar4j.examples.cli;

import dev.avatar4j.AvatarException;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.engine.BackendRegistry;
import dev.avatar4j.engine.MediaRegistry;
import dev.avatar4j.media.MediaCodec;
import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.BackendProvider;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code avatar4j doctor}: what this installation can run — the JDK, every backend with its probe
 * result (and why it is unavailable), the backend {@code auto} picks, the media codecs and the
 * default model. Exits 0 when at least one backend is available, else 4.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Checks the installation: JDK, inference backends, media codecs and the default model.")
final class DoctorCommand implements Callable<Integer> {
    /** Backends the project ships, listed even when their module is not on the class path. */
    private static final Map<String, String> KNOWN_BACKENDS = new LinkedHashMap<>();

    static {
        KNOWN_BACKENDS.put("tensorrt", "dev.avatar4j:sdk-runtime-tensorrt");
        KNOWN_BACKENDS.put("onnx", "dev.avatar4j:sdk-runtime-onnx");
    }

    private final Avatar4jCli cli;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Also load this model bundle (directory or .zip) and report on it (default: only the default model).")
    Path model;

    DoctorCommand(Avatar4jCli cli) {
        this.cli = cli;
    }

    @Override
    public Integer call() {
        PrintStream out = cli.out();
        String dash = out.charset().newEncoder().canEncode('\u2014') ? "\u2014" : "-";

        out.println("avatar4j " + VersionProvider.version());
        out.println(Avatar4jCli.format("java      %s (%s), %s", Runtime.version(),
                System.getProperty("java.vendor"), System.getProperty("java.home")));
        out.println(Avatar4jCli.format("os        %s %s (%s), %d processors, max heap %d MiB",
                System.getProperty("os.name"), System.getProperty("os.version"), System.getProperty("os.arch"),
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20));

        BackendRegistry registry = BackendRegistry.global();
        Map<String, BackendProbe> probes = registry.probeAll();
        out.println("backends  (preferred first)");
        String firstAvailable = null;
        List<String> names = new ArrayList<>();
        for (BackendProvider p : registry.providers()) {
            BackendProbe probe = probes.get(p.name());
            names.add(p.name().toLowerCase(Locale.ROOT));
            if (probe.available() && firstAvailable == null) {
                firstAvailable = p.name();
            }
            out.println(Avatar4jCli.format("  %-10s rank %-3d %s", p.name(), p.rank(), probe.available()
                    ? "available " + dash + " " + probe.detail()
                    : "unavailable " + dash + " " + probe.detail()));
        }
        for (Map.Entry<String, String> known : KNOWN_BACKENDS.entrySet()) {
            if (!names.contains(known.getKey())) {
                out.println(Avatar4jCli.format("  %-10s %-8s unavailable %s not on the class path (add %s)",
                        known.getKey(), "", dash, known.getValue()));
            }
        }
        out.println("auto      " + (firstAvailable != null ? firstAvailable : "none: no backend is available"));
        String configured = BackendRegistry.configuredName();
        if (configured != null) {
            out.println("selected  " + configured + " (by -D" + BackendRegistry.BACKEND_PROPERTY + " or "
                    + BackendRegistry.BACKEND_ENV + ")");
        }

        List<String> codecs = new ArrayList<>();
        for (MediaCodec c : MediaRegistry.global().codecs()) {
            codecs.add(c.name() + " (rank " + c.rank() + ")");
        }
        out.println("media     " + String.join(", ", codecs));
        if (MediaRegistry.global().codecs().stream().allMatch(c -> c.name().equals("jdk"))) {
            out.println("          no MP4 output: add dev.avatar4j:sdk-media");
        }

        if (firstAvailable != null) {
            // as generate does: load on the backend auto picks, without the SDK's fallback warning
            out.println("model     " + describeDefaultModel(configured == null ? firstAvailable : null, dash));
            if (model != null) {
                out.println("--model   " + describe(model, dash));
            }
        } else {
            out.println("model     not loaded " + dash + " no backend is available");
        }
        out.flush();
        return firstAvailable != null ? Avatar4jCli.EXIT_OK : Avatar4jCli.EXIT_BACKEND;
    }

    private static String describeDefaultModel(String backend, String dash) {
        String source = System.getProperty(AvatarModel.MODEL_PROPERTY) != null ? "-D" + AvatarModel.MODEL_PROPERTY
                : System.getenv(AvatarModel.MODEL_ENV) != null ? "$" + AvatarModel.MODEL_ENV : "built-in preview";
        try {
            AvatarModel m = backend != null ? BackendOption.defaultModelOn(backend) : AvatarModel.defaultModel();
            return summary(m) + " [" + source + "]";
        } catch (AvatarException | IllegalStateException e) {
            return "unavailable " + dash + " " + Avatar4jCli.oneLine(e.getMessage()) + " [" + source + "]";
        }
    }

    private static String describe(Path dir, String dash) {
        try (AvatarModel m = AvatarModel.load(dir)) {
            return summary(m);
        } catch (AvatarException | IllegalStateException e) {
            return "unavailable " + dash + " " + Avatar4jCli.oneLine(e.getMessage());
        }
    }

    private static String summary(AvatarModel m) {
        return Avatar4jCli.format("%s (%s) on %s, %dx%d, %d fps, %d steps by default, %s",
                Avatar4jCli.printable(m.name()), Avatar4jCli.printable(m.family()),
                m.backendName(), m.defaultWidth(), m.defaultHeight(), m.fps(), m.defaultSteps(), m.directory());
    }
}
