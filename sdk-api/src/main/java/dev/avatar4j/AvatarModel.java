package dev.avatar4j;

import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.DefaultBundle;
import dev.avatar4j.engine.BackendRegistry;
import dev.avatar4j.engine.FamilyEngine;
import dev.avatar4j.engine.FamilyEngines;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.SessionOptions;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model bundle loaded on a backend, ready to generate. Load it once and share it: it is
 * thread-safe and serves any number of concurrent generations.
 *
 * <pre>{@code
 * try (AvatarModel model = AvatarModel.load(Path.of("models/stableavatar-1.3b"))) {
 *     Avatar.from(face).speak(speech).model(model).render(Path.of("out.mp4"));
 * }
 * }</pre>
 *
 * <p>{@link #close()} waits for running generations to finish before it frees the model.
 */
public final class AvatarModel implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AvatarModel.class);

    /** System property naming the default model's bundle directory. */
    public static final String MODEL_PROPERTY = "avatar4j.model";
    /** Environment variable naming the default model's bundle directory. */
    public static final String MODEL_ENV = "AVATAR4J_MODEL";

    private static volatile AvatarModel defaultModel;

    private final Bundle bundle;
    private final Backend backend;
    private final FamilyEngine engine;
    private final boolean shared;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private int inFlight;
    private boolean closed;

    private AvatarModel(Bundle bundle, Backend backend, FamilyEngine engine, boolean shared) {
        this.bundle = bundle;
        this.backend = backend;
        this.engine = engine;
        this.shared = shared;
    }

    /**
     * Loads a bundle directory, or a {@code .zip} file holding one, on the default backend (chosen by
     * {@code -Davatar4j.backend}, {@code AVATAR4J_BACKEND}, or the best available). A zip is checked
     * (no escaping names, links, bombs) and extracted once into the bundle cache, keyed by its sha256;
     * see {@link dev.avatar4j.bundle.ZipBundle}.
     *
     * @throws BundleException  if the bundle is missing, malformed or does not match its family
     * @throws BackendException if no backend can run it
     */
    public static AvatarModel load(Path bundleDir) {
        return builder(bundleDir).load();
    }

    /** Options for loading a bundle (directory or {@code .zip}): backend, threads, custom operators. */
    public static Builder builder(Path bundleDir) {
        return new Builder(bundleDir);
    }

    /**
     * The model used by requests without {@link Avatar#model(AvatarModel)}: the bundle named by
     * {@code -Davatar4j.model} or {@code AVATAR4J_MODEL}, otherwise the {@code preview} bundle built
     * into the SDK (BlazeFace + Silero VAD: a CPU-only talking portrait without diffusion weights).
     * Loaded on first use and shared; {@link #close()} on it does nothing.
     */
    public static AvatarModel defaultModel() {
        AvatarModel m = defaultModel;
        if (m == null) {
            synchronized (AvatarModel.class) {
                m = defaultModel;
                if (m == null) {
                    Path dir = configuredDefault();
                    Bundle bundle = dir != null ? Bundle.open(dir) : DefaultBundle.open();
                    m = loadBundle(bundle, null, SessionOptions.defaults(), true);
                    defaultModel = m;
                }
            }
        }
        return m;
    }

    private static Path configuredDefault() {
        String p = System.getProperty(MODEL_PROPERTY);
        if (p == null || p.isBlank()) {
            p = System.getenv(MODEL_ENV);
        }
        return p == null || p.isBlank() ? null : Path.of(p);
    }

    private static AvatarModel loadBundle(Bundle bundle, String backendName, SessionOptions options, boolean shared) {
        Backend backend = BackendRegistry.global().select(backendName);
        FamilyEngine engine = FamilyEngines.create(bundle, backend, options);
        log.info("loaded model '{}' ({}) on {}", bundle.manifest().name(), bundle.manifest().family(),
                backend.description());
        return new AvatarModel(bundle, backend, engine, shared);
    }

    /** The bundle's name from its manifest. */
    public String name() {
        return bundle.manifest().name();
    }

    /** The model family, e.g. {@code stableavatar}. */
    public String family() {
        return engine.family();
    }

    /** The bundle directory. */
    public Path directory() {
        return bundle.directory();
    }

    /** The backend's name, e.g. {@code onnx}. */
    public String backendName() {
        return backend.name();
    }

    /** The backend's description (runtime version, device). */
    public String backendDescription() {
        return backend.description();
    }

    /** Output frame rate. */
    public int fps() {
        return engine.fps();
    }

    /** Width used when a request sets none. */
    public int defaultWidth() {
        return engine.defaultWidth();
    }

    /** Height used when a request sets none. */
    public int defaultHeight() {
        return engine.defaultHeight();
    }

    /** Denoising steps used when a request sets none. */
    public int defaultSteps() {
        return engine.defaultSteps();
    }

    /** Marks one generation as running; {@link #close()} waits for it. */
    Usage acquire() {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("model '" + name() + "' is closed");
            }
            inFlight++;
            return new Usage();
        } finally {
            lock.unlock();
        }
    }

    FamilyEngine engine() {
        return engine;
    }

    /** A running generation's hold on the model. */
    final class Usage implements AutoCloseable {
        private boolean released;

        FamilyEngine engine() {
            return engine;
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (!released) {
                    released = true;
                    inFlight--;
                    idle.signalAll();
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Waits until running generations finish, then frees the graph sessions. New generations on a
     * closed model fail with {@link IllegalStateException}. Does nothing on the shared
     * {@link #defaultModel()}. Idempotent.
     */
    @Override
    public void close() {
        if (shared) {
            return;
        }
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            while (inFlight > 0) {
                idle.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
        engine.close();
    }

    @Override
    public String toString() {
        return "AvatarModel[" + name() + ", " + family() + ", " + backend.name() + "]";
    }

    /** Options for {@link AvatarModel#builder(Path)}. */
    public static final class Builder {
        private final Path dir;
        private String backend;
        private int threads;
        private boolean allowCustomOps;

        private Builder(Path dir) {
            this.dir = Objects.requireNonNull(dir, "bundleDir");
        }

        /**
         * Backend by name ({@code onnx}, {@code tensorrt}); {@code null} or {@code auto} selects
         * as described in {@link AvatarModel#load(Path)}.
         */
        public Builder backend(String name) {
            this.backend = name;
            return this;
        }

        /** Threads a backend may use inside one graph run; 0 (default) lets it decide. */
        public Builder threads(int threads) {
            if (threads < 0) {
                throw new IllegalArgumentException("threads must be >= 0");
            }
            this.threads = threads;
            return this;
        }

        /**
         * Allows the backend to load custom-operator libraries for the graphs (off by default: bundles
         * are untrusted, and such a library is native code running with the caller's rights). Without
         * it no backend may load one. The ONNX Runtime backend registers no custom-op library even when
         * this is on: a graph that needs a custom operator fails to open.
         */
        public Builder allowCustomOps(boolean allow) {
            this.allowCustomOps = allow;
            return this;
        }

        /** Loads the model. */
        public AvatarModel load() {
            return loadBundle(Bundle.open(dir), backend, new SessionOptions(threads, allowCustomOps), false);
        }
    }
}
