package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.bundle.JsonObject;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the committed tiny StableAvatar bundle ({@code models/stableavatar-tiny}, a real-architecture
 * export made by {@code tools/export_tiny_stableavatar.py}) through this backend: every graph's
 * signature against docs/BUNDLE-FORMAT.md (the streamed VAE encoder pair, the first-frame + step
 * decoder with the manifest's caches, the DiT and its ONNX Runtime variant), and one DiT call of both
 * variants at the window size the engine uses for the bundle's default output size. The older
 * single-graph layout (whole-clip encoder, decoder with a {@code first} input, {@code utf8-bytes} text
 * encoder), which the SDK still reads, is checked on the fixture
 * {@code src/test/bundles/stableavatar-legacy-layout} ({@code tools/make_tiny_stableavatar.py}).
 */
class TinyBundleGraphsTest {
    private static final Logger LOG = LoggerFactory.getLogger(TinyBundleGraphsTest.class);
    private static final Path BUNDLE = Path.of("..", "models", "stableavatar-tiny");
    private static final Path LEGACY = Path.of("src", "test", "bundles", "stableavatar-legacy-layout");
    private static final List<String> DIT_INPUTS =
            List.of("x", "t", "context", "clip", "y", "audio_tokens", "audio_index", "audio_gate");

    private static OnnxBackend backend;

    @BeforeAll
    static void createBackend() {
        backend = (OnnxBackend) new OnnxBackendProvider().create();
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    private static void assumeBundle(Path bundle) {
        Assumptions.assumeTrue(Files.exists(bundle.resolve("dit.onnx")),
                "tiny bundle not generated: " + bundle.toAbsolutePath().normalize() + "/dit.onnx is absent");
    }

    private static BundleManifest manifest(Path bundle) {
        try {
            return BundleManifest.parse(Files.readAllBytes(bundle.resolve(BundleManifest.FILE_NAME)));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Checks a graph's input and output names, in order, and that only {@code int64} inputs are INT64. */
    private static void signature(Path file, List<String> inputs, List<String> outputs, Set<String> int64Inputs) {
        try (GraphSession s = backend.open(file, SessionOptions.defaults())) {
            String g = file.getFileName().toString();
            assertThat(s.inputs()).extracting(TensorSpec::name).as(g).containsExactlyElementsOf(inputs);
            assertThat(s.outputs()).extracting(TensorSpec::name).as(g).containsExactlyElementsOf(outputs);
            for (TensorSpec spec : s.inputs()) {
                assertThat(spec.dtype()).as(g + " " + spec)
                        .isEqualTo(int64Inputs.contains(spec.name()) ? DType.INT64 : DType.FLOAT32);
            }
            LOG.info("{}: {} -> {}", g, s.inputs(), s.outputs());
        }
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    @Test
    void graphSignaturesFollowTheBundleFormat() {
        assumeBundle(BUNDLE);
        BundleManifest m = manifest(BUNDLE);
        assertThat(m.graphs().keySet()).containsExactlyInAnyOrder("audio-encoder", "image-encoder", "vae-encoder",
                "vae-encoder-first", "vae-encoder-step", "dit", "vae-decoder-first", "vae-decoder");
        assertThat(m.variants("dit")).containsOnlyKeys("onnxruntime");
        Set<String> int64 = Set.of("audio_index");
        signature(BUNDLE.resolve("audio_encoder.onnx"), List.of("input_values"), List.of("last_hidden_state"), int64);
        signature(BUNDLE.resolve("image_encoder.onnx"), List.of("pixel_values"), List.of("image_embeds"), int64);
        signature(BUNDLE.resolve("vae_encoder.onnx"), List.of("video"), List.of("latent"), int64);
        signature(BUNDLE.resolve("dit.onnx"), DIT_INPUTS, List.of("velocity"), int64);
        signature(BUNDLE.resolve(m.variants("dit").get("onnxruntime").file()), DIT_INPUTS, List.of("velocity"), int64);
        // the streamed pairs: the first-frame graph produces every cache the step graph consumes and replaces
        for (String[] pair : new String[][] {{"vae-encoder-first", "vae-encoder-step", "video", "latent"},
                {"vae-decoder-first", "vae-decoder", "latent", "frames"}}) {
            List<JsonObject> caches = m.graph(pair[1]).orElseThrow().extra().objects("caches");
            List<String> in = caches.stream().map(c -> c.string("name")).toList();
            List<String> out = caches.stream().map(c -> c.string("output")).toList();
            assertThat(caches).as(pair[1] + " caches").isNotEmpty();
            signature(BUNDLE.resolve(m.graph(pair[0]).orElseThrow().file()), List.of(pair[2]),
                    concat(List.of(pair[3]), out), int64);
            signature(BUNDLE.resolve(m.graph(pair[1]).orElseThrow().file()), concat(List.of(pair[2]), in),
                    concat(List.of(pair[3]), out), int64);
        }
        assertThat(m.graph("vae-decoder").orElseThrow().extra().objects("caches")).as("Wan's decoder").hasSize(32);
    }

    @Test
    void theOlderSingleGraphLayoutStillFollowsTheBundleFormat() {
        assumeBundle(LEGACY);
        Set<String> int64 = Set.of("input_ids", "attention_mask", "audio_index", "first");
        signature(LEGACY.resolve("audio_encoder.onnx"), List.of("input_values"), List.of("last_hidden_state"), int64);
        signature(LEGACY.resolve("image_encoder.onnx"), List.of("pixel_values"), List.of("image_embeds"), int64);
        signature(LEGACY.resolve("text_encoder.onnx"), List.of("input_ids", "attention_mask"),
                List.of("last_hidden_state"), int64);
        signature(LEGACY.resolve("vae_encoder.onnx"), List.of("video"), List.of("latent"), int64);
        signature(LEGACY.resolve("dit.onnx"), DIT_INPUTS, List.of("velocity"), int64);
        // VAE decoder: latent, first, then the causal caches cache_in_0..n-1 mirrored by cache_out_i.
        try (GraphSession s = backend.open(LEGACY.resolve("vae_decoder.onnx"), SessionOptions.defaults())) {
            List<String> in = s.inputs().stream().map(TensorSpec::name).toList();
            assertThat(in).hasSizeGreaterThan(2);
            int caches = in.size() - 2;
            List<String> expectedIn = new ArrayList<>(List.of("latent", "first"));
            List<String> expectedOut = new ArrayList<>(List.of("frames"));
            IntStream.range(0, caches).forEach(i -> {
                expectedIn.add("cache_in_" + i);
                expectedOut.add("cache_out_" + i);
            });
            assertThat(in).containsExactlyElementsOf(expectedIn);
            assertThat(s.outputs()).extracting(TensorSpec::name).containsExactlyElementsOf(expectedOut);
            assertThat(s.inputs().get(1).dtype()).isEqualTo(DType.INT64);
            LOG.info("vae_decoder.onnx: {} -> {}", s.inputs(), s.outputs());
        }
        assertThat(manifest(LEGACY).graph("vae-decoder-first")).isEmpty();
    }

    @Test
    void ditAndItsOnnxRuntimeVariantRunOneFullWindow() {
        assumeBundle(BUNDLE);
        BundleManifest m = manifest(BUNDLE);
        int b = 3;
        int k = 21;
        int h = m.root().object("video").integer("height") / 8; // the bundle's default output size
        int w = m.root().object("video").integer("width") / 8;
        int lt = m.root().object("text").integer("maxTokens"); // the SDK pads every prompt to this
        assertThat(lt).as("text.maxTokens: the DiT's text_len").isEqualTo(128);
        int audioLen = 167; // wav2vec2 tokens of one window's audio slice
        int slots = 17; // audio tokens per latent frame (the reference's window for 167 tokens)
        Map<String, long[]> wanted = Map.of(
                "x", new long[] {b, -1, k, h, w},
                "t", new long[] {b},
                "context", new long[] {b, lt, -1},
                "clip", new long[] {b, -1, -1},
                "y", new long[] {b, -1, k, h, w},
                "audio_tokens", new long[] {1, audioLen, -1},
                "audio_index", new long[] {k, slots}, // F latent slots: a window of 21
                "audio_gate", new long[] {b});
        float[] plain = runDit(BUNDLE.resolve("dit.onnx"), wanted, b, k, h, w, audioLen);
        float[] fused = runDit(BUNDLE.resolve(m.variants("dit").get("onnxruntime").file()), wanted, b, k, h, w, audioLen);
        double scale = 1;
        for (float f : plain) {
            scale = Math.max(scale, Math.abs(f));
        }
        for (int i = 0; i < plain.length; i++) {
            assertThat((double) fused[i]).as("dit_mha.onnx vs dit.onnx at %d", i).isCloseTo(plain[i], within(1e-4 * scale));
        }
    }

    /** One DiT call on seeded inputs (same for every graph), checked against a second call with a pinned output. */
    private static float[] runDit(Path file, Map<String, long[]> wanted, int b, int k, int h, int w, int audioLen) {
        Random rnd = new Random(42);
        try (GraphSession dit = backend.open(file, SessionOptions.defaults())) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            try {
                for (String name : DIT_INPUTS) {
                    TensorSpec spec = dit.inputs().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
                    long[] shape = concrete(spec, wanted.get(spec.name()));
                    Tensor t = Tensor.allocate(spec.dtype(), shape);
                    in.put(spec.name(), t);
                    switch (spec.name()) {
                        case "t" -> {
                            t.setFloat(0, 999f);
                            t.setFloat(1, 500f);
                            t.setFloat(2, 24.414066f);
                        }
                        case "audio_gate" -> {
                            t.setFloat(0, 0f);
                            t.setFloat(1, 1f);
                            t.setFloat(2, 1f);
                        }
                        case "audio_index" -> {
                            // About a fifth of the slots are padding (-1), as at the window edges.
                            for (long i = 0; i < t.elementCount(); i++) {
                                t.setFloat(i, rnd.nextInt(5) == 0 ? -1 : rnd.nextInt(audioLen));
                            }
                        }
                        default -> {
                            for (long i = 0; i < t.elementCount(); i++) {
                                t.setFloat(i, (float) rnd.nextGaussian());
                            }
                        }
                    }
                }
                long t0 = System.nanoTime();
                GraphSession.Result out = dit.run(in, Set.of("velocity"));
                long first = System.nanoTime() - t0;
                try (out) {
                    Tensor v = out.get("velocity");
                    assertThat(v.shape()).containsExactly(b, 16, k, h, w);
                    float[] values = v.toFloatArray();
                    for (float f : values) {
                        assertThat(Float.isFinite(f)).isTrue();
                    }
                    // Same call with the output pinned: written in place, same numbers.
                    try (Tensor pinned = Tensor.allocate(DType.FLOAT32, b, 16, k, h, w)) {
                        long t1 = System.nanoTime();
                        dit.runInto(in, Map.of("velocity", pinned));
                        long second = System.nanoTime() - t1;
                        float[] again = pinned.toFloatArray();
                        for (int i = 0; i < values.length; i += 997) {
                            assertThat(again[i]).isCloseTo(values[i], within(1e-4f + 1e-4f * Math.abs(values[i])));
                        }
                        LOG.info("{} B={} k={} h={} w={} ({}x{} output): run {} ms (first call), runInto {} ms",
                                file.getFileName(), b, k, h, w, 8 * w, 8 * h, first / 1_000_000, second / 1_000_000);
                    }
                    return values;
                }
            } finally {
                in.values().forEach(Tensor::close);
            }
        }
    }

    /** The spec's shape with its dynamic dimensions filled from {@code wanted}; fixed dimensions must agree. */
    private static long[] concrete(TensorSpec spec, long[] wanted) {
        assertThat(wanted).as("test knows input " + spec.name()).isNotNull();
        long[] shape = spec.shape();
        assertThat(shape).as(spec.toString()).hasSameSizeAs(wanted);
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                assertThat(wanted[i]).as("dynamic dim " + i + " of " + spec).isGreaterThanOrEqualTo(0);
                shape[i] = wanted[i];
            } else if (wanted[i] >= 0) {
                assertThat(shape[i]).as("fixed dim " + i + " of " + spec).isEqualTo(wanted[i]);
            }
        }
        return shape;
    }
}
