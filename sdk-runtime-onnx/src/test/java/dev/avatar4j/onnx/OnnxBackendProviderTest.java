package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.BackendProvider;
import dev.avatar4j.spi.SessionOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxBackendProviderTest {

    @Test
    void probeReportsAvailableWithVersion() {
        BackendProbe probe = new OnnxBackendProvider().probe();
        assertThat(probe.available()).as(probe.detail()).isTrue();
        assertThat(probe.detail()).matches("ONNX Runtime \\d+\\.\\d+\\.\\d+ \\(CPU(, CUDA available)?\\)");
        // The pinned dependency is what the native library reports.
        assertThat(probe.detail()).startsWith("ONNX Runtime 1.29.0 ");
        // Cached: asking again is cheap and gives the same answer.
        assertThat(new OnnxBackendProvider().probe()).isEqualTo(probe);
    }

    @Test
    void nativeLoadFailureIsReportedNotThrown() {
        OrtRuntime broken = OrtRuntime.load(() -> {
            throw new UnsatisfiedLinkError("/tmp/onnxruntime-java/libonnxruntime.so: cannot open shared object file");
        });
        OnnxBackendProvider provider = new OnnxBackendProvider(() -> broken);
        BackendProbe probe = provider.probe();
        assertThat(probe.available()).isFalse();
        assertThat(probe.detail()).isEqualTo("ONNX Runtime native library failed to load: UnsatisfiedLinkError: "
                + "/tmp/onnxruntime-java/libonnxruntime.so: cannot open shared object file");
        assertThatThrownBy(provider::create).isInstanceOf(BackendException.class)
                .hasMessage(probe.detail());

        OrtRuntime wrapped = OrtRuntime.load(() -> {
            throw new ExceptionInInitializerError(new java.io.IOException("no native library for linux-riscv64"));
        });
        assertThat(new OnnxBackendProvider(() -> wrapped).probe().detail())
                .startsWith("ONNX Runtime native library failed to load: ExceptionInInitializerError caused by IOException")
                .endsWith("no native library for linux-riscv64");
    }

    @Test
    void realNativeLoadFailureInAChildJvm(@TempDir Path dir) throws Exception {
        // ORT Java loads the library from this property's path first; a missing file makes System.load fail.
        Path result = dir.resolve("probe.txt");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
                "-Donnxruntime.native.onnxruntime.path=" + dir.resolve("missing").resolve("libonnxruntime.so"),
                "-cp", System.getProperty("java.class.path"), ProbeMain.class.getName(), result.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(dir.resolve("child.log"))).isZero();
        String[] parts = Files.readString(result).split("\\|", 2);
        assertThat(parts[0]).isEqualTo("false");
        assertThat(parts[1]).startsWith("ONNX Runtime native library failed to load: ").contains("libonnxruntime.so");
    }

    @Test
    void aLongClassPathDoesNotCrashTheInitialisation(@TempDir Path dir) throws Exception {
        // ONNX Runtime 1.29 creating its environment on a 1 MB stack (the main thread's) with ~8 KB of
        // java.class.path died of SIGSEGV (exit 139); it is created on a thread with a large stack now
        StringBuilder cp = new StringBuilder(System.getProperty("java.class.path"));
        for (int i = 0; cp.length() < 12_000; i++) {
            cp.append(java.io.File.pathSeparator).append(dir.resolve("no-such-library-" + i + ".jar"));
        }
        Path result = dir.resolve("probe.txt");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xss1m", "-cp", cp.toString(),
                ProbeMain.class.getName(), result.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(dir.resolve("child.log"))).isZero();
        assertThat(Files.readString(result)).startsWith("true|");
    }

    @Test
    void initialisationFailuresComeBackFromItsThread() {
        assertThatThrownBy(() -> OrtRuntime.onLargeStack(() -> {
            throw new IllegalStateException("boom");
        })).isInstanceOf(IllegalStateException.class).hasMessage("boom");
        assertThat(OrtRuntime.onLargeStack(() -> Thread.currentThread().getName())).isEqualTo("avatar4j-onnx-init");
    }

    @Test
    void serviceLoaderFindsTheProvider() {
        // Iterate defensively: another module's provider failing to load must not hide this one.
        List<BackendProvider> providers = new ArrayList<>();
        Iterator<BackendProvider> it = ServiceLoader.load(BackendProvider.class).iterator();
        for (int guard = 0; guard < 100; guard++) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                providers.add(it.next());
            } catch (ServiceConfigurationError e) {
                // skip the broken provider
            }
        }
        assertThat(providers).filteredOn(p -> p instanceof OnnxBackendProvider).hasSize(1);
        BackendProvider onnx = providers.stream().filter(p -> p.name().equals("onnx")).findFirst().orElseThrow();
        assertThat(onnx.rank()).isEqualTo(20);
        assertThat(onnx.probe().available()).isTrue();
    }

    @Test
    void createsABackendThatDescribesItsDevice() {
        try (Backend backend = new OnnxBackendProvider().create()) {
            assertThat(backend.name()).isEqualTo("onnx");
            assertThat(backend.description()).matches("ONNX Runtime 1\\.29\\.0 \\((CPU|CUDA device 0)\\)");
            if (!OrtRuntime.cudaRequested()) {
                assertThat(backend.description()).endsWith("(CPU)");
            }
        }
    }

    @Test
    void closedBackendRefusesToOpen() {
        Backend backend = new OnnxBackendProvider().create();
        backend.close();
        backend.close(); // idempotent
        assertThatThrownBy(() -> backend.open(Fixtures.path("add_scale.onnx"), SessionOptions.defaults()))
                .isInstanceOf(BackendException.class).hasMessageContaining("closed");
    }

    @Test
    void closingTheBackendClosesSessionsLeftOpen() {
        Backend backend = new OnnxBackendProvider().create();
        var session = backend.open(Fixtures.path("add_scale.onnx"), SessionOptions.defaults());
        backend.close();
        assertThat(session.toString()).contains("closed");
    }

    @Test
    void missingGraphFileIsABackendException() {
        try (Backend backend = new OnnxBackendProvider().create()) {
            Path missing = Path.of("no-such-graph.onnx");
            assertThatThrownBy(() -> backend.open(missing, SessionOptions.defaults()))
                    .isInstanceOf(BackendException.class).hasMessageContaining("no-such-graph.onnx");
        }
    }
}
