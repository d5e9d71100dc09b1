package dev.avatar4j.tensorrt;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.BackendProvider;

/**
 * The TensorRT FP16 backend's entry point (rank 10, preferred when usable).
 *
 * <p>This build ships the backend's probe only: it reports precisely which GPU device or library
 * is missing, and when everything is present it still reports the backend as unavailable because
 * the Panama bindings over the native shim are not part of this build yet. The SDK then falls back
 * to ONNX Runtime.
 */
public final class TensorRtBackendProvider implements BackendProvider {
    static final String NOT_BUILT = "TensorRT and CUDA were found, but this build of avatar4j does not include "
            + "the TensorRT engine bindings yet; using ONNX Runtime";

    private final TensorRtProbe probe;

    /** The provider probing this machine's standard locations. */
    public TensorRtBackendProvider() {
        this(TensorRtProbe.ofSystem());
    }

    TensorRtBackendProvider(TensorRtProbe probe) {
        this.probe = probe;
    }

    @Override
    public String name() {
        return "tensorrt";
    }

    @Override
    public int rank() {
        return 10;
    }

    @Override
    public BackendProbe probe() {
        return probe.missing().map(BackendProbe::unavailable).orElseGet(() -> BackendProbe.unavailable(NOT_BUILT));
    }

    @Override
    public Backend create() {
        throw new BackendException("tensorrt backend unavailable: " + probe().detail());
    }
}
