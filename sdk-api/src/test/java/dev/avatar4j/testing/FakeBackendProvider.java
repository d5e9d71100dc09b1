package dev.avatar4j.testing;

import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.BackendProvider;

/**
 * Registers the {@link FakeBackend} as backend {@code fake} for tests (rank 1000, so a real
 * backend always wins "auto" when one is present). All models share {@link #INSTANCE}.
 */
public final class FakeBackendProvider implements BackendProvider {
    public static final FakeBackend INSTANCE = new FakeBackend();

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public int rank() {
        return 1000;
    }

    @Override
    public BackendProbe probe() {
        return BackendProbe.available("fake backend for tests");
    }

    @Override
    public Backend create() {
        return INSTANCE;
    }
}
