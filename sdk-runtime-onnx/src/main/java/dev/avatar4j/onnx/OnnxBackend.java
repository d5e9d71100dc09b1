package dev.avatar4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.avatar4j.BackendException;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.GraphSource;
import dev.avatar4j.spi.SessionOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ONNX Runtime backend: opens {@link OnnxGraphSession}s on the process-wide
 * {@link OrtEnvironment}.
 *
 * <p>Every session is created with graph optimisation level {@code ALL}, the caller's intra-op
 * thread count (0 keeps ONNX Runtime's default: one thread per physical core) and either the CPU or
 * the CUDA execution provider (CUDA when requested and available, see {@link OnnxBackendProvider}).
 *
 * <p><b>Custom operators.</b> This backend never calls {@code SessionOptions.registerCustomOpLibrary}
 * or {@code registerCustomOpsUsingFunction}: loading a shared library named by a graph would run
 * arbitrary native code from an untrusted bundle. {@link SessionOptions#allowCustomOps()} is the
 * switch a future custom-op registration must check; today there is nothing to register, so a graph
 * that needs a custom operator fails to open with ONNX Runtime's "unknown op" error.
 *
 * <p>The environment is shared by every user in the process and is deliberately not closed by
 * {@link #close()} (ONNX Runtime Java releases it at JVM exit).
 */
final class OnnxBackend implements Backend {
    /** The manifest graph-variant name this backend prefers. */
    static final String VARIANT = "onnxruntime";
    /** {@code -Davatar4j.onnx.spinning=true} lets idle intra-op workers spin (ONNX Runtime's own default). */
    private static final boolean SPINNING = Boolean.getBoolean("avatar4j.onnx.spinning");
    /**
     * {@code -Davatar4j.onnx.prepacking=false} turns ONNX Runtime's weight pre-packing off: less memory
     * for convolution-heavy graphs, slower convolutions (see {@link #configure}).
     */
    static final String PREPACKING_PROPERTY = "avatar4j.onnx.prepacking";

    private static final Logger LOG = LoggerFactory.getLogger(OnnxBackend.class);

    private final OrtRuntime runtime;
    private final OrtEnvironment env;
    private final boolean useCuda;
    private final Set<OnnxGraphSession> openSessions = ConcurrentHashMap.newKeySet();
    private final ExternalInitializerCopyProbe copyProbe;
    private final boolean prepacking = !"false".equalsIgnoreCase(System.getProperty(PREPACKING_PROPERTY, "true"));
    private volatile Boolean copiesExternalInitializers;
    private volatile boolean closed;

    OnnxBackend(OrtRuntime runtime, boolean cudaRequested) {
        this(runtime, cudaRequested, ExternalInitializerCopyProbe.MEASURED);
    }

    /** With another way of knowing whether ONNX Runtime copies initializers given from memory (tests). */
    OnnxBackend(OrtRuntime runtime, boolean cudaRequested, ExternalInitializerCopyProbe copyProbe) {
        this.copyProbe = Objects.requireNonNull(copyProbe, "copyProbe");
        this.runtime = Objects.requireNonNull(runtime, "runtime");
        this.env = runtime.environment();
        this.useCuda = cudaRequested && runtime.cudaAvailable();
        if (cudaRequested && !useCuda) {
            LOG.warn("CUDA was requested for ONNX Runtime but cannot be used ({}); running on the CPU", runtime.cudaDetail());
        }
        LOG.debug("created {}", description());
    }

    @Override
    public String name() {
        return OnnxBackendProvider.NAME;
    }

    /**
     * {@value #VARIANT}: graphs exported with ONNX Runtime's contrib operators (fused
     * {@code com.microsoft::MultiHeadAttention}), which only ONNX Runtime runs.
     */
    @Override
    public java.util.List<String> graphVariants() {
        return java.util.List.of(VARIANT);
    }

    /** {@code ONNX Runtime <version> (CPU)} or {@code ONNX Runtime <version> (CUDA device 0)}. */
    @Override
    public String description() {
        return "ONNX Runtime " + runtime.version() + (useCuda ? " (CUDA device " + OrtRuntime.CUDA_DEVICE + ")" : " (CPU)");
    }

    /** Whether sessions are placed on the CUDA execution provider. */
    boolean usesCuda() {
        return useCuda;
    }

    /**
     * Opens a graph from its verified bytes ({@code OrtEnvironment.createSession(byte[])}), never from
     * its path. Initializers kept in external data are read into memory here, through
     * {@link GraphSource.ExternalFile#load} (which checks the digest of exactly the bytes read) and
     * handed to ONNX Runtime with {@code SessionOptions.addExternalInitializers}, so ONNX Runtime reads
     * no file itself. When ONNX Runtime keeps a copy of its own (measured once per backend by
     * {@link ExternalInitializerCopyProbe}; ONNX Runtime 1.29 on the CPU does), that memory is freed as
     * soon as the session exists; otherwise the session owns it and frees it when it closes. As a second guard, ONNX Runtime's folder for external data is an
     * empty private directory, so a reference the scan did not see fails instead of reading a file.
     */
    @Override
    public GraphSession open(GraphSource graph, SessionOptions options) {
        Objects.requireNonNull(graph, "graph");
        Objects.requireNonNull(options, "options");
        String graphName = graph.name();
        if (closed) {
            throw new BackendException("ONNX Runtime backend is closed; cannot open " + graphName);
        }
        long t0 = System.nanoTime();
        OrtSession.SessionOptions ortOptions = new OrtSession.SessionOptions();
        OrtSession session = null;
        ExternalInitializers initializers = null;
        Path noFiles = null;
        try {
            configure(ortOptions, options);
            noFiles = Files.createTempDirectory("avatar4j-ort-");
            ortOptions.addConfigEntry("session.model_external_initializers_file_folder_path", noFiles.toString());
            if (!graph.externalTensors().isEmpty()) {
                initializers = ExternalInitializers.load(env, graph);
                ortOptions.addExternalInitializers(initializers.tensors());
            }
            // No custom-op libraries are registered, whatever options.allowCustomOps() says (see class doc).
            session = env.createSession(graph.bytes(), ortOptions);
            if (initializers != null && copiesExternalInitializers(options)) {
                // ONNX Runtime made its own copy while creating the session: ours would only double the
                // memory of the weights (7 GB more for the StableAvatar DiT) for as long as the session lives.
                initializers.close();
                initializers = null;
            }
            OnnxGraphSession s = new OnnxGraphSession(env, session, ortOptions, initializers, graphName,
                    this::sessionClosed);
            openSessions.add(s);
            if (LOG.isDebugEnabled()) {
                LOG.debug("opened {} on {} ({} intra-op threads, {} external initializers) in {} ms: inputs {}, outputs {}",
                        graphName, useCuda ? "CUDA" : "CPU",
                        options.intraOpThreads() == 0 ? "default" : options.intraOpThreads(),
                        graph.externalTensors().size(), (System.nanoTime() - t0) / 1_000_000, s.inputs(), s.outputs());
            }
            return s;
        } catch (OrtException e) {
            closeQuietly(session, ortOptions, initializers);
            throw OnnxGraphSession.ortError("open", graphName, e);
        } catch (java.io.IOException e) {
            closeQuietly(session, ortOptions, initializers);
            throw new BackendException("cannot create a temporary directory for ONNX Runtime: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            closeQuietly(session, ortOptions, initializers);
            throw e;
        } finally {
            if (noFiles != null) {
                try {
                    Files.deleteIfExists(noFiles);
                } catch (java.io.IOException e) {
                    LOG.debug("could not remove {}", noFiles, e);
                }
            }
        }
    }

    /**
     * Applies the settings every session of this backend is created with (also the probe's, so that
     * it measures what {@link #open} gets).
     */
    void configure(OrtSession.SessionOptions ortOptions, SessionOptions options) throws OrtException {
        ortOptions.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        // ONNX Runtime prints its log to stderr itself (the Java API has no logging callback): only
        // fatal messages unless avatar4j's debug logging is on; errors reach the caller as exceptions.
        ortOptions.setSessionLogLevel(OrtRuntime.logLevel());
        if (options.intraOpThreads() > 0) {
            ortOptions.setIntraOpNumThreads(options.intraOpThreads());
        }
        // Every session has its own intra-op pool, and a model runs several sessions in turn
        // (DiT, VAE decoder, audio encoder) next to an encoder thread writing the MP4. Spinning
        // workers of the idle pools would burn the cores the active pool and the encoder need;
        // the DiT's operators are large enough that waking sleeping workers costs nothing visible.
        ortOptions.addConfigEntry("session.intra_op.allow_spinning", SPINNING ? "1" : "0");
        if (!prepacking) {
            // ONNX Runtime keeps pre-packed convolution weights next to its copy of initializers given
            // from memory: the LatentSync UNet's 5.1 GB of weights took 9.3 GB once open (BENCHMARKS.md)
            ortOptions.addConfigEntry("session.disable_prepacking", "1");
        }
        if (useCuda) {
            ortOptions.addCUDA(OrtRuntime.CUDA_DEVICE);
        }
    }

    /**
     * Whether ONNX Runtime keeps its own copy of initializers handed to it from memory, so that ours
     * can be freed once the session exists. Its documentation asks callers to keep them alive, so
     * this is measured on the runtime at hand (once per backend), never assumed.
     */
    private boolean copiesExternalInitializers(SessionOptions options) {
        Boolean c = copiesExternalInitializers;
        if (c == null) {
            synchronized (this) {
                c = copiesExternalInitializers;
                if (c == null) {
                    c = copyProbe.test(env, o -> configure(o, options));
                    copiesExternalInitializers = c;
                    LOG.debug("ONNX Runtime {} {} initializers given from memory", runtime.version(),
                            c ? "copies" : "uses in place (so they are kept for the session's life)");
                }
            }
        }
        return c;
    }

    private static void closeQuietly(OrtSession session, OrtSession.SessionOptions options, ExternalInitializers init) {
        if (session != null) {
            try {
                session.close();
            } catch (OrtException | RuntimeException e) {
                LOG.debug("closing a half-opened session failed", e);
            }
        }
        options.close();
        if (init != null) {
            init.close();
        }
    }

    private void sessionClosed(OnnxGraphSession s) {
        openSessions.remove(s);
    }

    /**
     * Marks the backend closed. Sessions should be closed by their owners first; any still open are
     * closed here (waiting for their in-flight runs) so that no native memory outlives the backend.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<OnnxGraphSession> left = new ArrayList<>(openSessions);
        if (!left.isEmpty()) {
            LOG.warn("closing ONNX Runtime backend with {} graph session(s) still open; closing them", left.size());
            left.forEach(OnnxGraphSession::close);
        }
        LOG.debug("closed {}", description());
    }

    @Override
    public String toString() {
        return "OnnxBackend[" + description() + (closed ? ", closed]" : "]");
    }
}
