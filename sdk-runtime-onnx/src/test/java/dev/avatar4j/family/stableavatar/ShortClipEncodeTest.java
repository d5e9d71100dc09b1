package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.FamilyEngines;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.family.NoiseSource;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.onnx.OnnxBackendProvider;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.testing.CountingBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The reference VAE-encodes {@code [portrait, 0 × 80]} into 21 latent frames, but a window of k
 * latents reads only the first k of them, and no window is longer than the clip's T latents. With the
 * streamed encoder pair (causal: latent j depends only on pixel frames ≤ 4j) the engine encodes only
 * the first min(T, 21), which are bit for bit those of the whole encode; {@code StableAvatarParityTest}'s
 * {@code a-short} case (T = 13) checks the result against the reference run's full encode.
 */
class ShortClipEncodeTest {
    private static final Path BUNDLE = Path.of("..", "models", "stableavatar-tiny");
    private static final Path PORTRAIT = Path.of("..", "examples", "media", "portrait.png");

    private static int modelCalls(double seconds) {
        try (CountingBackend backend = new CountingBackend(new OnnxBackendProvider().create());
             FamilyEngine<GenerationRequest> engine = FamilyEngines.create(Bundle.open(BUNDLE), backend,
                     SessionOptions.defaults()).runs(GenerationRequest.class).orElseThrow()) {
            RgbImage image = MediaRegistry.global().readImage(PORTRAIT);
            float[] speech = new float[(int) (16000 * seconds)];
            for (int i = 0; i < speech.length; i++) {
                speech[i] = (float) (0.3 * Math.sin(2 * Math.PI * 220 * i / 16000.0));
            }
            List<byte[]> frames = new ArrayList<>();
            engine.generate(new GenerationRequest(image, new AudioClip(speech, 16000), 64, 64, 1, 1L, null,
                    Double.NaN, Double.NaN, NoiseSource.seeded(1L), null), new GenerationContext() {
                        @Override
                        public void emitFrame(byte[] rgb) {
                            frames.add(rgb);
                        }

                        @Override
                        public void advance(Progress.Stage stage, long units) {
                        }

                        @Override
                        public void checkpoint() {
                        }
                    });
            assertThat(frames).isNotEmpty();
            return backend.runs();
        }
    }

    @Test
    void aClipShorterThanAWindowEncodesOnlyTheLatentFramesItsWindowReads() {
        Assumptions.assumeTrue(Files.exists(BUNDLE.resolve("vae_encoder_step.onnx")), "tiny bundle absent");
        // 0.6 s: 15 video frames, T = 4 latents, one window of 4, one step:
        // CLIP 1 + VAE encoder 4 (first + 3 steps) + audio encoder 1 + DiT 1 + VAE decoder 4 (first + 3 steps)
        assertThat(modelCalls(0.6)).isEqualTo(1 + 4 + 1 + 1 + 4);
        // 3.3 s: T = 21, one full window: every one of the 21 reference latents is read
        assertThat(modelCalls(3.3)).isEqualTo(1 + 21 + 1 + 1 + 21);
    }
}
