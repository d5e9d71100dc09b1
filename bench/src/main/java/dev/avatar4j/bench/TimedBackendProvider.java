package dev.avatar4j.bench;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.BackendProvider;
import java.util.ServiceLoader;

/**
 * The {@code timed} backend: the backend named by {@code -Davatar4j.bench.inner} (default
 * {@code onnx}) with every graph run timed into {@link GraphTimer}. Ranked last, so it is used only
 * when selected by name, which the harness does.
 */
public final class TimedBackendProvider implements BackendProvider {
    /** Selection name. */
    public static final String NAME = "timed";
    /** System property naming the wrapped backend. */
    public static final String INNER_PROPERTY = "avatar4j.bench.inner";

    /** ServiceLoader constructor. */
    public TimedBackendProvider() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int rank() {
        return 1000;
    }

    private static BackendProvider inner() {
        String want = System.getProperty(INNER_PROPERTY, "onnx");
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (!(p instanceof TimedBackendProvider) && p.name().equalsIgnoreCase(want)) {
                return p;
            }
        }
        throw new BackendException("benchmark: no backend named '" + want + "' on the class path");
    }

    @Override
    public BackendProbe probe() {
        try {
            BackendProbe p = inner().probe();
            return p.available() ? BackendProbe.available("timed " + p.detail()) : p;
        } catch (RuntimeException e) {
            return BackendProbe.unavailable(e.getMessage());
        }
    }

    @Override
    public Backend create() {
        BackendProvider p = inner();
        BackendProbe probe = p.probe();
        if (!probe.available()) {
            throw new BackendException("backend '" + p.name() + "' is not available: " + probe.detail());
        }
        return new TimedBackend(p.create());
    }
}
