package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.onnx.OnnxBackendProvider;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.GraphSource;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DeepCache as tools/export/latentsync exports it ({@code sampler.deepCacheInterval}, the {@code unet}'s
 * {@code cache} output, the {@code unet-shallow} graph): per chunk, a full UNet step at every
 * interval-th DDIM step (0, 3, ... as DeepCacheSDHelper counts them), the shallow graph in between on
 * the cache of the latest full step. The graphs are the toy ones of
 * {@code tools/make_latentsync_test_graphs.py} in the toy bundle {@code src/test/bundles/latentsync-toy}; a backend wrapper
 * records the calls.
 */
class LatentSyncDeepCacheTest {
    @TempDir
    static Path tmp;
    private static Backend onnx;

    /** Every run: the graph file, and the cache it returned (full) or was given (shallow). */
    record Call(String file, float[] cache) {
    }

    static final List<Call> CALLS = new ArrayList<>();

    @BeforeAll
    static void open() {
        onnx = new OnnxBackendProvider().create();
    }

    @AfterAll
    static void close() {
        onnx.close();
    }

    /** The backend recording the UNet calls. */
    static Backend recording() {
        return new Backend() {
            @Override
            public String name() {
                return onnx.name();
            }

            @Override
            public String description() {
                return "recording " + onnx.description();
            }

            @Override
            public List<String> graphVariants() {
                return onnx.graphVariants();
            }

            @Override
            public GraphSession open(GraphSource graph, SessionOptions options) {
                GraphSession s = onnx.open(graph, options);
                String file = graph.path().getFileName().toString();
                return new GraphSession() {
                    @Override
                    public List<TensorSpec> inputs() {
                        return s.inputs();
                    }

                    @Override
                    public List<TensorSpec> outputs() {
                        return s.outputs();
                    }

                    @Override
                    public Result run(Map<String, Tensor> inputs, Set<String> outputs) {
                        Result r = s.run(inputs, outputs);
                        if (file.startsWith("unet")) {
                            Tensor c = inputs.containsKey(LatentSyncEngine.CACHE) ? inputs.get(LatentSyncEngine.CACHE)
                                    : outputs.contains(LatentSyncEngine.CACHE) ? r.get(LatentSyncEngine.CACHE) : null;
                            CALLS.add(new Call(file, c == null ? null : c.toFloatArray()));
                        }
                        return r;
                    }

                    @Override
                    public boolean isThreadSafe() {
                        return s.isThreadSafe();
                    }

                    @Override
                    public void close() {
                        s.close();
                    }
                };
            }

            @Override
            public void close() {
            }
        };
    }

    /** The tiny bundle with the DeepCache toy graphs and {@code sampler.deepCacheInterval}. */
    static Path deepCacheBundle(Path dir, int interval) throws IOException {
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(LatentSyncParityTest.TOY)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        byte[] unet = resource("unet.onnx");
        byte[] shallow = resource("unet_shallow.onnx");
        Files.write(dir.resolve("unet.onnx"), unet);
        Files.write(dir.resolve("unet_shallow.onnx"), shallow);
        Path manifest = dir.resolve("avatar-bundle.json");
        String json = Files.readString(manifest, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("(\"file\": \"unet.onnx\",\\s*\"sha256\": \")([0-9a-f]{64})").matcher(json);
        assertThat(m.find()).isTrue();
        json = json.substring(0, m.start(2)) + LatentSyncPosteriorTest.sha256(unet) + json.substring(m.end(2));
        json = json.replace("\"face-detector\": {", "\"unet-shallow\": {\"file\": \"unet_shallow.onnx\", \"sha256\": \""
                + LatentSyncPosteriorTest.sha256(shallow) + "\"},\n    \"face-detector\": {");
        json = json.replace("\"defaultSteps\": 20", "\"defaultSteps\": 20, \"deepCacheInterval\": " + interval);
        Files.writeString(manifest, json, StandardCharsets.UTF_8);
        return dir;
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = LatentSyncDeepCacheTest.class.getResourceAsStream("/latentsync-deepcache/" + name)) {
            return in.readAllBytes();
        }
    }

    static List<String> denoise(Path bundle, int steps) {
        CALLS.clear();
        try (LatentSyncEngine e = LatentSyncEngine.open(Bundle.open(bundle), recording(), SessionOptions.defaults())) {
            List<AlignedFaceCrop.FloatImage> faces = new ArrayList<>();
            List<float[]> windows = new ArrayList<>();
            for (int f = 0; f < 3; f++) {
                float[] px = new float[64 * 64 * 3];
                Arrays.fill(px, 40f * (f + 1));
                faces.add(new AlignedFaceCrop.FloatImage(64, 64, 3, px));
                windows.add(new float[AudioWindows.TOKENS * 384]);
            }
            e.denoise(faces, windows, new float[4 * 8 * 8], DdimSchedule.latentSync(steps), 1.5, () -> { });
        }
        return CALLS.stream().map(Call::file).toList();
    }

    @Test
    void fullStepsAtEveryIntervalShallowOnesOnTheLatestCache() throws IOException {
        List<String> files = denoise(deepCacheBundle(tmp.resolve("dc3"), 3), 7);
        assertThat(files).containsExactly("unet.onnx", "unet_shallow.onnx", "unet_shallow.onnx", "unet.onnx",
                "unet_shallow.onnx", "unet_shallow.onnx", "unet.onnx");
        for (int i = 0; i < CALLS.size(); i++) {
            if (CALLS.get(i).file().equals("unet_shallow.onnx")) {
                int full = i;
                while (!CALLS.get(full).file().equals("unet.onnx")) {
                    full--;
                }
                assertThat(CALLS.get(i).cache()).isEqualTo(CALLS.get(full).cache());
            }
        }
        // the cache changes between full steps (it depends on the step's input)
        assertThat(CALLS.get(3).cache()).isNotEqualTo(CALLS.get(0).cache());
    }

    @Test
    void otherIntervalsAndNoDeepCache() throws IOException {
        assertThat(denoise(deepCacheBundle(tmp.resolve("dc2"), 2), 4))
                .containsExactly("unet.onnx", "unet_shallow.onnx", "unet.onnx", "unet_shallow.onnx");
        assertThat(denoise(LatentSyncParityTest.TOY, 3)).containsExactly("unet.onnx", "unet.onnx", "unet.onnx");
    }

    @Test
    void aDeepCacheBundleNeedsItsShallowGraph() throws IOException {
        Path dir = deepCacheBundle(tmp.resolve("noshallow"), 3);
        Path manifest = dir.resolve("avatar-bundle.json");
        String json = Files.readString(manifest);
        Files.writeString(manifest, json.replaceFirst("\"unet-shallow\": \\{[^}]*\\},\\s*", ""));
        assertThatThrownBy(() -> LatentSyncEngine.open(Bundle.open(dir), onnx, SessionOptions.defaults()))
                .isInstanceOf(BundleException.class).hasMessageContaining("unet-shallow");
        Files.writeString(manifest, json.replace("\"deepCacheInterval\": 3", "\"deepCacheInterval\": 1"));
        assertThatThrownBy(() -> LatentSyncEngine.open(Bundle.open(dir), onnx, SessionOptions.defaults()))
                .isInstanceOf(BundleException.class).hasMessageContaining("deepCacheInterval");
    }
}
