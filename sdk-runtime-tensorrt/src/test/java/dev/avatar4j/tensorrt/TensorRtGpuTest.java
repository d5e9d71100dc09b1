package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a machine with an NVIDIA GPU, CUDA and TensorRT 10 (and the shim built by CMake, found through
 * {@code -Davatar4j.tensorrt.shim} or {@code java.library.path}):
 * <pre>
 * ./mvnw -B -pl sdk-runtime-tensorrt -am verify -Davatar4j.tensorrt.gpuTests=true \
 *     -Davatar4j.tensorrt.shim=$PWD/sdk-runtime-tensorrt/target/native-build/libavatar4j_trt.so
 * </pre>
 * Skipped everywhere else. The test double is not used here.
 */
@EnabledIfSystemProperty(named = "avatar4j.tensorrt.gpuTests", matches = "true")
class TensorRtGpuTest {
    @TempDir
    Path cache;

    private static Path tinyBundle() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve("models/stableavatar-tiny"))) {
            dir = dir.getParent();
        }
        assertThat(dir).as("repository root").isNotNull();
        return dir.resolve("models/stableavatar-tiny");
    }

    @Test
    void buildsCachesAndRunsTheTinyAudioEncoder() throws Exception {
        String shim = System.getProperty(NativeLibraryLoader.PATH_PROPERTY);
        TensorRtBackendProvider provider = new TensorRtBackendProvider(() -> TensorRtProbe.ofSystem().missing(),
                NativeLibraryLoader::loadShared,
                () -> new TrtOptions(true, 1, 16, 128, 0, cache, ProfileRanges.none()));
        BackendProbe probe = provider.probe();
        assertThat(probe.available()).as("probe (shim %s): %s", shim, probe.detail()).isTrue();
        Path graph = tinyBundle().resolve("audio_encoder.onnx");
        Path ranges = cache.resolve("profiles.properties");
        Files.writeString(ranges, "audio_encoder.onnx/input_values = 1x400 : 1x16000 : 1x64000\n");
        TrtOptions options = new TrtOptions(true, 1, 16, 128, 0, cache, ProfileRanges.read(ranges));
        try (TensorRtBackend backend = new TensorRtBackend(Shim.machine(), options)) {
            Path engine;
            try (GraphSession s = backend.open(graph, SessionOptions.defaults())) {
                engine = new EngineCache(cache).path(graph, backend.key(graph));
                assertThat(engine).isRegularFile();
                float[] wave = new float[16000];
                for (int i = 0; i < wave.length; i++) {
                    wave[i] = (float) Math.sin(2 * Math.PI * 220 * i / 16000.0);
                }
                try (Tensor in = Tensor.ofFloats(wave, 1, wave.length);
                     GraphSession.Result outResult = s.run(Map.of("input_values", in), Set.of("last_hidden_state"))) {
                    Tensor out = outResult.get("last_hidden_state");
                    assertThat(out.dim(0)).isEqualTo(1);
                    assertThat(out.dim(2)).isEqualTo(32);
                    for (float v : out.toFloatArray()) {
                        assertThat(Float.isFinite(v)).isTrue();
                    }
                }
            }
            long modified = Files.getLastModifiedTime(engine).toMillis();
            backend.open(graph, SessionOptions.defaults()).close();
            assertThat(Files.getLastModifiedTime(engine).toMillis()).as("second open reads the cache").isEqualTo(modified);
        }
    }
}
