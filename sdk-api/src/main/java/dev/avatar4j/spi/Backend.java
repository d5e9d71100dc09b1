package dev.avatar4j.spi;

import java.nio.file.Path;

/**
 * An inference runtime (ONNX Runtime, TensorRT …) that opens {@link GraphSession}s for graph files.
 * Created by a {@link BackendProvider}; shared by every model loaded with it.
 */
public interface Backend extends AutoCloseable {

    /**
     * The backend's name, as reported by {@link dev.avatar4j.AvatarModel#backendName()}.
     *
     * @return a short stable name, e.g. {@code onnx} or {@code tensorrt}
     */
    String name();

    /**
     * The device and runtime in use, for logs and diagnostics.
     *
     * @return a one-line description, e.g. {@code ONNX Runtime 1.29.0 (CPU, 2 threads)}
     */
    String description();

    /**
     * The graph variants this backend prefers, best first: names of a manifest's
     * {@code graphs.<key>.variants} (docs/BUNDLE-FORMAT.md), e.g. a graph exported with ONNX
     * Runtime's fused {@code com.microsoft::MultiHeadAttention} under {@code onnxruntime}. A graph
     * with none of them loads its main file. The default prefers none.
     *
     * @return variant names, best first; empty to always load the main file
     */
    default java.util.List<String> graphVariants() {
        return java.util.List.of();
    }

    /**
     * Opens a graph from its verified content. Implementations load {@link GraphSource#bytes()} and
     * the external data through {@link GraphSource.ExternalFile#load} or
     * {@link GraphSource.ExternalFile#copyTo} (which re-check the digests on the bytes they hand
     * out), and never reopen the graph or its data by path: a file can be replaced after it was
     * verified.
     *
     * @param graph   the graph's verified bytes and external data
     * @param options session options
     * @return the open session; the caller owns it and must close it
     * @throws dev.avatar4j.BackendException when the runtime cannot load it
     * @throws dev.avatar4j.BundleException when external data changed since it was verified
     */
    GraphSession open(GraphSource graph, SessionOptions options);

    /**
     * Opens a trusted graph file outside any bundle (tools, tests): reads it now with
     * {@link dev.avatar4j.bundle.Bundle#readGraph(Path)} and opens that.
     *
     * @param graphFile an ONNX graph file
     * @param options   session options
     * @return the open session; the caller owns it and must close it
     * @throws dev.avatar4j.BackendException when the runtime cannot load it, or the file does not
     *                                       exist
     */
    default GraphSession open(Path graphFile, SessionOptions options) {
        if (!java.nio.file.Files.isRegularFile(graphFile)) {
            throw new dev.avatar4j.BackendException("graph file " + graphFile + " does not exist or is not a regular file");
        }
        return open(dev.avatar4j.bundle.Bundle.readGraph(graphFile), options);
    }

    /**
     * Opens a scope of device memory for one generation ({@link DeviceScope}): tensors that stay on
     * the device across graph runs, bound by name with
     * {@link GraphSession#run(DeviceScope, java.util.Map, java.util.Map)}. The default serves
     * backends whose device is the host ({@link DeviceScope#host()}: host tensors, no copies).
     *
     * @return a new scope; the caller closes it before this backend
     * @throws dev.avatar4j.BackendException when the device cannot be used
     */
    default DeviceScope openDeviceScope() {
        return DeviceScope.host();
    }

    /** Releases the runtime's shared resources. Sessions opened from it must be closed first. */
    @Override
    void close();
}
