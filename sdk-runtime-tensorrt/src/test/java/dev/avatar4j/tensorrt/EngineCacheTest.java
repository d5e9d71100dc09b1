package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Engines are built once per key, cached atomically, and rebuilt when the cache is unusable. */
class EngineCacheTest {
    @TempDir
    Path tmp;

    private static float firstOutput(GraphSession s) {
        try (Tensor x = Tensor.ofFloats(new float[] {1, 2, 3, 4}, 1, 4); Tensor scale = Tensor.ofFloats(new float[] {3}, 1);
             GraphSession.Result yResult = s.run(Map.of("x", x, "scale", scale), Set.of("y"))) {
            Tensor y = yResult.get("y");
            return y.getFloat(0);
        }
    }

    private static long engineFiles(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".engine")).count();
        }
    }

    @Test
    void buildsOnFirstUseThenReadsTheCache() throws Exception {
        Path cache = tmp.resolve("cache");
        Path g = TestDouble.network(tmp, "dit.onnx", TestDouble.AFFINE);
        long builds = TestDouble.builds();
        try (TensorRtBackend b = (TensorRtBackend) TestDouble.provider(TestDouble.options(cache, true, 8)).create()) {
            try (GraphSession s = b.open(g, SessionOptions.defaults())) {
                assertThat(firstOutput(s)).isEqualTo(3.5f);
            }
            assertThat(TestDouble.builds()).isEqualTo(builds + 1);
            EngineCache.Key key = b.key(g);
            Path file = new EngineCache(cache).path(g, key);
            assertThat(file.getFileName().toString()).startsWith("dit-").endsWith(".engine");
            // the builder was given the precision and profile (the test double appends them to its plan)
            assertThat(Files.readString(file)).contains("precision fp16").contains("profile default 1 2 8");
            assertThat(Files.readString(file.resolveSibling(file.getFileName() + ".key")))
                    .contains("onnx-sha256=" + EngineCache.sha256(g)).contains("tensorrt=10.15.0")
                    .contains("compute-capability=8.9").contains("precision=fp16").contains("profile=dynamic=1:2:8");
        }
        try (TensorRtBackend b = (TensorRtBackend) TestDouble.provider(TestDouble.options(cache, true, 8)).create();
             GraphSession s = b.open(g, SessionOptions.defaults())) {
            assertThat(firstOutput(s)).isEqualTo(3.5f);
            assertThat(TestDouble.builds()).as("second process start reads the cache").isEqualTo(builds + 1);
        }
        assertThat(engineFiles(cache)).isEqualTo(1);
        try (Stream<Path> files = Files.list(cache)) {
            assertThat(files.filter(p -> p.getFileName().toString().endsWith(".tmp"))).isEmpty();
        }
    }

    @Test
    void theEngineIsBuiltFromTheVerifiedBytesNotFromTheFileAsItIsNow() throws Exception {
        // issue 22 item 7: a graph swapped between verification and the build must neither be built
        // nor be cached under the verified graph's key
        Path cache = tmp.resolve("cache");
        Path g = TestDouble.network(tmp, "swap.onnx", TestDouble.AFFINE);
        dev.avatar4j.spi.GraphSource verified = dev.avatar4j.bundle.Bundle.readGraph(g);
        Files.writeString(g, TestDouble.AFFINE.replace("0.5", "0.25"));
        try (TensorRtBackend b = (TensorRtBackend) TestDouble.provider(TestDouble.options(cache, true, 8)).create()) {
            try (GraphSession s = b.open(verified, SessionOptions.defaults())) {
                assertThat(firstOutput(s)).isEqualTo(3.5f);
            }
            assertThat(b.key(verified).onnxSha256()).isEqualTo(verified.sha256());
            // the swapped file is another graph with its own engine
            try (GraphSession s = b.open(g, SessionOptions.defaults())) {
                assertThat(firstOutput(s)).isEqualTo(3.25f);
            }
        }
    }

    @Test
    void everyKeyComponentSelectsItsOwnEngine() throws Exception {
        Path cache = tmp.resolve("cache");
        Path g = TestDouble.network(tmp, "vae.onnx", TestDouble.AFFINE);
        long builds = TestDouble.builds();
        try (TensorRtBackend fp16 = (TensorRtBackend) TestDouble.provider(TestDouble.options(cache, true, 8)).create();
             TensorRtBackend fp32 = (TensorRtBackend) TestDouble.provider(TestDouble.options(cache, false, 8)).create();
             TensorRtBackend wide = (TensorRtBackend) TestDouble.provider(TestDouble.options(cache, true, 16)).create()) {
            fp16.open(g, SessionOptions.defaults()).close();
            fp32.open(g, SessionOptions.defaults()).close();
            wide.open(g, SessionOptions.defaults()).close();
            assertThat(TestDouble.builds()).isEqualTo(builds + 3);
            assertThat(engineFiles(cache)).isEqualTo(3);
            // a changed ONNX file (same name) is a new key
            Files.writeString(g, TestDouble.AFFINE.replace("0.5", "0.25"));
            try (GraphSession s = fp16.open(g, SessionOptions.defaults())) {
                assertThat(firstOutput(s)).isEqualTo(3.25f);
            }
            assertThat(TestDouble.builds()).isEqualTo(builds + 4);
        }
        EngineCache.Key k = new EngineCache.Key("ab", "10.15.0", "8.9", "dynamic=1:2:8", "fp16");
        assertThat(k.id()).hasSize(24).isEqualTo(new EngineCache.Key("ab", "10.15.0", "8.9", "dynamic=1:2:8", "fp16").id());
        assertThat(Stream.of(new EngineCache.Key("ac", "10.15.0", "8.9", "dynamic=1:2:8", "fp16"),
                new EngineCache.Key("ab", "10.16.0", "8.9", "dynamic=1:2:8", "fp16"),
                new EngineCache.Key("ab", "10.15.0", "9.0", "dynamic=1:2:8", "fp16"),
                new EngineCache.Key("ab", "10.15.0", "8.9", "dynamic=1:2:9", "fp16"),
                new EngineCache.Key("ab", "10.15.0", "8.9", "dynamic=1:2:8", "fp32")).map(EngineCache.Key::id))
                .doesNotContain(k.id()).doesNotHaveDuplicates();
    }

    @Test
    void perInputProfileRangesReachTheBuilderAndTheKey() throws Exception {
        Path cache = tmp.resolve("cache");
        Path bundle = java.nio.file.Files.createDirectories(tmp.resolve("bundle"));
        Path g = TestDouble.network(bundle, "dit.onnx", TestDouble.AFFINE);
        Path explicit = TestDouble.network(tmp, "profiles.properties", "dit.onnx/x = 1x4 : 2x4 : 6x4\n");
        java.nio.file.Files.writeString(bundle.resolve(ProfileRanges.BUNDLE_FILE),
                "dit.onnx/x = 1x4 : 1x4 : 1x4\ndit.onnx/scale = 1 : 1 : 1\nother.onnx/x = 1 : 1 : 1\n");
        TrtOptions withRanges = new TrtOptions(true, 1, 2, 8, 0, cache, ProfileRanges.read(explicit));
        try (TensorRtBackend plain = (TensorRtBackend) TestDouble.provider(TestDouble.options(cache, true, 8)).create();
             TensorRtBackend ranged = (TensorRtBackend) TestDouble.provider(withRanges).create()) {
            Path file = ranged.prebuild(g);
            // the explicit file wins for x; the bundle's own file supplies scale
            assertThat(Files.readString(file)).contains("range scale 1 1:1:1\n").contains("range x 2 1:2:6 4:4:4\n");
            assertThat(ranged.key(g).profile()).isEqualTo("dynamic=1:2:8;scale=1:1:1;x=1x4:2x4:6x4");
            assertThat(plain.key(g).profile()).isEqualTo("dynamic=1:2:8;scale=1:1:1;x=1x4:1x4:1x4");
        }
        Path bad = TestDouble.network(tmp, "bad.properties", "dit.onnx/x = 2x4 : 1x4 : 6x4\n");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ProfileRanges.read(bad))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dit.onnx/x")
                .hasMessageContaining("1 <= min <= opt <= max");
    }

    @Test
    void aGraphsPrecisionLineChoosesItsEnginesPrecisionUnlessTheUserForcesOne() throws Exception {
        Path cache = tmp.resolve("cache");
        Path bundle = Files.createDirectories(tmp.resolve("bundle"));
        Path vae = TestDouble.network(bundle, "vae_decoder.onnx", TestDouble.AFFINE);
        Path dit = TestDouble.network(bundle, "dit.onnx", TestDouble.AFFINE);
        Path enc = TestDouble.network(bundle, "text_encoder.onnx", TestDouble.AFFINE);
        Files.writeString(bundle.resolve(ProfileRanges.BUNDLE_FILE),
                "vae_decoder.onnx/@precision = bf16\ntext_encoder.onnx/@precision = FP32\ndit.onnx/x = 1x4 : 2x4 : 8x4\n");
        try (TensorRtBackend b = (TensorRtBackend) TestDouble.provider(TestDouble.options(cache, true, 8)).create();
             TensorRtBackend forced = (TensorRtBackend) TestDouble.provider(new TrtOptions(true, 1, 2, 8, 0, cache,
                     ProfileRanges.none(), true)).create()) {
            // the builder got the graph's precision (the double writes the flags it saw into the plan)
            assertThat(Files.readString(b.prebuild(vae))).contains("precision bf16\n");
            assertThat(Files.readString(b.prebuild(enc))).contains("precision fp32\n");
            assertThat(Files.readString(b.prebuild(dit))).contains("precision fp16\n"); // no line: the default
            assertThat(b.key(vae).precision()).isEqualTo("bf16");
            assertThat(b.key(vae).id()).isNotEqualTo(forced.key(vae).id());
            // -Davatar4j.tensorrt.precision given: every graph takes it
            assertThat(forced.key(vae).precision()).isEqualTo("fp16");
            assertThat(Files.readString(forced.prebuild(enc))).contains("precision fp16\n");
            try (GraphSession s = b.open(vae, SessionOptions.defaults())) {
                assertThat(firstOutput(s)).isEqualTo(3.5f);
            }
        }
        Path bad = TestDouble.network(tmp, "bad.properties", "dit.onnx/@precision = int8\n");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ProfileRanges.read(bad))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dit.onnx/@precision")
                .hasMessageContaining("fp16, bf16 or fp32");
    }

    @Test
    void anUnusableCachedEngineIsRebuilt() throws Exception {
        Path cache = tmp.resolve("cache");
        Path g = TestDouble.network(tmp, "enc.onnx", TestDouble.AFFINE);
        try (TensorRtBackend b = (TensorRtBackend) TestDouble.provider(TestDouble.options(cache, true, 8)).create()) {
            Path file = b.prebuild(g);
            Files.writeString(file, "truncated garbage");
            long builds = TestDouble.builds();
            try (GraphSession s = b.open(g, SessionOptions.defaults())) {
                assertThat(firstOutput(s)).isEqualTo(3.5f);
            }
            assertThat(TestDouble.builds()).isEqualTo(builds + 1);
            assertThat(Files.readString(file)).startsWith("A4JFAKE");
        }
    }
}
