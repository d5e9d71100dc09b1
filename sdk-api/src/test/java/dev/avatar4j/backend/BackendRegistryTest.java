package dev.avatar4j.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.BackendProvider;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Selection of backends by name, configuration and rank, with hand-made providers. */
class BackendRegistryTest {

    /** A backend that only has a name. */
    record StubBackend(String name) implements Backend {
        @Override
        public String description() {
            return "stub " + name;
        }

        @Override
        public GraphSession open(dev.avatar4j.spi.GraphSource graph, SessionOptions options) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {
        }
    }

    /** A provider that counts probes and creations. */
    static final class Provider implements BackendProvider {
        final String name;
        final int rank;
        final Supplier<BackendProbe> probe;
        final AtomicInteger probes = new AtomicInteger();
        final AtomicInteger creates = new AtomicInteger();

        Provider(String name, int rank, Supplier<BackendProbe> probe) {
            this.name = name;
            this.rank = rank;
            this.probe = probe;
        }

        static Provider available(String name, int rank) {
            return new Provider(name, rank, () -> BackendProbe.available(name + " ok"));
        }

        static Provider unavailable(String name, int rank, String why) {
            return new Provider(name, rank, () -> BackendProbe.unavailable(why));
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int rank() {
            return rank;
        }

        @Override
        public BackendProbe probe() {
            probes.incrementAndGet();
            return probe.get();
        }

        @Override
        public Backend create() {
            creates.incrementAndGet();
            return new StubBackend(name);
        }
    }

    @Test
    void autoPicksTheLowestRankThatIsAvailable() {
        Provider slow = Provider.available("slow", 100);
        Provider fast = Provider.available("fast", 10);
        Provider medium = Provider.available("medium", 50);
        BackendRegistry r = new BackendRegistry(List.of(slow, fast, medium));
        assertThat(r.providers()).extracting(BackendProvider::name).containsExactly("fast", "medium", "slow");
        assertThat(r.select("auto").name()).isEqualTo("fast");
        assertThat(r.select("AUTO").name()).isEqualTo("fast");
        assertThat(slow.creates.get() + medium.creates.get()).isZero();
        assertThat(slow.probes.get()).as("providers after the chosen one are not probed").isZero();
    }

    @Test
    void equalRanksAreOrderedByName() {
        BackendRegistry r = new BackendRegistry(List.of(Provider.available("zeta", 5), Provider.available("alpha", 5)));
        assertThat(r.select("auto").name()).isEqualTo("alpha");
    }

    @Test
    void aLowerRankUnavailableProviderIsSkipped() {
        Provider gpu = Provider.unavailable("gpu", 1, "no CUDA device");
        Provider cpu = Provider.available("cpu", 10);
        BackendRegistry r = new BackendRegistry(List.of(gpu, cpu));
        assertThat(r.select("auto").name()).isEqualTo("cpu");
        assertThat(gpu.creates.get()).isZero();
    }

    @Test
    void whenNothingIsAvailableTheReasonsAreListed() {
        BackendRegistry r = new BackendRegistry(List.of(Provider.unavailable("gpu", 1, "no CUDA device"),
                Provider.unavailable("cpu", 10, "native library missing")));
        assertThatThrownBy(() -> r.select("auto")).isInstanceOf(BackendException.class)
                .hasMessageContaining("no backend is available")
                .hasMessageContaining("gpu: no CUDA device")
                .hasMessageContaining("cpu: native library missing");
    }

    @Test
    void explicitNameIsCaseInsensitiveAndTrimmed() {
        Provider a = Provider.available("Alpha", 1);
        Provider b = Provider.available("beta", 2);
        BackendRegistry r = new BackendRegistry(List.of(a, b));
        assertThat(r.select("BETA").name()).isEqualTo("beta");
        assertThat(r.select("  beta ").name()).isEqualTo("beta");
        assertThat(r.select("alpha").name()).isEqualTo("Alpha");
    }

    @Test
    void unknownNameListsTheAvailableNames() {
        BackendRegistry r = new BackendRegistry(List.of(Provider.available("onnx", 10), Provider.available("tensorrt", 5)));
        assertThatThrownBy(() -> r.select("cuda")).isInstanceOf(BackendException.class)
                .hasMessageContaining("unknown backend 'cuda'")
                .hasMessageContaining("tensorrt, onnx").hasMessageContaining("auto");
    }

    @Test
    void explicitUnavailableNamesTheProbeDetail() {
        Provider gpu = Provider.unavailable("gpu", 1, "driver 470 is too old (needs 525)");
        BackendRegistry r = new BackendRegistry(List.of(gpu, Provider.available("cpu", 10)));
        assertThatThrownBy(() -> r.select("gpu")).isInstanceOf(BackendException.class)
                .hasMessageContaining("'gpu'").hasMessageContaining("not available")
                .hasMessageContaining("driver 470 is too old (needs 525)");
        assertThat(gpu.creates.get()).isZero();
    }

    @Test
    void aProbeThatThrowsCountsAsUnavailable() {
        Provider broken = new Provider("broken", 1, () -> {
            throw new UnsatisfiedLinkError("libfoo.so: cannot open shared object file");
        });
        Provider ok = Provider.available("ok", 2);
        BackendRegistry r = new BackendRegistry(List.of(broken, ok));
        assertThat(r.select("auto").name()).isEqualTo("ok");
        assertThat(r.probeAll().get("broken").available()).isFalse();
        assertThat(r.probeAll().get("broken").detail()).contains("probe failed").contains("libfoo.so");
        assertThatThrownBy(() -> r.select("broken")).isInstanceOf(BackendException.class)
                .hasMessageContaining("libfoo.so");
        Provider runtime = new Provider("rt", 1, () -> {
            throw new IllegalStateException("boom");
        });
        assertThatThrownBy(() -> new BackendRegistry(List.of(runtime)).select("auto"))
                .isInstanceOf(BackendException.class).hasMessageContaining("rt: probe failed")
                .hasMessageContaining("boom");
    }

    @Test
    void probesAreCachedAndBackendsCreatedOnceAndShared() {
        Provider a = Provider.available("a", 1);
        Provider b = Provider.available("b", 2);
        BackendRegistry r = new BackendRegistry(List.of(a, b));
        Backend first = r.select("auto");
        Backend second = r.select("a");
        Backend third = r.select(" A ");
        assertThat(second).isSameAs(first);
        assertThat(third).isSameAs(first);
        Backend bb = r.select("b");
        assertThat(r.select("b")).isSameAs(bb);
        assertThat(a.creates.get()).isEqualTo(1);
        assertThat(b.creates.get()).isEqualTo(1);
        r.probeAll();
        r.probeAll();
        assertThat(a.probes.get()).isEqualTo(1);
        assertThat(b.probes.get()).isEqualTo(1);
    }

    @Test
    void concurrentSelectionCreatesOneBackend() throws Exception {
        Provider a = Provider.available("a", 1);
        BackendRegistry r = new BackendRegistry(List.of(a));
        List<Thread> threads = new java.util.ArrayList<>();
        java.util.Set<Backend> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
        for (int i = 0; i < 8; i++) {
            threads.add(Thread.ofPlatform().start(() -> seen.add(r.select("a"))));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(seen).hasSize(1);
        assertThat(a.creates.get()).isEqualTo(1);
    }

    @Test
    void aFailingCreateIsABackendException() {
        BackendProvider bad = new BackendProvider() {
            @Override
            public String name() {
                return "bad";
            }

            @Override
            public int rank() {
                return 1;
            }

            @Override
            public BackendProbe probe() {
                return BackendProbe.available("looks fine");
            }

            @Override
            public Backend create() {
                throw new IllegalStateException("cannot initialise device 0");
            }
        };
        BackendRegistry r = new BackendRegistry(List.of(bad));
        assertThatThrownBy(() -> r.select("bad")).isInstanceOf(BackendException.class)
                .hasMessageContaining("'bad' failed to start").hasMessageContaining("cannot initialise device 0");
    }

    @Test
    void noProvidersAtAll() {
        assertThatThrownBy(() -> new BackendRegistry(List.of()).select("auto")).isInstanceOf(BackendException.class)
                .hasMessageContaining("sdk-runtime-onnx");
    }

    @Test
    void theSystemPropertyIsHonouredBySelectNull() {
        Provider a = Provider.available("a", 1);
        Provider b = Provider.available("b", 2);
        BackendRegistry r = new BackendRegistry(List.of(a, b));
        String old = System.getProperty(BackendRegistry.BACKEND_PROPERTY);
        try {
            System.setProperty(BackendRegistry.BACKEND_PROPERTY, " B ");
            assertThat(BackendRegistry.configuredName()).isEqualTo("B");
            assertThat(r.select(null).name()).isEqualTo("b");
            assertThat(r.select("").name()).as("blank is like null").isEqualTo("b");
            assertThat(r.select("a").name()).as("an explicit name wins over the property").isEqualTo("a");
            System.setProperty(BackendRegistry.BACKEND_PROPERTY, "auto");
            assertThat(r.select(null).name()).isEqualTo("a");
            System.setProperty(BackendRegistry.BACKEND_PROPERTY, "nope");
            assertThatThrownBy(() -> r.select(null)).isInstanceOf(BackendException.class)
                    .hasMessageContaining("unknown backend 'nope'");
        } finally {
            if (old == null) {
                System.clearProperty(BackendRegistry.BACKEND_PROPERTY);
            } else {
                System.setProperty(BackendRegistry.BACKEND_PROPERTY, old);
            }
        }
    }
}
