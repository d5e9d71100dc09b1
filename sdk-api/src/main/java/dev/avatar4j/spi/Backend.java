package dev.avatar4j.spi;

import java.nio.file.Path;

/**
 * An inference runtime (ONNX Runtime, TensorRT …) that opens {@link GraphSession}s for graph files.
 * Created by a {@link BackendProvider}; shared by every model loaded with it.
 */
public interface Backend extends AutoCloseable {

    /** Short stable name, e.g. {@code onnx} or {@code tensorrt}. */
    String name();

    /** A one-line description of the device and runtime in use, e.g. {@code ONNX Runtime 1.29.0 (CPU, 2 threads)}. */
    String description();

    /**
     * Opens a graph.
     *
     * @param graphFile a graph file inside a verified bundle
     * @param options   session options
     * @throws dev.avatar4j.BackendException when the runtime cannot load it
     */
    GraphSession open(Path graphFile, SessionOptions options);

    /** Releases the runtime's shared resources. Sessions opened from it must be closed first. */
    @Override
    void close();
}
