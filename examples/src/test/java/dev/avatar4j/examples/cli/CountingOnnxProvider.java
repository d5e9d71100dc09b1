package dev.avatar4j.examples.cli;

import dev.avatar4j.onnx.OnnxBackendProvider;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.BackendProvider;
import dev.avatar4j.testing.CountingBackend;

/**
 * Registers ONNX Runtime wrapped in a {@link CountingBackend} as backend {@code counting-onnx}
 * (rank 2000: never chosen unless named), so that tests of the public API count the model calls a
 * generation or a dub makes instead of measuring time. All models share {@link #backend()}.
 */
public final class CountingOnnxProvider implements BackendProvider {
    /** The one counting backend of this process, made on first use. */
    static CountingBackend backend() {
        return Holder.INSTANCE;
    }

    private static final class Holder {
        static final CountingBackend INSTANCE = new CountingBackend(new OnnxBackendProvider().create());
    }

    @Override
    public String name() {
        return "counting-onnx";
    }

    @Override
    public int rank() {
        return 2000;
    }

    @Override
    public BackendProbe probe() {
        return BackendProbe.available("ONNX Runtime counting model calls, for tests");
    }

    @Override
    public Backend create() {
        return backend();
    }
}
