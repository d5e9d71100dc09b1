package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BackendException;
import dev.avatar4j.backend.BackendRegistry;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.BackendProvider;
import dev.avatar4j.testing.FakeBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The probe names what is missing; selection falls back unless TensorRT was asked for by name. */
class FallbackTest {
    @TempDir
    Path tmp;

    /** Stands in for ONNX Runtime (rank 30, always available). */
    static final class Cpu implements BackendProvider {
        @Override
        public String name() {
            return "onnx";
        }

        @Override
        public int rank() {
            return 30;
        }

        @Override
        public BackendProbe probe() {
            return BackendProbe.available("cpu");
        }

        @Override
        public Backend create() {
            return new FakeBackend();
        }
    }

    @AfterEach
    void restore() {
        TestDouble.setDeviceCount(1);
    }

    @Test
    void availableWithTheTestDoubleAndSelectedFirst() {
        TensorRtBackendProvider trt = TestDouble.provider(TestDouble.options(tmp, true, 8));
        BackendProbe p = trt.probe();
        assertThat(p.available()).as(p.detail()).isTrue();
        assertThat(p.detail()).contains("TensorRT 10.15.0").contains("CUDA runtime 12.8")
                .contains("avatar4j test double GPU (compute capability 8.9)").contains(TestDouble.path().getFileName().toString());
        try (Backend b = new BackendRegistry(List.of(new Cpu(), trt)).select(null)) {
            assertThat(b.name()).isEqualTo("tensorrt");
            assertThat(b.description()).contains("fp16").contains("compute capability 8.9");
        }
    }

    @Test
    void noDeviceFallsBackToOnnxUnlessTensorRtWasRequested() {
        TestDouble.setDeviceCount(0);
        TensorRtBackendProvider trt = TestDouble.provider(TestDouble.options(tmp, true, 8));
        assertThat(trt.probe().detail()).contains("no CUDA device is visible (cudaGetDeviceCount returned 0");
        BackendRegistry registry = new BackendRegistry(List.of(new Cpu(), trt));
        assertThat(registry.select("auto")).isInstanceOf(FakeBackend.class);
        assertThatThrownBy(() -> registry.select("tensorrt")).isInstanceOf(BackendException.class)
                .hasMessageContaining("backend 'tensorrt' is not available: no CUDA device is visible");
        assertThatThrownBy(trt::create).isInstanceOf(BackendException.class).hasMessageContaining("no CUDA device");

        TestDouble.setDeviceCount(-1);
        assertThat(trt.probe().detail()).isEqualTo("TensorRT device query failed (CUDA): "
                + "cudaGetDeviceCount: cudaErrorNoDevice (no CUDA-capable device is detected)");
    }

    @Test
    void missingDriverOrLibraryIsNamedBeforeAnythingIsLoaded() throws Exception {
        TensorRtProbe noDriver = new TensorRtProbe(List.of(tmp), tmp.resolve("nvidiactl"));
        TensorRtBackendProvider trt = new TensorRtBackendProvider(noDriver::missing,
                () -> { throw new AssertionError("must not load the shim without a driver"); }, () -> null);
        assertThat(trt.probe().detail()).isEqualTo("no NVIDIA GPU driver: " + tmp.resolve("nvidiactl") + " does not exist");

        Files.createFile(tmp.resolve("nvidiactl"));
        Files.createFile(tmp.resolve("libcudart.so.12"));
        assertThat(trt.probe().detail()).startsWith("library libnvinfer.so.10 not found");
        assertThat(new BackendRegistry(List.of(new Cpu(), trt)).select(null)).isInstanceOf(FakeBackend.class);
    }

    @Test
    void theShimsMissingDependencyIsNamed() throws Exception {
        // built by the Maven build like the test double, linked against a libnvinfer.so.10 that is gone
        Path needsNvinfer = TestDouble.path().resolveSibling("libavatar4j_trt_needs_nvinfer.so");
        assertThat(needsNvinfer).isRegularFile();
        Path dir = Files.createDirectories(tmp.resolve("lib"));
        NativeLibraryLoader.Result r = NativeLibraryLoader.load(needsNvinfer.toString(), null, dir.toString());
        assertThat(r.loaded()).isEmpty();
        assertThat(r.report()).hasSize(3);
        assertThat(r.report().get(0)).startsWith("-Davatar4j.tensorrt.shim=" + needsNvinfer + ": ")
                .contains("libnvinfer.so.10: cannot open shared object file");
        assertThat(r.report().get(2)).isEqualTo(dir.resolve("libavatar4j_trt.so") + ": not found");
        TensorRtBackendProvider trt = new TensorRtBackendProvider(Optional::empty, () -> r, () -> null);
        assertThat(trt.probe().detail()).startsWith("TensorRT shim libavatar4j_trt.so could not be loaded; tried: -Davatar4j")
                .contains("libnvinfer.so.10: cannot open shared object file");
    }

    @Test
    void everyFunctionOfTheHeaderIsCheckedAtLoad() throws Exception {
        TestDouble.load();
        assertThat(NativeLibraryLoader.missingSymbols(java.lang.foreign.SymbolLookup.loaderLookup())).isEmpty();
        java.lang.foreign.SymbolLookup olderShim = name -> name.equals("a4j_build_from_onnx")
                ? Optional.empty() : java.lang.foreign.SymbolLookup.loaderLookup().find(name);
        assertThat(NativeLibraryLoader.missingSymbols(olderShim)).containsExactly("a4j_build_from_onnx");
        // the list is the header's: every function declared there is listed
        String header = Files.readString(TestDouble.path().getParent().getParent().getParent()
                .resolve("native/avatar4j_trt.h"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\b(a4j_[a-z_0-9]+)\\(").matcher(header);
        java.util.Set<String> declared = new java.util.TreeSet<>();
        while (m.find()) {
            declared.add(m.group(1));
        }
        assertThat(declared).containsExactlyInAnyOrderElementsOf(NativeLibraryLoader.SYMBOLS);
    }

    @Test
    void javaLibraryPathIsSearched() throws Exception {
        TestDouble.load();
        Path dir = Files.createDirectories(tmp.resolve("lib"));
        Files.createSymbolicLink(dir.resolve("libavatar4j_trt.so"), TestDouble.path().toAbsolutePath());
        NativeLibraryLoader.Result r = NativeLibraryLoader.load(" ", null, tmp.resolve("empty") + java.io.File.pathSeparator + dir);
        assertThat(r.loaded()).hasValue(dir.resolve("libavatar4j_trt.so").toAbsolutePath());
        assertThat(r.report()).containsExactly("-Davatar4j.tensorrt.shim not set",
                "resource " + NativeLibraryLoader.RESOURCE + " not on the class path (no native classifier jar)",
                tmp.resolve("empty").resolve("libavatar4j_trt.so") + ": not found",
                dir.resolve("libavatar4j_trt.so") + ": loaded");
        Files.delete(dir.resolve("libavatar4j_trt.so"));
    }
}
