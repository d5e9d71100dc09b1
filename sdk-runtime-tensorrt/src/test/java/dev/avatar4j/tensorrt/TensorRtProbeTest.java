package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.BackendProbe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

@EnabledOnOs(OS.LINUX)
class TensorRtProbeTest {
    @TempDir
    Path tmp;

    @Test
    void reportsMissingGpuDeviceFirst() {
        TensorRtProbe probe = new TensorRtProbe(List.of(tmp), tmp.resolve("nvidiactl"));
        assertThat(probe.missing()).hasValueSatisfying(m -> assertThat(m).contains("no NVIDIA GPU driver"));
    }

    @Test
    void namesTheFirstMissingLibrary() throws Exception {
        Files.createFile(tmp.resolve("nvidiactl"));
        TensorRtProbe probe = new TensorRtProbe(List.of(tmp), tmp.resolve("nvidiactl"));
        assertThat(probe.missing()).hasValueSatisfying(m -> assertThat(m).contains("libcudart.so.13"));
        Files.createFile(tmp.resolve("libcudart.so.12"));
        assertThat(probe.missing()).hasValueSatisfying(m -> assertThat(m).contains("libnvinfer.so.10"));
        Files.createFile(tmp.resolve("libnvinfer.so.10"));
        assertThat(probe.missing()).hasValueSatisfying(m -> assertThat(m).contains("libnvonnxparser.so.10"));
        Files.createFile(tmp.resolve("libnvonnxparser.so"));
        assertThat(probe.missing()).isEmpty();
    }

    @Test
    void whenLibrariesExistButTheShimDoesNotLoadTheProbeReportsEveryPathTried() throws Exception {
        Files.createFile(tmp.resolve("nvidiactl"));
        for (String f : new String[] {"libcudart.so", "libnvinfer.so", "libnvonnxparser.so"}) {
            Files.createFile(tmp.resolve(f));
        }
        TensorRtProbe files = new TensorRtProbe(List.of(tmp), tmp.resolve("nvidiactl"));
        TensorRtBackendProvider provider = new TensorRtBackendProvider(files::missing,
                () -> NativeLibraryLoader.load(null, null, tmp.toString()), TrtOptions::fromSystem);
        BackendProbe p = provider.probe();
        assertThat(p.available()).isFalse();
        assertThat(p.detail()).contains("libavatar4j_trt.so could not be loaded")
                .contains("-Davatar4j.tensorrt.shim not set")
                .contains("no native classifier jar")
                .contains(tmp.resolve("libavatar4j_trt.so") + ": not found");
        assertThatThrownBy(provider::create).isInstanceOf(BackendException.class).hasMessageContaining("unavailable");
    }

    @Test
    void systemProbeNeverThrowsAndRanksFirst() {
        TensorRtBackendProvider provider = new TensorRtBackendProvider();
        assertThat(provider.rank()).isLessThan(20);
        assertThat(provider.probe().detail()).isNotBlank();
    }
}
