package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

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
 * Runs the committed tiny StableAvatar bundle ({@code models/stableavatar-tiny}, built by
 * {@code tools/make_tiny_stableavatar.py}) through this backend: every graph's signature against
 * docs/BUNDLE-FORMAT.md, and one DiT call at the window size the engine uses. Skipped when the
 * bundle has not been generated.
 */
class TinyBundleGraphsTest {
    private static final Logger LOG = LoggerFactory.getLogger(TinyBundleGraphsTest.class);
    private static final Path BUNDLE = Path.of("..", "models", "stableavatar-tiny");

    private static OnnxBackend backend;

    @BeforeAll
    static void createBackend() {
        backend = (OnnxBackend) new OnnxBackendProvider().create();
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    private static void assumeBundle() {
        Assumptions.assumeTrue(Files.exists(BUNDLE.resolve("dit.onnx")),
                "tiny bundle not generated: " + BUNDLE.toAbsolutePath().normalize() + "/dit.onnx is absent");
    }

    @Test
    void graphSignaturesFollowTheBundleFormat() {
        assumeBundle();
        Map<String, List<String>> inputs = new LinkedHashMap<>();
        inputs.put("audio_encoder.onnx", List.of("input_values"));
        inputs.put("image_encoder.onnx", List.of("pixel_values"));
        inputs.put("text_encoder.onnx", List.of("input_ids", "attention_mask")); // optional graph
        inputs.put("vae_encoder.onnx", List.of("video"));
        inputs.put("dit.onnx", List.of("x", "t", "context", "clip", "y", "audio_tokens", "audio_index", "audio_gate"));
        Map<String, List<String>> outputs = Map.of(
                "audio_encoder.onnx", List.of("last_hidden_state"),
                "image_encoder.onnx", List.of("image_embeds"),
                "text_encoder.onnx", List.of("last_hidden_state"),
                "vae_encoder.onnx", List.of("latent"),
                "dit.onnx", List.of("velocity"));
        Set<String> int64Inputs = Set.of("input_ids", "attention_mask", "audio_index", "first");
        for (Map.Entry<String, List<String>> e : inputs.entrySet()) {
            Path file = BUNDLE.resolve(e.getKey());
            if (e.getKey().equals("text_encoder.onnx") && !Files.exists(file)) {
                continue;
            }
            try (GraphSession s = backend.open(file, SessionOptions.defaults())) {
                assertThat(s.inputs()).extracting(TensorSpec::name).as(e.getKey()).containsExactlyElementsOf(e.getValue());
                assertThat(s.outputs()).extracting(TensorSpec::name).as(e.getKey()).containsExactlyElementsOf(outputs.get(e.getKey()));
                for (TensorSpec spec : s.inputs()) {
                    assertThat(spec.dtype()).as(e.getKey() + " " + spec)
                            .isEqualTo(int64Inputs.contains(spec.name()) ? DType.INT64 : DType.FLOAT32);
                }
                LOG.info("{}: {} -> {}", e.getKey(), s.inputs(), s.outputs());
            }
        }
        // VAE decoder: latent, first, then the causal caches cache_in_0..n-1 mirrored by cache_out_i.
        try (GraphSession s = backend.open(BUNDLE.resolve("vae_decoder.onnx"), SessionOptions.defaults())) {
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
    }

    @Test
    void ditRunsOneFullWindow() {
        assumeBundle();
        int b = 3;
        int k = 21;
        int h = 32;
        int w = 32;
        int lt = 512; // text tokens (maxTokens of the tiny bundle)
        int audioLen = 167; // wav2vec2 tokens of one window's audio slice
        int slots = 17; // audio tokens per latent frame (the reference's window for 167 tokens)
        Map<String, long[]> wanted = Map.of(
                "x", new long[] {b, -1, k, h, w},
                "t", new long[] {b},
                "context", new long[] {b, lt, -1},
                "clip", new long[] {b, -1, -1},
                "y", new long[] {b, -1, k, h, w},
                "audio_tokens", new long[] {1, audioLen, -1},
                "audio_index", new long[] {-1, slots},
                "audio_gate", new long[] {b});
        Random rnd = new Random(42);
        try (GraphSession dit = backend.open(BUNDLE.resolve("dit.onnx"), SessionOptions.defaults())) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            try {
                for (TensorSpec spec : dit.inputs()) {
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
                        LOG.info("dit.onnx B={} k={} h=w={} ({}x{} output): run {} ms (first call), runInto {} ms",
                                b, k, h, 8 * h, 8 * w, first / 1_000_000, second / 1_000_000);
                    }
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
