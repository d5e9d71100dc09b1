package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.FamilyEngines;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.family.NoiseSource;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.onnx.OnnxBackendProvider;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.testing.CountingBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 22 item 1 for {@code stableavatar}: every model call of the front end (image encoder, the
 * streamed VAE encoder's 21 calls for the 81-frame reference clip, then a window's audio encoder and
 * DiT) is preceded by a cancellation point, so a cancel during one model call runs no further model.
 * Counts model calls after the cancel, not time.
 */
class StableAvatarCancellationTest {
    private static final Path BUNDLE = Path.of("..", "models", "stableavatar-tiny");
    private static final Path PORTRAIT = Path.of("..", "examples", "media", "portrait.png");
    private static final AtomicInteger cancelAfterRun = new AtomicInteger(-1);
    private static final AtomicBoolean cancelled = new AtomicBoolean();
    private static CountingBackend backend;
    private static FamilyEngine<GenerationRequest> engine;

    @BeforeAll
    static void open() {
        Assumptions.assumeTrue(Files.exists(BUNDLE.resolve("dit.onnx")), "tiny stableavatar bundle not generated");
        backend = new CountingBackend(new OnnxBackendProvider().create());
        backend.afterRun = n -> {
            if (n == cancelAfterRun.get()) {
                cancelled.set(true); // as if cancel() came while this model ran
            }
        };
        engine = FamilyEngines.create(Bundle.open(BUNDLE), backend, SessionOptions.defaults())
                .runs(GenerationRequest.class).orElseThrow();
    }

    @AfterAll
    static void close() {
        if (engine != null) {
            engine.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private static void generateTenSeconds() {
        RgbImage image = MediaRegistry.global().readImage(PORTRAIT);
        float[] speech = new float[16000 * 10];
        for (int i = 0; i < speech.length; i++) {
            speech[i] = (float) (0.3 * Math.sin(2 * Math.PI * 220 * i / 16000.0));
        }
        GenerationRequest r = new GenerationRequest(image, new AudioClip(speech, 16000), 64, 64, 2, 1L, null,
                Double.NaN, Double.NaN, NoiseSource.seeded(1L), null);
        engine.generate(r, new GenerationContext() {
            @Override
            public void emitFrame(byte[] rgb) {
            }

            @Override
            public void advance(Progress.Stage stage, long units) {
            }

            @Override
            public void checkpoint() {
                if (cancelled.get()) {
                    throw new GenerationCancelledException("generation cancelled");
                }
            }
        });
    }

    /**
     * Cancels during model call 1 (image encoder), 2 (vae-encoder-first), 3 (the first vae-encoder-step),
     * 22 (the last of its 20 steps), 23 (first audio encoder), 24 (first DiT).
     */
    @ParameterizedTest(name = "cancel during model call {0}")
    @ValueSource(ints = {1, 2, 3, 22, 23, 24})
    void aCancelDuringAModelCallRunsNoFurtherModel(int call) {
        backend.reset();
        cancelled.set(false);
        cancelAfterRun.set(call);
        try {
            assertThatThrownBy(StableAvatarCancellationTest::generateTenSeconds)
                    .isInstanceOf(GenerationCancelledException.class);
            assertThat(backend.runs()).as("model calls: up to the one the cancel came in, none after").isEqualTo(call);
        } finally {
            cancelAfterRun.set(-1);
        }
    }
}
