package dev.avatar4j.backend;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.BackendProvider;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds {@link BackendProvider}s through {@link ServiceLoader}, probes them and selects one:
 * an explicit name (argument, {@code -Davatar4j.backend}, {@code AVATAR4J_BACKEND}) or else the
 * available provider with the lowest rank. Backends are created once per process and shared.
 */
public final class BackendRegistry {
    private static final Logger log = LoggerFactory.getLogger(BackendRegistry.class);
    /** System property selecting a backend by name. */
    public static final String BACKEND_PROPERTY = "avatar4j.backend";
    /** Environment variable selecting a backend by name. */
    public static final String BACKEND_ENV = "AVATAR4J_BACKEND";

    private static final BackendRegistry GLOBAL = new BackendRegistry(loadProviders());

    private final List<BackendProvider> providers;
    private final Map<String, Backend> created = new ConcurrentHashMap<>();
    private final Map<String, BackendProbe> probes = new ConcurrentHashMap<>();

    /** A registry over the given providers (tests use their own). */
    public BackendRegistry(List<BackendProvider> providers) {
        List<BackendProvider> sorted = new ArrayList<>(providers);
        sorted.sort(Comparator.comparingInt(BackendProvider::rank).thenComparing(BackendProvider::name));
        this.providers = List.copyOf(sorted);
    }

    /** The registry of the providers on the class path / module path. */
    public static BackendRegistry global() {
        return GLOBAL;
    }

    private static List<BackendProvider> loadProviders() {
        List<BackendProvider> list = new ArrayList<>();
        for (ServiceLoader.Provider<BackendProvider> p : ServiceLoader.load(BackendProvider.class).stream().toList()) {
            try {
                list.add(p.get());
            } catch (Throwable t) { // a broken provider must not hide the others
                log.warn("backend provider {} failed to load: {}", p.type().getName(), t.toString());
            }
        }
        return list;
    }

    /** The providers, best rank first. */
    public List<BackendProvider> providers() {
        return providers;
    }

    /** Probes every provider (cached), in rank order. */
    public Map<String, BackendProbe> probeAll() {
        Map<String, BackendProbe> out = new LinkedHashMap<>();
        for (BackendProvider p : providers) {
            out.put(p.name(), probe(p));
        }
        return out;
    }

    private BackendProbe probe(BackendProvider p) {
        return probes.computeIfAbsent(p.name(), n -> {
            try {
                return p.probe();
            } catch (Throwable t) {
                return BackendProbe.unavailable("probe failed: " + t);
            }
        });
    }

    /** The explicitly configured backend name (property, then environment), or null. */
    public static String configuredName() {
        String n = System.getProperty(BACKEND_PROPERTY);
        if (n == null || n.isBlank()) {
            n = System.getenv(BACKEND_ENV);
        }
        return n == null || n.isBlank() ? null : n.trim();
    }

    /**
     * Selects and creates (once) a backend.
     *
     * @param name a provider name, {@code auto}, or null to use the configured name or the best available
     * @throws BackendException naming what is available when nothing fits
     */
    public Backend select(String name) {
        String wanted = name == null || name.isBlank() ? configuredName() : name.trim();
        if (wanted != null && wanted.toLowerCase(Locale.ROOT).equals("auto")) {
            wanted = null;
        }
        if (providers.isEmpty()) {
            throw new BackendException("no inference backend on the class path: add dev.avatar4j:sdk-runtime-onnx");
        }
        if (wanted != null) {
            String key = wanted.toLowerCase(Locale.ROOT);
            BackendProvider p = providers.stream().filter(x -> x.name().equalsIgnoreCase(key)).findFirst()
                    .orElseThrow(() -> new BackendException("unknown backend '" + key + "'; available: "
                            + String.join(", ", providers.stream().map(BackendProvider::name).toList()) + ", auto"));
            BackendProbe probe = probe(p);
            if (!probe.available()) {
                throw new BackendException("backend '" + p.name() + "' is not available: " + probe.detail());
            }
            return create(p);
        }
        StringBuilder why = new StringBuilder();
        BackendProvider first = null;
        for (BackendProvider p : providers) {
            BackendProbe probe = probe(p);
            if (probe.available()) {
                if (first == null) {
                    first = p;
                }
                break;
            }
            why.append(why.isEmpty() ? "" : "; ").append(p.name()).append(": ").append(probe.detail());
        }
        if (first == null) {
            throw new BackendException("no backend is available: " + why);
        }
        if (!why.isEmpty()) {
            log.warn("using backend '{}' because a preferred one is unavailable ({})", first.name(), why);
        }
        return create(first);
    }

    private Backend create(BackendProvider p) {
        return created.computeIfAbsent(p.name(), n -> {
            try {
                return p.create();
            } catch (BackendException e) {
                throw e;
            } catch (RuntimeException | LinkageError e) {
                throw new BackendException("backend '" + n + "' failed to start: " + e, e);
            }
        });
    }
}
