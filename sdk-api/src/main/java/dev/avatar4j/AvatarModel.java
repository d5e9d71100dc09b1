package dev.avatar4j;

import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.DefaultBundle;
import dev.avatar4j.bundle.ZipBundle;
import dev.avatar4j.backend.BackendRegistry;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.FamilyEngines;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.SessionOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
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
 * <p>{@link #close()} waits for running generations to finish before it frees the model;
 * {@link #close(Duration)} gives up waiting after a timeout. Neither may be called from a
 * generation's own thread (a {@link FrameListener} or {@link ProgressListener} of a generation or
 * a {@link Dub dub} on this model): it would wait for itself,
 * so it fails fast with {@link IllegalStateException} instead; cancel the generation, or close the
 * model once it has ended.
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
    private final FamilyEngine<?> engine;
    private final boolean shared;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private int inFlight;
    /** Threads running a generation on this model, with how many each runs (guarded by {@link #lock}). */
    private final Map<Thread, Integer> users = new HashMap<>();
    private boolean closed;
    private boolean freed;

    private AvatarModel(Bundle bundle, Backend backend, FamilyEngine<?> engine, boolean shared) {
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
     * @param bundleDir a bundle directory (holding {@code manifest.json}) or a {@code .zip} of one;
     *                  not null
     * @return the loaded model; the caller owns it and must {@link #close()} it
     * @throws BundleException  if the bundle is missing, malformed or does not match its family
     * @throws BackendException if no backend can run it
     */
    public static AvatarModel load(Path bundleDir) {
        return builder(bundleDir).load();
    }

    /**
     * Options for loading a bundle (directory or {@code .zip}): backend, threads, custom operators.
     * Nothing is read until {@link Builder#load()}.
     *
     * @param bundleDir a bundle directory or a {@code .zip} of one; not null
     * @return a builder with every option at its default
     * @throws NullPointerException if {@code bundleDir} is null
     */
    public static Builder builder(Path bundleDir) {
        return new Builder(bundleDir);
    }

    /**
     * The model used by requests without {@link Avatar#model(AvatarModel)}: the bundle named by
     * {@code -Davatar4j.model} or {@code AVATAR4J_MODEL}, otherwise the {@code preview} bundle built
     * into the SDK (BlazeFace + Silero VAD: a CPU-only talking portrait without diffusion weights).
     * Loaded on first use and shared; {@link #close()} on it does nothing.
     *
     * @return the process-wide default model, the same instance on every call once loaded
     * @throws BundleException  if the configured bundle is missing or malformed (the next call
     *                          tries again)
     * @throws BackendException if no backend can run it
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

    /** The default model's directory as configured ({@code -Davatar4j.model}, then $AVATAR4J_MODEL), or null. */
    static Path configuredDefault() {
        String p = System.getProperty(MODEL_PROPERTY);
        if (p == null || p.isBlank()) {
            p = System.getenv(MODEL_ENV);
        }
        return p == null || p.isBlank() ? null : Path.of(p);
    }

    /**
     * What a generation with a bundle would compute — frames, duration, size, and where the family
     * has them, steps, windows and model calls (see {@link Plan}) — worked out from the bundle's
     * manifest and the length of the speech, without loading the model: graph files are neither
     * verified nor opened. The speech is counted as a generation decodes it (resampled to the
     * model's rate), in bounded memory whatever its length.
     *
     * @param bundleDir a bundle directory or {@code .zip} file, or null for the default model (as
     *                  {@link #defaultModel()} finds it)
     * @param request the speech and the options
     * @return the plan
     * @throws BundleException       if the bundle is missing or its manifest is malformed
     * @throws InvalidInputException if the speech cannot be read or an option is out of range for
     *                               the model
     */
    public static Plan plan(Path bundleDir, PlanRequest request) {
        return Planner.plan(bundleDir, java.util.Objects.requireNonNull(request, "request"));
    }

    /**
     * Checks a bundle without loading it: the manifest, every file it names (inside the bundle,
     * present, of the listed size), every file's sha256 when {@code verifyDigests} (streamed: the
     * files are read once, never held), and every graph's inputs and outputs, read from the graph
     * file alone, against the contract of the family's engine, the contract a load checks the
     * loaded session against. No weights are read and no backend is used, so a bundle whose graphs
     * would need more memory than the machine has can be checked; without digests, no external
     * data is read at all (an absent external-data file is noted, not a problem).
     *
     * <p>Problems are collected, not thrown: {@link Inspection#valid()} says whether there were
     * any, {@link Inspection#problems()} what they were, each naming the file, graph and tensor.
     * Once every graph meets its contract, the graphs are checked against each other as a load
     * checks them (e.g. that the image encoder's output width is the DiT's). The signatures are
     * those the graph files declare: a fixed output size that a backend only infers while loading
     * (a dimension the file leaves symbolic) is checked when the bundle loads, not here.
     *
     * @param bundleDir     the bundle directory (a {@code .zip} is extracted and verified first, as
     *                      {@link #load(Path)} does)
     * @param verifyDigests whether to check every file's sha256
     * @param listener      told how hashing advances (e.g. for a progress bar); not null
     * @return the findings
     * @throws BundleException if there is no bundle to inspect: the directory is missing, has no
     *                         manifest, or its manifest is not valid JSON of the bundle format
     */
    public static Inspection inspect(Path bundleDir, boolean verifyDigests, Inspection.DigestListener listener) {
        return Inspector.inspect(bundleDir, verifyDigests, listener);
    }

    /**
     * What a generation with this model would compute, as {@link #plan(Path, PlanRequest)} works it
     * out for this model's bundle.
     *
     * @param request the speech and the options
     * @return the plan
     * @throws InvalidInputException if the speech cannot be read or an option is out of range for
     *                               the model
     */
    public Plan plan(PlanRequest request) {
        return Planner.plan(bundle.directory(), bundle.manifest(), java.util.Objects.requireNonNull(request,
                "request"));
    }

    private static AvatarModel loadBundle(Bundle bundle, String backendName, SessionOptions options, boolean shared) {
        Backend backend;
        FamilyEngine<?> engine;
        try {
            backend = BackendRegistry.global().select(backendName);
            engine = FamilyEngines.create(bundle, backend, options);
        } catch (BundleException e) {
            ZipBundle.discard(bundle.directory()); // a refused bundle extracted from a zip leaves nothing
            throw e;
        } catch (RuntimeException | Error e) {
            ZipBundle.release(bundle.directory());
            throw e;
        }
        log.info("loaded model '{}' ({}) on {}", bundle.manifest().name(), bundle.manifest().family(),
                backend.description());
        return new AvatarModel(bundle, backend, engine, shared);
    }

    /**
     * The bundle's name.
     *
     * @return the {@code name} of the bundle's manifest, e.g. {@code stableavatar-1.3b}
     */
    public String name() {
        return bundle.manifest().name();
    }

    /**
     * The model family, which decides what the model can do (e.g. only {@code latentsync} dubs).
     *
     * @return the family's name, e.g. {@code stableavatar}, {@code latentsync}, {@code preview}
     */
    public String family() {
        return engine.family();
    }

    /**
     * Where the bundle's files are read from.
     *
     * @return the bundle directory (for a {@code .zip}, its extraction in the bundle cache)
     */
    public Path directory() {
        return bundle.directory();
    }

    /**
     * The backend the model runs on.
     *
     * @return the backend's name, e.g. {@code onnx} or {@code tensorrt}
     */
    public String backendName() {
        return backend.name();
    }

    /**
     * A human-readable description of the backend, for logs and diagnostics.
     *
     * @return the runtime and its version, and the device it runs on
     */
    public String backendDescription() {
        return backend.description();
    }

    /**
     * The frame rate of the videos this model generates.
     *
     * @return frames per second
     */
    public int fps() {
        return engine.fps();
    }

    /**
     * The sample rate this model takes speech at: speech given at another rate is resampled to it,
     * and a {@link LiveSession}'s {@link SpeechSpan}s count samples at it.
     *
     * @return samples per second
     */
    public int sampleRate() {
        return engine.sampleRate();
    }

    /**
     * The frame width used when a request sets none ({@link Avatar#size(int, int)}).
     *
     * @return width in pixels
     */
    public int defaultWidth() {
        return engine.defaultWidth();
    }

    /**
     * The frame height used when a request sets none ({@link Avatar#size(int, int)}).
     *
     * @return height in pixels
     */
    public int defaultHeight() {
        return engine.defaultHeight();
    }

    /**
     * The denoising steps used when a request sets none ({@link Avatar#steps(int)}).
     *
     * @return number of steps, at least 1
     */
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
            Thread owner = Thread.currentThread();
            users.merge(owner, 1, Integer::sum);
            return new Usage(owner);
        } finally {
            lock.unlock();
        }
    }

    FamilyEngine<?> engine() {
        return engine;
    }

    /** A running generation's hold on the model. */
    final class Usage implements AutoCloseable {
        private final Thread owner;
        private boolean released;

        private Usage(Thread owner) {
            this.owner = owner;
        }

        FamilyEngine<?> engine() {
            return engine;
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (!released) {
                    released = true;
                    inFlight--;
                    users.computeIfPresent(owner, (t, n) -> n == 1 ? null : n - 1);
                    if (closed && inFlight == 0) {
                        free(); // a close(Duration) that gave up waiting left this to the last generation
                    }
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
     * {@link #defaultModel()}. Idempotent. Waits as long as it takes (a generation stops soon
     * after {@link Generation#cancel()}; a listener that blocks delays it): see
     * {@link #close(Duration)} to give up waiting.
     *
     * @throws IllegalStateException if called on the thread of a generation running on this model
     *                               (from one of its listeners): it would wait for itself
     */
    @Override
    public void close() {
        close(-1);
    }

    /**
     * Closes the model, waiting at most {@code timeout} for running generations to finish. New
     * generations fail at once, as after {@link #close()}. If the running generations end in time,
     * the graph sessions are freed before this returns; otherwise they stay open for the
     * generations still running and are freed when the last of them ends (cancel them with
     * {@link Generation#cancel()} to make that prompt). Interrupting the waiting thread ends the
     * wait the same way (the interrupt status is kept).
     *
     * @param timeout how long to wait for running generations; not null
     * @return whether the model was freed before returning ({@code true} also on the shared
     *         {@link #defaultModel()}, where closing does nothing)
     * @throws IllegalStateException if called on the thread of a generation running on this model
     */
    public boolean close(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        return close(Math.max(0, timeout.toNanos()));
    }

    /** Closes, waiting at most {@code nanos} (forever when negative); whether the model is freed. */
    private boolean close(long nanos) {
        if (shared) {
            return true;
        }
        lock.lock();
        try {
            if (users.containsKey(Thread.currentThread())) {
                throw new IllegalStateException("model '" + name() + "' cannot be closed from the thread of one of "
                        + "its own running generations (a frame or progress listener?): it would wait for itself; "
                        + "cancel the generation instead, or close the model after it ends");
            }
            closed = true;
            long left = nanos;
            while (inFlight > 0) {
                if (nanos < 0) {
                    idle.awaitUninterruptibly();
                } else if (left <= 0) {
                    log.debug("model '{}' closed with {} generation(s) still running; freed when they end", name(),
                            inFlight);
                    return false;
                } else {
                    try {
                        left = idle.awaitNanos(left);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        left = 0;
                    }
                }
            }
            free();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Frees the sessions once (under {@link #lock}, with no generation running). */
    private void free() {
        if (!freed) {
            freed = true;
            try {
                engine.close();
            } finally {
                ZipBundle.release(bundle.directory()); // a zip's extracted copy may be evicted now
            }
        }
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
         *
         * @param name the backend's name, or {@code null}/{@code auto} for automatic selection
         * @return this builder
         */
        public Builder backend(String name) {
            this.backend = name;
            return this;
        }

        /**
         * Threads a backend may use inside one graph run (intra-op parallelism).
         *
         * @param threads number of threads, or 0 (default) to let the backend decide
         * @return this builder
         * @throws InvalidInputException if {@code threads} is negative
         */
        public Builder threads(int threads) {
            if (threads < 0) {
                throw new InvalidInputException("threads must be >= 0 (0: the backend decides), got " + threads);
            }
            this.threads = threads;
            return this;
        }

        /**
         * Allows the backend to load custom-operator libraries for the graphs (off by default: bundles
         * are untrusted, and such a library is native code running with the caller's rights). Without
         * it no backend may load one. The ONNX Runtime backend registers no custom-op library even when
         * this is on: a graph that needs a custom operator fails to open.
         *
         * @param allow whether custom-operator libraries may be loaded
         * @return this builder
         */
        public Builder allowCustomOps(boolean allow) {
            this.allowCustomOps = allow;
            return this;
        }

        /**
         * Loads the model with these options, as {@link AvatarModel#load(Path)} does.
         *
         * @return the loaded model; the caller owns it and must {@link AvatarModel#close()} it
         * @throws BundleException  if the bundle is missing, malformed or does not match its family
         * @throws BackendException if the backend is unknown or unavailable, or cannot run the bundle
         */
        public AvatarModel load() {
            return loadBundle(Bundle.open(dir), backend, new SessionOptions(threads, allowCustomOps), false);
        }
    }
}
