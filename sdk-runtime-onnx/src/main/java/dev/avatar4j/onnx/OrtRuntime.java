package dev.avatar4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import dev.avatar4j.BackendException;
import java.util.Locale;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process-wide ONNX Runtime state: the one {@link OrtEnvironment}, its version and whether the
 * CUDA execution provider can be used. Computed once, on first use, and never thrown from: a native
 * library that fails to load is recorded as {@link #failure()} so that the provider's probe can
 * report it instead of crashing service discovery.
 */
final class OrtRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(OrtRuntime.class);

    /** System property that opts in to the CUDA execution provider. */
    static final String CUDA_PROPERTY = "avatar4j.onnx.cuda";
    /** Environment variable that opts in to the CUDA execution provider ({@code 1} or {@code true}). */
    static final String CUDA_ENV = "AVATAR4J_ONNX_CUDA";
    /** The CUDA device sessions are placed on. */
    static final int CUDA_DEVICE = 0;

    private static volatile OrtRuntime instance;

    private final OrtEnvironment env;
    private final String version;
    private final boolean cudaAvailable;
    private final String cudaDetail;
    private final String failure;

    private OrtRuntime(OrtEnvironment env, String version, boolean cudaAvailable, String cudaDetail, String failure) {
        this.env = env;
        this.version = version;
        this.cudaAvailable = cudaAvailable;
        this.cudaDetail = cudaDetail;
        this.failure = failure;
    }

    /** The runtime state, initialising ONNX Runtime on the first call. Never throws. */
    static OrtRuntime get() {
        OrtRuntime r = instance;
        if (r == null) {
            synchronized (OrtRuntime.class) {
                r = instance;
                if (r == null) {
                    r = onLargeStack(() -> load(() -> OrtEnvironment.getEnvironment(logLevel())));
                    instance = r;
                }
            }
        }
        return r;
    }

    /** The stack of the thread that initialises ONNX Runtime. */
    static final long INIT_STACK_BYTES = 16L << 20;

    /**
     * Runs {@code work} (ONNX Runtime's initialisation) on a thread of its own with a
     * {@value #INIT_STACK_BYTES}-byte stack and waits for it. Creating ONNX Runtime 1.29's
     * environment overflows a 1 MB thread stack (the JVM's default, the main thread's included)
     * once {@code java.class.path} is longer than about 4 KB: the JVM dies of SIGSEGV without an
     * error report. An application launched with {@code -cp} and a few dozen jars gets there.
     * Once created, the environment is used from any thread without that cost.
     */
    static <T> T onLargeStack(Supplier<T> work) {
        java.util.concurrent.atomic.AtomicReference<T> result = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try {
                result.set(work.get());
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "avatar4j-onnx-init", INIT_STACK_BYTES);
        t.setDaemon(true);
        t.start();
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the initialisation cannot be abandoned half-way: finish waiting
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable e = failure.get();
        if (e instanceof RuntimeException re) {
            throw re;
        } else if (e instanceof Error err) {
            throw err;
        } else if (e != null) {
            throw new IllegalStateException(e);
        }
        return result.get();
    }

    /**
     * Loads ONNX Runtime through {@code environment} (the real {@link OrtEnvironment#getEnvironment()}
     * outside tests). Never throws.
     */
    static OrtRuntime load(Supplier<OrtEnvironment> environment) {
        OrtEnvironment env;
        try {
            // Loading the class extracts and System.load()s libonnxruntime + its JNI library; any of
            // that can fail with an Error (UnsatisfiedLinkError, ExceptionInInitializerError,
            // NoClassDefFoundError when the jar is missing), which must not escape a probe.
            env = environment.get();
        } catch (Exception | LinkageError e) {
            String reason = "ONNX Runtime native library failed to load: " + describe(e);
            LOG.debug("{}", reason, e);
            return new OrtRuntime(null, null, false, "ONNX Runtime did not load", reason);
        }
        String version = safeVersion(env);
        boolean cuda;
        String cudaDetail;
        boolean cudaBuilt;
        try {
            cudaBuilt = OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
        } catch (RuntimeException | LinkageError e) {
            cudaBuilt = false;
            LOG.debug("could not list ONNX Runtime execution providers", e);
        }
        if (!cudaBuilt) {
            cuda = false;
            cudaDetail = "this ONNX Runtime build has no CUDA execution provider (use com.microsoft.onnxruntime:onnxruntime_gpu)";
        } else {
            // DJL's OrtEngine probe: appending the EP to a throwaway options object loads the CUDA
            // provider library and its CUDA/cuDNN dependencies, and fails cleanly when they are missing.
            try (OrtSession.SessionOptions throwaway = new OrtSession.SessionOptions()) {
                throwaway.addCUDA(CUDA_DEVICE);
                cuda = true;
                cudaDetail = "CUDA execution provider available (device " + CUDA_DEVICE + ")";
            } catch (OrtException | RuntimeException | LinkageError e) {
                cuda = false;
                cudaDetail = "CUDA execution provider present but unusable: " + describe(e);
            }
        }
        LOG.debug("ONNX Runtime {} loaded; {}", version, cudaDetail);
        return new OrtRuntime(env, version, cuda, cudaDetail, null);
    }

    private static String safeVersion(OrtEnvironment env) {
        try {
            return env.getVersion();
        } catch (RuntimeException | LinkageError e) {
            return "(unknown version)";
        }
    }

    private static String describe(Throwable e) {
        // Initialiser failures wrap the interesting cause (e.g. the UnsatisfiedLinkError text).
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = root.getMessage();
        String text = root.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
        return root == e ? text : e.getClass().getSimpleName() + " caused by " + text;
    }

    /**
     * The level at which ONNX Runtime may print its own log. ONNX Runtime writes it to stderr itself
     * (coloured, two lines per message) and its Java API offers no callback to route it through
     * SLF4J, so it stays silent except for fatal messages; every error still reaches the caller as an
     * {@code OrtException} turned into a {@link BackendException}. With debug logging enabled for
     * {@code dev.avatar4j.onnx}, ONNX Runtime's warnings are printed too, for diagnosis.
     */
    static ai.onnxruntime.OrtLoggingLevel logLevel() {
        return LOG.isDebugEnabled() ? ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING
                : ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
    }

    /** Whether the user opted in to CUDA with {@value #CUDA_PROPERTY} or {@value #CUDA_ENV}. */
    static boolean cudaRequested() {
        String p = System.getProperty(CUDA_PROPERTY);
        if (p != null) {
            return Boolean.parseBoolean(p.trim());
        }
        String e = System.getenv(CUDA_ENV);
        if (e == null) {
            return false;
        }
        String v = e.trim().toLowerCase(Locale.ROOT);
        return v.equals("1") || v.equals("true") || v.equals("yes");
    }

    /** Whether ONNX Runtime loaded. */
    boolean loaded() {
        return env != null;
    }

    /** Why ONNX Runtime did not load, or {@code null}. */
    String failure() {
        return failure;
    }

    /** The environment; throws the recorded load failure as a {@link BackendException}. */
    OrtEnvironment environment() {
        if (env == null) {
            throw new BackendException(failure);
        }
        return env;
    }

    /** The native library version, e.g. {@code 1.29.0}. */
    String version() {
        return version;
    }

    boolean cudaAvailable() {
        return cudaAvailable;
    }

    /** What the CUDA probe found, or why CUDA cannot be used. */
    String cudaDetail() {
        return cudaDetail;
    }
}
