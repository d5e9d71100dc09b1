package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.AudioMode;
import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.Progress;
import dev.avatar4j.Region;
import dev.avatar4j.RenderResult;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.engine.FamilyEngine;
import dev.avatar4j.engine.FamilyEngines;
import dev.avatar4j.engine.GenerationContext;
import dev.avatar4j.engine.GenerationRequest;
import dev.avatar4j.engine.MediaRegistry;
import dev.avatar4j.engine.NoiseSource;
import dev.avatar4j.engine.Speaker;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.SessionOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The {@code longcat-avatar} engine on ONNX Runtime with the tiny bundle: segment-by-segment
 * streaming and the multi-person public API.
 */
class LongCatEngineTest {
    private static final Path BUNDLE = Path.of("..", "models", "longcat-avatar-tiny");
    private static final Path STABLE = Path.of("..", "models", "stableavatar-tiny");
    private static final Path PORTRAIT = Path.of("..", "examples", "media", "portrait.png");
    private static Backend backend;

    @BeforeAll
    static void setUp() {
        Assumptions.assumeTrue(Files.exists(BUNDLE.resolve("dit.onnx")), "tiny longcat bundle absent");
        backend = new OnnxBackendProvider().create();
    }

    @AfterAll
    static void tearDown() {
        if (backend != null) {
            backend.close();
        }
    }

    private static float[] tone(double seconds, double hz) {
        float[] x = new float[(int) (seconds * 16000)];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (0.3 * Math.sin(2 * Math.PI * hz * i / 16000) * (0.5 + 0.5 * Math.sin(i / 4000.0)));
        }
        return x;
    }

    /**
     * Frames leave the engine segment by segment: the 93 frames of segment 0 are all delivered after
     * exactly 8 DiT passes (segment 0's), the next 80 after 16, and so on: nothing waits for the end
     * of the audio, and the engine holds one segment at a time.
     */
    @Test
    void streamsEachSegmentAsSoonAsItIsDecoded() {
        RgbImage image = MediaRegistry.global().readImage(PORTRAIT);
        float[] audio = tone(12.0, 180); // 300 frames: 4 segments (93 + 80 + 80 + 47)
        GenerationRequest r = new GenerationRequest(image, new AudioClip(audio, 16000), 64, 64, 8, 1L, null,
                Double.NaN, Double.NaN, NoiseSource.seeded(1L), null);
        List<Long> passesAtFrame = new ArrayList<>();
        long[] passes = {0};
        GenerationContext ctx = new GenerationContext() {
            @Override
            public void emitFrame(byte[] rgb) {
                assertThat(rgb).hasSize(64 * 64 * 3);
                passesAtFrame.add(passes[0]);
            }

            @Override
            public void advance(Progress.Stage stage, long units) {
                if (stage == Progress.Stage.DENOISING) {
                    passes[0] += units;
                }
            }

            @Override
            public void checkpoint() {
            }
        };
        try (FamilyEngine engine = FamilyEngines.create(Bundle.open(BUNDLE), backend, SessionOptions.defaults())) {
            assertThat(engine.family()).isEqualTo("longcat-avatar");
            assertThat(engine.plan(r).frames()).isEqualTo(300);
            engine.generate(r, ctx);
        }
        assertThat(passesAtFrame).hasSize(300);
        for (int f = 0; f < 300; f++) {
            int segment = f < 93 ? 0 : 1 + (f - 93) / 80;
            assertThat(passesAtFrame.get(f)).as("DiT passes done when frame %d left", f).isEqualTo(8L * (segment + 1));
        }
    }

    @Test
    void twoSpeakersThroughThePublicApi() {
        try (AvatarModel model = AvatarModel.load(BUNDLE)) {
            assertThat(model.family()).isEqualTo("longcat-avatar");
            AtomicInteger frames = new AtomicInteger();
            FrameSink sink = new FrameSink() {
                @Override
                public void accept(dev.avatar4j.Frame frame) {
                    frames.incrementAndGet();
                }

                @Override
                public void complete() {
                }

                @Override
                public void abort() {
                }
            };
            RenderResult parallel = Avatar.from(PORTRAIT)
                    .speaker(Region.leftHalf(), tone(4.0, 200), 16000)
                    .speaker(Region.rightHalf(), tone(3.0, 300), 16000)
                    .model(model).seed(3).render(sink);
            assertThat(parallel.frames()).isEqualTo(100); // the longest track: 4 s
            frames.set(0);
            RenderResult sequential = Avatar.from(PORTRAIT)
                    .speaker(Region.leftHalf(), tone(2.0, 200), 16000)
                    .speaker(Region.rightHalf(), tone(2.4, 300), 16000)
                    .silent(new Region(0.4, 0, 0.2, 0.5))
                    .audioMode(AudioMode.SEQUENTIAL)
                    .model(model).seed(3).render(sink);
            assertThat(sequential.frames()).isEqualTo(110); // 2.0 s + 2.4 s one after the other
            assertThat(frames.get()).isEqualTo(110);
        }
    }

    @Test
    void speakersMoveTheirOwnRegion() {
        // the same portrait and noise; only the right speaker's audio changes: the right half of the
        // video changes much more than the left half
        RgbImage image = MediaRegistry.global().readImage(PORTRAIT);
        float[] left = tone(2.0, 200);
        List<byte[]> a = run(image, List.of(new Speaker(new AudioClip(left, 16000), 0, 0, 0.5, 1),
                new Speaker(new AudioClip(tone(2.0, 300), 16000), 0.5, 0, 0.5, 1)));
        List<byte[]> b = run(image, List.of(new Speaker(new AudioClip(left, 16000), 0, 0, 0.5, 1),
                new Speaker(new AudioClip(tone(2.0, 520), 16000), 0.5, 0, 0.5, 1)));
        long leftDiff = 0;
        long rightDiff = 0;
        for (int f = 0; f < a.size(); f++) {
            for (int y = 0; y < 64; y++) {
                for (int x = 0; x < 64; x++) {
                    for (int c = 0; c < 3; c++) {
                        int i = (y * 64 + x) * 3 + c;
                        int d = Math.abs((a.get(f)[i] & 0xff) - (b.get(f)[i] & 0xff));
                        if (x < 24) {
                            leftDiff += d;
                        } else if (x >= 40) {
                            rightDiff += d;
                        }
                    }
                }
            }
        }
        assertThat(rightDiff).isGreaterThan(0);
        assertThat(rightDiff).isGreaterThan(3 * leftDiff);
    }

    private static List<byte[]> run(RgbImage image, List<Speaker> speakers) {
        GenerationRequest r = new GenerationRequest(image, speakers.get(0).audio().clip(), 64, 64, 8, 5L, null, Double.NaN,
                Double.NaN, NoiseSource.seeded(5L), null, speakers);
        List<byte[]> frames = new ArrayList<>();
        GenerationContext ctx = new GenerationContext() {
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
        };
        try (FamilyEngine engine = FamilyEngines.create(Bundle.open(BUNDLE), backend, SessionOptions.defaults())) {
            engine.generate(r, ctx);
        }
        return frames;
    }

    @Test
    void singleSpeakerFamiliesRejectSeveralSpeakers() {
        Assumptions.assumeTrue(Files.exists(STABLE.resolve("dit.onnx")));
        try (AvatarModel model = AvatarModel.load(STABLE)) {
            Avatar a = Avatar.from(PORTRAIT).speaker(Region.leftHalf(), tone(1.0, 200), 16000)
                    .speaker(Region.rightHalf(), tone(1.0, 300), 16000).model(model);
            FrameSink sink = new FrameSink() {
                @Override
                public void accept(dev.avatar4j.Frame frame) {
                }

                @Override
                public void complete() {
                }

                @Override
                public void abort() {
                }
            };
            assertThatThrownBy(() -> a.render(sink)).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("one speaker");
        }
    }
}
