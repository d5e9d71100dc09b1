package dev.avatar4j.onnx;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.BackendProvider;
import java.util.function.Supplier;

/**
 * Service provider of the ONNX Runtime backend ({@code onnx}), found through
 * {@link java.util.ServiceLoader} via {@code META-INF/services/dev.avatar4j.spi.BackendProvider}.
 *
 * <p>The backend runs on the CPU execution provider, or on CUDA when the user opts in with
 * {@code -Davatar4j.onnx.cuda=true} (or {@code AVATAR4J_ONNX_CUDA=1}) and the CUDA provider of an
 * {@code onnxruntime_gpu} build can be loaded.
 */
public final class OnnxBackendProvider implements BackendProvider {

    /** The name users select this backend by. */
    public static final String NAME = "onnx";

    private final Supplier<OrtRuntime> runtime;

    /** Creates the provider; ONNX Runtime itself is loaded lazily by {@link #probe()} or {@link #create()}. */
    public OnnxBackendProvider() {
        // ServiceLoader needs a public no-argument constructor; nothing native happens here.
        this(OrtRuntime::get);
    }

    /** A provider over another runtime state (tests simulate a native library that fails to load). */
    OnnxBackendProvider(Supplier<OrtRuntime> runtime) {
        this.runtime = runtime;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int rank() {
        return 20;
    }

    /**
     * Loads ONNX Runtime (once per process) and reports its version and devices, e.g.
     * {@code ONNX Runtime 1.29.0 (CPU)} or {@code ONNX Runtime 1.29.0 (CPU, CUDA available)}; when the
     * native library cannot be loaded the probe is unavailable and says why. Never throws.
     */
    @Override
    public BackendProbe probe() {
        try {
            OrtRuntime rt = runtime.get();
            if (!rt.loaded()) {
                return BackendProbe.unavailable(rt.failure());
            }
            return BackendProbe.available("ONNX Runtime " + rt.version() + " (CPU" + (rt.cudaAvailable() ? ", CUDA available" : "") + ")");
        } catch (RuntimeException | LinkageError e) {
            // OrtRuntime.get() already records load failures; this is a last line of defence.
            return BackendProbe.unavailable("ONNX Runtime probe failed: " + e);
        }
    }

    /**
     * Creates the backend.
     *
     * @throws BackendException when ONNX Runtime cannot be loaded (the message is the probe's reason)
     */
    @Override
    public Backend create() {
        OrtRuntime rt = runtime.get();
        rt.environment(); // throws the load failure
        return new OnnxBackend(rt, OrtRuntime.cudaRequested());
    }

    @Override
    public String toString() {
        return "OnnxBackendProvider[" + NAME + ", rank " + rank() + "]";
    }
}
