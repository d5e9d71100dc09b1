package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.testing.FakeBackendProvider;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.TestMedia;
import dev.avatar4j.testing.TestMedia.RecordingSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bundle in the layout a real export writes (docs/BUNDLE-FORMAT.md: streamed VAE encoder pair,
 * first-frame + step decoder, a DiT with an {@code onnxruntime} variant, CLIP side from the graph),
 * end to end on the fake backend, against the older layout with equivalent fake graphs.
 */
class CurrentLayoutTest {
    @TempDir
    Path dir;
    static final int RATE = 16000;

    @BeforeEach
    @AfterEach
    void reset() {
        FakeBackendProvider.INSTANCE.runs.clear();
        FakeBackendProvider.INSTANCE.variants = List.of();
        FakeBackendProvider.INSTANCE.lastPixelValues = null;
    }

    private static List<byte[]> render(AvatarModel model) {
        List<byte[]> frames = new ArrayList<>();
        Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(4.0, RATE), RATE).model(model).seed(7)
                .onFrame(f -> {
                    java.nio.ByteBuffer px = f.image().pixels();
                    byte[] copy = new byte[px.remaining()];
                    px.duplicate().get(copy);
                    frames.add(copy);
                }).render(new RecordingSink());
        return frames;
    }

    private static int runs(String graph) {
        AtomicInteger n = FakeBackendProvider.INSTANCE.runs.get(graph);
        return n == null ? 0 : n.get();
    }

    @Test
    void theCurrentLayoutRendersWhatTheOlderLayoutRendersWithEquivalentGraphs() throws Exception {
        List<byte[]> older;
        try (AvatarModel m = AvatarModel.builder(FakeBundles.write(dir.resolve("older"))).backend("fake").load()) {
            older = render(m);
        }
        assertThat(runs("vae_decoder.onnx")).isEqualTo(25);
        FakeBackendProvider.INSTANCE.runs.clear();
        List<byte[]> current;
        try (AvatarModel m = AvatarModel.builder(FakeBundles.writeCurrentLayout(dir.resolve("current"))).backend("fake")
                .load()) {
            current = render(m);
        }
        // 4 s -> T = 25 latents: frame 0 through the first-frame graph, 24 steps; the caches it
        // produced reach the step graph (the fake step adds 1 per call to the cache the first set)
        assertThat(runs("vae_decoder_first.onnx")).isEqualTo(1);
        assertThat(runs("vae_decoder_step.onnx")).isEqualTo(24);
        assertThat(runs("vae_decoder.onnx")).isZero();
        // the reference clip [ref, 0 x 80]: 1 frame, then 20 chunks of 4; the whole-clip graph is absent
        assertThat(runs("vae_encoder_first.onnx")).isEqualTo(1);
        assertThat(runs("vae_encoder_step.onnx")).isEqualTo(20);
        assertThat(runs("vae_encoder.onnx")).isZero();
        // the fake backend prefers no variant: the main DiT file
        assertThat(runs("dit.onnx")).isEqualTo(4);
        assertThat(runs("dit_mha.onnx")).isZero();
        // the CLIP input side comes from the graph's pixel_values [1, 3, 112, 112]
        assertThat(FakeBackendProvider.INSTANCE.lastPixelValues).containsExactly(1, 3, 112, 112);
        assertThat(current).hasSameSizeAs(older);
        for (int i = 0; i < older.size(); i++) {
            assertThat(current.get(i)).as("frame %d", i).isEqualTo(older.get(i));
        }
    }

    @Test
    void aBackendThatPrefersAVariantLoadsIt() throws Exception {
        FakeBackendProvider.INSTANCE.variants = List.of("tensorrt", "onnxruntime");
        try (AvatarModel m = AvatarModel.builder(FakeBundles.writeCurrentLayout(dir.resolve("b"))).backend("fake")
                .load()) {
            render(m);
        }
        assertThat(runs("dit_mha.onnx")).isEqualTo(4);
        assertThat(runs("dit.onnx")).isZero();
    }

    @Test
    void aBackendWhoseVariantsTheBundleLacksLoadsTheMainFile() throws Exception {
        FakeBackendProvider.INSTANCE.variants = List.of("tensorrt");
        try (AvatarModel m = AvatarModel.builder(FakeBundles.writeCurrentLayout(dir.resolve("b"))).backend("fake")
                .load()) {
            render(m);
        }
        assertThat(runs("dit.onnx")).isEqualTo(4);
        assertThat(runs("dit_mha.onnx")).isZero();
    }

    @Test
    void anImageEncoderWithoutAFixedSquareSizeIsRefusedWhenTheModelLoads() throws Exception {
        Path b = FakeBundles.write(dir.resolve("b"));
        try {
            FakeBackendProvider.INSTANCE.inputOverrides.put("image_encoder.onnx",
                    List.of(new dev.avatar4j.spi.TensorSpec("pixel_values", dev.avatar4j.tensor.DType.FLOAT32,
                            new long[] {1, 3, -1, -1})));
            assertThatThrownBy(() -> AvatarModel.builder(b).backend("fake").load()).isInstanceOf(BundleException.class)
                    .hasMessageContaining("fixed square size");
            FakeBackendProvider.INSTANCE.inputOverrides.put("image_encoder.onnx",
                    List.of(new dev.avatar4j.spi.TensorSpec("pixel_values", dev.avatar4j.tensor.DType.FLOAT32,
                            new long[] {1, 3, 224, 112})));
            assertThatThrownBy(() -> AvatarModel.builder(b).backend("fake").load()).isInstanceOf(BundleException.class)
                    .hasMessageContaining("[1,3,224,112]");
        } finally {
            FakeBackendProvider.INSTANCE.inputOverrides.clear();
        }
    }

    private static List<dev.avatar4j.spi.TensorSpec> ditInputs(long[] context, long[] clip) {
        var f = dev.avatar4j.tensor.DType.FLOAT32;
        return List.of(new dev.avatar4j.spi.TensorSpec("x", f, new long[] {-1, 16, -1, -1, -1}),
                new dev.avatar4j.spi.TensorSpec("t", f, new long[] {-1}),
                new dev.avatar4j.spi.TensorSpec("context", f, context),
                new dev.avatar4j.spi.TensorSpec("clip", f, clip),
                new dev.avatar4j.spi.TensorSpec("y", f, new long[] {-1, 20, -1, -1, -1}),
                new dev.avatar4j.spi.TensorSpec("audio_tokens", f, new long[] {1, -1, -1}),
                new dev.avatar4j.spi.TensorSpec("audio_index", dev.avatar4j.tensor.DType.INT64, new long[] {21, -1}),
                new dev.avatar4j.spi.TensorSpec("audio_gate", f, new long[] {-1}));
    }

    @Test
    void graphsThatDoNotFitTogetherAreRefusedWhenTheModelLoads() throws Exception {
        Path b = FakeBundles.write(dir.resolve("b"));
        try {
            // prompt embeddings are 8 wide (FakeBundles), the DiT takes 9
            FakeBackendProvider.INSTANCE.inputOverrides.put("dit.onnx",
                    ditInputs(new long[] {-1, -1, 9}, new long[] {-1, -1, -1}));
            assertThatThrownBy(() -> AvatarModel.builder(b).backend("fake").load()).isInstanceOf(BundleException.class)
                    .hasMessageContaining("do not fit together").hasMessageContaining("8 wide")
                    .hasMessageContaining("takes 9");
            // the image encoder gives 257 tokens, the DiT takes 65 (a CLIP of another input size)
            FakeBackendProvider.INSTANCE.inputOverrides.put("dit.onnx",
                    ditInputs(new long[] {-1, -1, 8}, new long[] {-1, 65, -1}));
            assertThatThrownBy(() -> AvatarModel.builder(b).backend("fake").load()).isInstanceOf(BundleException.class)
                    .hasMessageContaining("257 CLIP tokens").hasMessageContaining("takes 65");
            // fixed sizes that agree load
            FakeBackendProvider.INSTANCE.inputOverrides.put("dit.onnx",
                    ditInputs(new long[] {-1, -1, 8}, new long[] {-1, 257, 4}));
            AvatarModel.builder(b).backend("fake").load().close();
        } finally {
            FakeBackendProvider.INSTANCE.inputOverrides.clear();
        }
    }

    @Test
    void promptsOfDifferentLengthsArePaddedWithZerosToMaxTokens() throws Exception {
        // negative prompt 5 tokens, default prompt 3 (FakeBundles), width 8
        try (AvatarModel m = AvatarModel.builder(FakeBundles.write(dir.resolve("b"))).backend("fake").load()) {
            render(m);
        }
        long[] shape = FakeBackendProvider.INSTANCE.lastContextShape;
        assertThat(shape).containsExactly(3, 512, 8);
        float[] ctx = FakeBackendProvider.INSTANCE.lastContext;
        int[] tokens = {5, 5, 3}; // branches [neg, neg + audio, pos + audio]
        for (int b = 0; b < 3; b++) {
            for (int t = 0; t < 512; t++) {
                boolean anyNonZero = false;
                for (int d = 0; d < 8; d++) {
                    anyNonZero |= ctx[(b * 512 + t) * 8 + d] != 0f;
                }
                if (t >= tokens[b]) {
                    assertThat(anyNonZero).as("branch %d token %d is padding", b, t).isFalse();
                } else if (t == 0) {
                    assertThat(anyNonZero).as("branch %d token 0 holds the prompt", b).isTrue();
                }
            }
        }
    }

    @Test
    void aPrecomputedPromptLongerThanMaxTokensIsRefusedWhenTheModelLoads() throws Exception {
        Path b = FakeBundles.write(dir.resolve("b"), Map.of("\"window\": {\"overlap\": 5, \"weights\": \"log\"},",
                "\"window\": {\"overlap\": 5, \"weights\": \"log\"}, \"text\": {\"tokenizer\": \"utf8-bytes\", \"maxTokens\": 4},"));
        assertThatThrownBy(() -> AvatarModel.builder(b).backend("fake").load()).isInstanceOf(BundleException.class)
                .hasMessageContaining("text_negative.safetensors").hasMessageContaining("5 tokens")
                .hasMessageContaining("1 to 4");
    }

    @Test
    void aCustomPromptOnASentencepieceBundleIsRefusedWithAClearMessage() throws Exception {
        byte[] spiece = "not a sentencepiece model: never parsed".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Path b = FakeBundles.write(dir.resolve("b"), Map.of("\"window\": {\"overlap\": 5, \"weights\": \"log\"},",
                "\"window\": {\"overlap\": 5, \"weights\": \"log\"}, \"text\": {\"tokenizer\": \"sentencepiece\","
                        + " \"model\": {\"file\": \"spiece.model\", \"sha256\": \"" + FakeBundles.sha256(spiece) + "\"},"
                        + " \"maxTokens\": 512, \"eos\": 1, \"pad\": 0},"));
        Files.write(b.resolve("spiece.model"), spiece); // verified with the bundle, never read: the SDK does not tokenise with it
        try (AvatarModel m = AvatarModel.builder(b).backend("fake").load()) {
            assertThat(render(m)).isNotEmpty(); // the built-in prompt works
            assertThatThrownBy(() -> Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(4.0, RATE), RATE)
                    .model(m).prompt("a person talking").render(new RecordingSink()))
                    .isInstanceOf(InvalidInputException.class).hasMessageContaining("sentencepiece")
                    .hasMessageContaining("built-in prompt");
        }
    }
}
