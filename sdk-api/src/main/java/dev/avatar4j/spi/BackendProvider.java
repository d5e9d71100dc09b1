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

    /**
     * The name users select this backend by.
     *
     * @return a short stable name, e.g. {@code onnx}; the same as its {@link Backend#name()}
     */
    String name();

    /**
     * The preference order when no backend is named.
     *
     * @return the rank; lower is preferred (TensorRT 10, ONNX CUDA 20, ONNX CPU 30)
     */
    int rank();

    /**
     * Checks cheaply and honestly whether this backend can run on this machine. Never throws.
     *
     * @return whether it is available, with what was found or exactly what is missing
     */
    BackendProbe probe();

    /**
     * Creates the backend.
     *
     * @return a new backend; the caller owns it and must close it
     * @throws dev.avatar4j.BackendException when it cannot start
     */
    Backend create();
}
