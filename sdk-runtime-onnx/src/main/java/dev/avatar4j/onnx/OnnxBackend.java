package dev.avatar4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.avatar4j.BackendException;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
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
    /** {@code -Davatar4j.onnx.spinning=true} lets idle intra-op workers spin (ONNX Runtime's own default). */
    private static final boolean SPINNING = Boolean.getBoolean("avatar4j.onnx.spinning");

    private static final Logger LOG = LoggerFactory.getLogger(OnnxBackend.class);

    private final OrtRuntime runtime;
    private final OrtEnvironment env;
    private final boolean useCuda;
    private final Set<OnnxGraphSession> openSessions = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    OnnxBackend(OrtRuntime runtime, boolean cudaRequested) {
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

    /** {@code ONNX Runtime <version> (CPU)} or {@code ONNX Runtime <version> (CUDA device 0)}. */
    @Override
    public String description() {
        return "ONNX Runtime " + runtime.version() + (useCuda ? " (CUDA device " + OrtRuntime.CUDA_DEVICE + ")" : " (CPU)");
    }

    /** Whether sessions are placed on the CUDA execution provider. */
    boolean usesCuda() {
        return useCuda;
    }

    @Override
    public GraphSession open(Path graphFile, SessionOptions options) {
        Objects.requireNonNull(graphFile, "graphFile");
        Objects.requireNonNull(options, "options");
        if (closed) {
            throw new BackendException("ONNX Runtime backend is closed; cannot open " + graphFile.getFileName());
        }
        String graphName = String.valueOf(graphFile.getFileName());
        if (!Files.isRegularFile(graphFile)) {
            throw new BackendException("graph file " + graphFile + " does not exist or is not a regular file");
        }
        long t0 = System.nanoTime();
        OrtSession.SessionOptions ortOptions = new OrtSession.SessionOptions();
        OrtSession session = null;
        try {
            ortOptions.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            // warnings such as "Removing initializer … not used by any node" (the preview bundle's BlazeFace
            // export has three) are noise to users; errors are still logged
            ortOptions.setSessionLogLevel(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            if (options.intraOpThreads() > 0) {
                ortOptions.setIntraOpNumThreads(options.intraOpThreads());
            }
            // Every session has its own intra-op pool, and a model runs several sessions in turn
            // (DiT, VAE decoder, audio encoder) next to an encoder thread writing the MP4. Spinning
            // workers of the idle pools would burn the cores the active pool and the encoder need;
            // the DiT's operators are large enough that waking sleeping workers costs nothing visible.
            ortOptions.addConfigEntry("session.intra_op.allow_spinning", SPINNING ? "1" : "0");
            if (useCuda) {
                ortOptions.addCUDA(OrtRuntime.CUDA_DEVICE);
            }
            // No custom-op libraries are registered, whatever options.allowCustomOps() says (see class doc).
            session = env.createSession(graphFile.toString(), ortOptions);
            OnnxGraphSession s = new OnnxGraphSession(env, session, ortOptions, graphName, this::sessionClosed);
            openSessions.add(s);
            if (LOG.isDebugEnabled()) {
                LOG.debug("opened {} on {} ({} intra-op threads) in {} ms: inputs {}, outputs {}", graphName,
                        useCuda ? "CUDA" : "CPU", options.intraOpThreads() == 0 ? "default" : options.intraOpThreads(),
                        (System.nanoTime() - t0) / 1_000_000, s.inputs(), s.outputs());
            }
            return s;
        } catch (OrtException e) {
            closeQuietly(session, ortOptions);
            throw OnnxGraphSession.ortError("open", graphName, e);
        } catch (RuntimeException | Error e) {
            closeQuietly(session, ortOptions);
            throw e;
        }
    }

    private static void closeQuietly(OrtSession session, OrtSession.SessionOptions options) {
        if (session != null) {
            try {
                session.close();
            } catch (OrtException | RuntimeException e) {
                LOG.debug("closing a half-opened session failed", e);
            }
        }
        options.close();
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
