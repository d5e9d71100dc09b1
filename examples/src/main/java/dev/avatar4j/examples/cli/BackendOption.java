package dev.avatar4j.examples.cli;

import dev.avatar4j.AvatarModel;
import dev.avatar4j.BackendException;
import dev.avatar4j.Backends;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code --backend auto|onnx|tensorrt} option shared by {@code generate} and {@code dub}
 * (a picocli mixin), and how a model is loaded on the chosen backend: an unknown name is a usage
 * error (exit 2); a known one that cannot run here fails with its probe's reason (exit 4) before
 * any model loads; {@code auto} (or nothing configured) picks the best available backend here.
 */
final class BackendOption {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "Inference backend: auto, onnx or tensorrt. Default: $AVATAR4J_BACKEND, else auto.")
    String backend;

    /** A model and whether the command must close it. */
    record LoadedModel(AvatarModel model, boolean owned) implements AutoCloseable {
        @Override
        public void close() {
            if (owned) {
                model.close();
            }
        }
    }

    /**
     * Checks {@code --backend} against the providers on the class path; an unknown name is a
     * usage error (exit 2), a known but unavailable one a backend failure (exit 4, when loading).
     *
     * @return the lower-case name, or null when not given
     */
    String validate() {
        if (backend == null) {
            return null;
        }
        String name = backend.strip().toLowerCase(Locale.ROOT);
        List<String> valid = new ArrayList<>();
        valid.add("auto");
        for (Backends.Status b : Backends.probe()) {
            valid.add(b.name().toLowerCase(Locale.ROOT));
        }
        if (!valid.contains(name)) {
            throw new ParameterException(spec.commandLine(), "unknown backend '" + backend + "'; choose one of: "
                    + String.join(", ", valid));
        }
        return name;
    }

    /**
     * Resolves {@code auto} (or nothing configured) to the best available backend here, so that
     * the expected fallback (e.g. no GPU for TensorRT) is a debug line rather than a warning on
     * every run; {@code avatar4j doctor} explains the choice.
     *
     * @param requested the validated {@code --backend}, or null
     * @return the backend name to load on, or null to let the SDK decide (and report)
     */
    static String resolve(String requested) {
        String wanted = requested != null ? requested : Backends.configured().orElse(null);
        if (wanted != null && !wanted.equalsIgnoreCase("auto")) {
            // a named backend that cannot run here fails with its probe's reason before any model loads
            String key = wanted.toLowerCase(Locale.ROOT);
            for (Backends.Status b : Backends.probe()) {
                if (b.name().equals(key) && !b.available()) {
                    throw new BackendException("backend '" + key + "' is not available: " + b.detail());
                }
            }
            return requested;
        }
        List<String> skipped = new ArrayList<>();
        for (Backends.Status b : Backends.probe()) {
            if (b.available()) {
                if (!skipped.isEmpty()) {
                    LoggerFactory.getLogger(BackendOption.class).debug("backend auto: {} ({})", b.name(),
                            String.join("; ", skipped));
                }
                return b.name();
            }
            skipped.add(b.name() + " unavailable: " + b.detail());
        }
        return requested; // none available: the SDK says so
    }

    /**
     * Validates and resolves {@code --backend}, then loads {@code model} (or the default model when
     * null) on it.
     */
    LoadedModel load(Path model) {
        return load(model, resolve(validate()));
    }

    /** Loads {@code model} (or the default model when null) on an already resolved backend. */
    static LoadedModel load(Path model, String backendName) {
        if (model != null) {
            return new LoadedModel(AvatarModel.builder(model).backend(backendName).load(), true);
        }
        if (backendName == null) {
            return new LoadedModel(AvatarModel.defaultModel(), false);
        }
        AvatarModel m = defaultModelOn(backendName);
        if (!backendName.equals("auto") && !m.backendName().equalsIgnoreCase(backendName)) {
            // only possible when the default model was already loaded in this JVM
            throw new BackendException("the default model is already loaded on backend '" + m.backendName()
                    + "'; use --model DIR to load it on '" + backendName + "'");
        }
        return new LoadedModel(m, false);
    }

    /**
     * The shared default model, loaded (if this is the first use) on {@code backendName}: the SDK
     * selects the default model's backend from the {@code avatar4j.backend} property, so it is set
     * for the duration of the load.
     */
    static AvatarModel defaultModelOn(String backendName) {
        String previous = System.getProperty(Backends.PROPERTY);
        System.setProperty(Backends.PROPERTY, backendName);
        try {
            return AvatarModel.defaultModel();
        } finally {
            if (previous == null) {
                System.clearProperty(Backends.PROPERTY);
            } else {
                System.setProperty(Backends.PROPERTY, previous);
            }
        }
    }
}
