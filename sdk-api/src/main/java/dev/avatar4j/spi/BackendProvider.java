package dev.avatar4j.spi;

/**
 * Service-provider entry point of a backend, found through {@link java.util.ServiceLoader}
 * (register the implementation in {@code META-INF/services/dev.avatar4j.spi.BackendProvider} and,
 * on the module path, with {@code provides}).
 *
 * <p>Selection: an explicit name ({@code -Davatar4j.backend}, {@code AVATAR4J_BACKEND} or the
 * API) wins; otherwise the available provider with the lowest {@link #rank()} is used.
 */
public interface BackendProvider {

    /** Short stable name users select it by, e.g. {@code onnx}. */
    String name();

    /** Preference order: lower is preferred (TensorRT 10, ONNX CUDA 20, ONNX CPU 30). */
    int rank();

    /** Checks cheaply and honestly whether this backend can run on this machine. Never throws. */
    BackendProbe probe();

    /**
     * Creates the backend.
     *
     * @throws dev.avatar4j.BackendException when it cannot start
     */
    Backend create();
}
