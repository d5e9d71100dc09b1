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
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.FamilyEngines;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.family.NoiseSource;
import dev.avatar4j.io.AudioSource;
import dev.avatar4j.io.Speaker;
import dev.avatar4j.io.SpeakerLayout;
import dev.avatar4j.media.AudioStream;
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
        try (FamilyEngine<GenerationRequest> engine = FamilyEngines.create(Bundle.open(BUNDLE), backend, SessionOptions.defaults())
                .runs(GenerationRequest.class).orElseThrow()) {
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

    /** A procedurally generated tone track served as a stream: no array of it exists anywhere. */
    private static final class SyntheticTrack {
        final long length;
        final double hz;
        int opens;
        int largestRead;

        SyntheticTrack(double seconds, double hz) {
            this.length = (long) (seconds * 16000);
            this.hz = hz;
        }

        AudioSource source() {
            return AudioSource.streamed("synthetic " + hz + " Hz", length, 16000, () -> {
                opens++;
                return new AudioStream() {
                    private long at;

                    @Override
                    public int read(float[] dst, int off, int len) {
                        largestRead = Math.max(largestRead, len);
                        if (at >= length) {
                            return -1;
                        }
                        int n = (int) Math.min(Math.min(len, 3000), length - at);
                        for (int i = 0; i < n; i++, at++) {
                            dst[off + i] = (float) (0.3 * Math.sin(2 * Math.PI * hz * at / 16000)
                                    * (0.5 + 0.5 * Math.sin(at / 4000.0)));
                        }
                        return n;
                    }

                    @Override
                    public void close() {
                    }
                };
            }, () -> {
                throw new AssertionError("a streamed track must never be decoded whole");
            }, 1 << 16);
        }
    }

    /**
     * Two speakers' long tracks, streamed, are read by range and never held whole: the engine's
     * loudness pass, its 30 s Whisper chunks (the tracks cross a chunk boundary) and a muxer reading
     * the mix frame by frame each read a bounded window; every track is opened once per reader and
     * never decoded whole. Frames still leave segment by segment, each segment's frames before the
     * next segment's first DiT pass.
     */
    @Test
    void streamedSpeakerTracksAreReadByRangeWhileFramesStreamPerSegment() {
        RgbImage image = MediaRegistry.global().readImage(PORTRAIT);
        SyntheticTrack left = new SyntheticTrack(34.0, 190);
        SyntheticTrack right = new SyntheticTrack(21.0, 310);
        List<Speaker> placed = SpeakerLayout.arrange(List.of(
                new Speaker(left.source(), 0.05, 0.1, 0.4, 0.8), new Speaker(right.source(), 0.55, 0.1, 0.4, 0.8)),
                false);
        AudioSource mix = SpeakerLayout.mix(placed);
        GenerationRequest r = new GenerationRequest(image, null, 64, 64, 8, 2L, null, Double.NaN, Double.NaN,
                NoiseSource.seeded(2L), null, placed, mix);
        List<Long> passesAtFrame = new ArrayList<>();
        long[] passes = {0};
        long[] muxed = {0};
        float[] perFrame = new float[16000 / 25];
        try (AudioStream muxer = mix.stream()) {
            GenerationContext ctx = new GenerationContext() {
                @Override
                public void emitFrame(byte[] rgb) {
                    passesAtFrame.add(passes[0]);
                    int n = muxer.read(perFrame, 0, perFrame.length); // as a video sink interleaves audio
                    muxed[0] += Math.max(n, 0);
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
            try (FamilyEngine<GenerationRequest> engine = FamilyEngines.create(Bundle.open(BUNDLE), backend, SessionOptions.defaults())
                .runs(GenerationRequest.class).orElseThrow()) {
                assertThat(engine.plan(r).frames()).isEqualTo(850);
                engine.generate(r, ctx);
            }
        }
        assertThat(passesAtFrame).hasSize(850);
        for (int f = 0; f < 850; f++) {
            int segment = f < 93 ? 0 : 1 + (f - 93) / 80;
            assertThat(passesAtFrame.get(f)).as("DiT passes done when frame %d left", f).isEqualTo(8L * (segment + 1));
        }
        assertThat(muxed[0]).isEqualTo(850L * 640);
        // per track: the loudness pass, the Whisper chunks, the muxer's fork; no backward re-reads
        assertThat(left.opens).isEqualTo(3);
        assertThat(right.opens).isEqualTo(3);
        // the largest piece ever asked of a decoder is one 30 s Whisper chunk, less than the track
        assertThat(left.largestRead).isLessThanOrEqualTo(480_000).isLessThan((int) left.length);
        assertThat(right.largestRead).isLessThanOrEqualTo(480_000);
        for (Speaker sp : placed) {
            assertThat(sp.audio().inMemory()).isFalse();
        }
        assertThat(mix.inMemory()).isFalse();
        r.closeAudio();
    }

    /**
     * Speakers given without a region get the reference's defaults: two persons drive the left and
     * right halves inset by a 10 % margin, which is not the same as the plain halves.
     */
    @Test
    void twoSpeakersWithoutRegionsGetTheReferenceDefaultBoxes() {
        try (AvatarModel model = AvatarModel.load(BUNDLE)) {
            float[] a = tone(1.0, 200);
            float[] b = tone(1.0, 330);
            List<byte[]> defaults = frames(Avatar.from(PORTRAIT).speaker(a, 16000).speaker(b, 16000), model);
            List<byte[]> explicit = frames(Avatar.from(PORTRAIT).speaker(Region.leftPerson(), a, 16000)
                    .speaker(Region.rightPerson(), b, 16000), model);
            List<byte[]> halves = frames(Avatar.from(PORTRAIT).speaker(Region.leftHalf(), a, 16000)
                    .speaker(Region.rightHalf(), b, 16000), model);
            assertThat(defaults).hasSameSizeAs(explicit);
            for (int f = 0; f < defaults.size(); f++) {
                assertThat(defaults.get(f)).as("frame %d", f).isEqualTo(explicit.get(f));
            }
            boolean differs = false;
            for (int f = 0; f < defaults.size() && !differs; f++) {
                differs = !java.util.Arrays.equals(defaults.get(f), halves.get(f));
            }
            assertThat(differs).as("the margin changes the person masks").isTrue();
            // one person without a region drives the whole frame
            List<byte[]> single = frames(Avatar.from(PORTRAIT).speaker(a, 16000), model);
            List<byte[]> whole = frames(Avatar.from(PORTRAIT).speaker(Region.whole(), a, 16000), model);
            for (int f = 0; f < single.size(); f++) {
                assertThat(single.get(f)).isEqualTo(whole.get(f));
            }
            assertThatThrownBy(() -> frames(Avatar.from(PORTRAIT).speaker(a, 16000).speaker(b, 16000)
                    .speaker(a, 16000), model)).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("every region must be given");
        }
    }

    private static List<byte[]> frames(Avatar request, AvatarModel model) {
        List<byte[]> out = new ArrayList<>();
        FrameSink sink = new FrameSink() {
            @Override
            public void accept(dev.avatar4j.Frame frame) {
                out.add(frame.image().toRgbArray());
            }

            @Override
            public void complete() {
            }

            @Override
            public void abort() {
            }
        };
        request.model(model).seed(9).size(64, 64).render(sink);
        return out;
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
        try (FamilyEngine<GenerationRequest> engine = FamilyEngines.create(Bundle.open(BUNDLE), backend, SessionOptions.defaults())
                .runs(GenerationRequest.class).orElseThrow()) {
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
