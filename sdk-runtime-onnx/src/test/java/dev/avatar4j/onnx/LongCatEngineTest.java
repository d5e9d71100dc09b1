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
        Assumptions.assumeTrue(Files.exists(BUNDLE.resolve("dit_p1.onnx")), "tiny longcat bundle absent");
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

    /** One DiT call as the engine made it: the graph file and copies of the inputs it reads. */
    private record DitCall(String graph, java.util.Map<String, long[]> shapes, float[] t, float[] personMask,
                           float[] audio) {
    }

    /** Records every DiT call of the sessions it opens (ONNX Runtime runs them). */
    private static final class RecordingBackend implements Backend {
        final List<DitCall> calls = new ArrayList<>();
        final List<String> opened = new ArrayList<>();

        @Override
        public String name() {
            return backend.name();
        }

        @Override
        public String description() {
            return backend.description();
        }

        @Override
        public dev.avatar4j.spi.GraphSession open(dev.avatar4j.spi.GraphSource graph, SessionOptions options) {
            String file = graph.path().getFileName().toString();
            opened.add(file);
            return new dev.avatar4j.backend.ForwardingGraphSession(backend.open(graph, options)) {
                @Override
                public void runInto(java.util.Map<String, dev.avatar4j.tensor.Tensor> in,
                                    java.util.Map<String, dev.avatar4j.tensor.Tensor> out) {
                    if (file.startsWith("dit")) {
                        java.util.Map<String, long[]> shapes = new java.util.TreeMap<>();
                        in.forEach((k, v) -> shapes.put(k, v.shape()));
                        calls.add(new DitCall(file, shapes, floats(in.get("t")), floats(in.get("person_mask")),
                                floats(in.get("audio_latter"))));
                    }
                    delegate.runInto(in, out);
                }
            };
        }

        @Override
        public void close() {
        }

        private static float[] floats(dev.avatar4j.tensor.Tensor t) {
            return t == null ? null : t.segment().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
        }
    }

    private static List<DitCall> ditCalls(List<Speaker> speakers, double seconds) {
        RgbImage image = MediaRegistry.global().readImage(PORTRAIT);
        GenerationRequest r = new GenerationRequest(image, speakers.get(0).audio().clip(), 64, 64, 8, 5L, null,
                Double.NaN, Double.NaN, NoiseSource.seeded(5L), null, speakers);
        RecordingBackend rec = new RecordingBackend();
        GenerationContext ctx = new GenerationContext() {
            @Override
            public void emitFrame(byte[] rgb) {
            }

            @Override
            public void advance(Progress.Stage stage, long units) {
            }

            @Override
            public void checkpoint() {
            }
        };
        try (FamilyEngine<GenerationRequest> engine = FamilyEngines.create(Bundle.open(BUNDLE), rec,
                SessionOptions.defaults()).runs(GenerationRequest.class).orElseThrow()) {
            engine.generate(r, ctx);
        }
        return rec.calls;
    }

    private static Speaker person(double seconds, double hz, Region at) {
        return new Speaker(new AudioClip(tone(seconds, hz), 16000), at.x(), at.y(), at.w(), at.h());
    }

    private static Speaker silentPerson(double seconds, Region at) {
        return new Speaker(new AudioClip(new float[(int) (seconds * 16000)], 16000), at.x(), at.y(), at.w(), at.h());
    }

    /**
     * Segment 0 runs the segment-0 graph on {@code [portrait ; 23 noisy]} and later segments the
     * continuation graph on {@code [reference ; 4 context ; 20 noisy]}: the attention layout is the
     * graph's, so no positions or latent mask are fed (the old contract's "all ones" segment 0 was not
     * the reference's); condition latents have t = 0.
     */
    @Test
    void eachSegmentKindRunsItsOwnLayoutGraph() {
        List<DitCall> calls = ditCalls(List.of(person(4.5, 200, Region.whole())), 4.5); // 112 frames: 2 segments
        assertThat(calls).hasSize(16);
        for (int i = 0; i < 16; i++) {
            DitCall c = calls.get(i);
            boolean cont = i >= 8;
            int k = cont ? 25 : 24;
            int nc = cont ? 5 : 1;
            assertThat(c.graph()).isEqualTo(cont ? "dit_p1_continuation.onnx" : "dit_p1.onnx");
            assertThat(c.shapes().keySet()).containsExactly("audio_latter", "context", "t", "x");
            assertThat(c.shapes().get("x")).containsExactly(1, 16, k, 8, 8);
            assertThat(c.shapes().get("audio_latter")).containsExactly(1, 1, 23, 8, 5, 8);
            for (int j = 0; j < k; j++) {
                if (j < nc) {
                    assertThat(c.t()[j]).as("call %d latent %d", i, j).isZero();
                } else {
                    assertThat(c.t()[j]).as("call %d latent %d", i, j).isPositive();
                }
            }
        }
    }

    /**
     * Two persons run the P = 2 graphs with the reference's three masks on the 4×4 token grid:
     * person 1, person 2 and the background (tokens in neither); the tracks in request order.
     */
    @Test
    void twoPersonsRunTheTwoPersonGraphWithBackgroundMask() {
        List<DitCall> calls = ditCalls(List.of(person(2.0, 200, Region.leftPerson()),
                person(2.0, 330, Region.rightPerson())), 2.0);
        assertThat(calls).hasSize(8).allSatisfy(c -> {
            assertThat(c.graph()).isEqualTo("dit_p2.onnx");
            assertThat(c.shapes().get("person_mask")).containsExactly(3, 4, 4);
            assertThat(c.shapes().get("audio_latter")).containsExactly(1, 2, 23, 8, 5, 8);
        });
        // token (i, j) is inside when (j/4, i/4) is: left person x in [0.05, 0.45), y in [0.1, 0.9)
        float[] left = {0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0};
        float[] right = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
        float[] m = calls.get(0).personMask();
        for (int i = 0; i < 16; i++) {
            assertThat(m[i]).as("person 1, token %d", i).isEqualTo(left[i]);
            assertThat(m[16 + i]).as("person 2, token %d", i).isEqualTo(right[i]);
            assertThat(m[32 + i]).as("background, token %d", i).isEqualTo(1f - left[i] - right[i]);
        }
        // the two persons' audio differ and sit in their own slots
        float[] a = calls.get(0).audio();
        int slot = a.length / 2;
        assertThat(java.util.Arrays.equals(a, 0, slot, a, slot, 2 * slot)).isFalse();
    }

    /**
     * Three persons: the speakers take person 1 and 2 whatever their place in the request, the silent
     * person's features of silence fill the third track (the reference's silent track), and the masks
     * are [person 1, person 2, background, silent person]; a third speaker is refused.
     */
    @Test
    void threePersonsRouteTheSpeakersFirstAndTheSilentTrackThird() {
        Region third = new Region(0.25, 0.0, 0.5, 0.25); // tokens (0, 1) and (0, 2)
        List<DitCall> calls = ditCalls(List.of(silentPerson(2.0, third), person(2.0, 200, Region.leftPerson()),
                person(2.0, 330, Region.rightPerson())), 2.0);
        List<DitCall> two = ditCalls(List.of(person(2.0, 200, Region.leftPerson()),
                person(2.0, 330, Region.rightPerson())), 2.0);
        assertThat(calls).hasSize(8).allSatisfy(c -> {
            assertThat(c.graph()).isEqualTo("dit_p3.onnx");
            assertThat(c.shapes().get("person_mask")).containsExactly(4, 4, 4);
            assertThat(c.shapes().get("audio_latter")).containsExactly(1, 3, 23, 8, 5, 8);
        });
        float[] m = calls.get(0).personMask();
        float[] m2 = two.get(0).personMask();
        assertThat(java.util.Arrays.copyOfRange(m, 0, 48)).containsExactly(m2);
        float[] other = new float[16];
        other[1] = 1;
        other[2] = 1;
        assertThat(java.util.Arrays.copyOfRange(m, 48, 64)).containsExactly(other);
        float[] a = calls.get(0).audio();
        float[] a2 = two.get(0).audio();
        int slot = a2.length / 2;
        assertThat(java.util.Arrays.copyOfRange(a, 0, 2 * slot)).containsExactly(a2);
        // the third track is the encoder's features of silence: not zeros
        float[] silence = java.util.Arrays.copyOfRange(a, 2 * slot, 3 * slot);
        assertThat(silence).isNotEqualTo(new float[slot]);

        assertThatThrownBy(() -> ditCalls(List.of(person(2.0, 200, Region.leftPerson()),
                person(2.0, 330, Region.rightPerson()), person(2.0, 440, third)), 2.0))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("at most two speaking persons");
    }

    /**
     * The DiT is one graph per layout and person count: a bundle with the old single {@code dit}
     * graph is refused when it opens, a pair without its partner too, and a bundle without the
     * two-person graphs refuses two persons instead of running the one-person graph for them.
     */
    @Test
    void ditGraphsAreCheckedPerLayoutAndPersonCount(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path old = ParityGoldens.patchedBundle(BUNDLE, Files.createDirectory(tmp.resolve("old")),
                m -> m.replace("\"dit-p3\":", "\"dit\":"));
        assertThatThrownBy(() -> FamilyEngines.create(Bundle.open(old), backend, SessionOptions.defaults()))
                .isInstanceOf(dev.avatar4j.BundleException.class).hasMessageContaining("\"dit\" is the old");
        Path half = ParityGoldens.patchedBundle(BUNDLE, Files.createDirectory(tmp.resolve("half")),
                m -> m.replace("\"dit-p3-continuation\":", "\"unused\":"));
        assertThatThrownBy(() -> FamilyEngines.create(Bundle.open(half), backend, SessionOptions.defaults()))
                .isInstanceOf(dev.avatar4j.BundleException.class).hasMessageContaining("dit-p3-continuation");
        Path single = ParityGoldens.patchedBundle(BUNDLE, Files.createDirectory(tmp.resolve("single")),
                m -> m.replace("\"dit-p2\":", "\"unused-a\":").replace("\"dit-p2-continuation\":", "\"unused-b\":")
                        .replace("\"dit-p3\":", "\"unused-c\":").replace("\"dit-p3-continuation\":", "\"unused-d\":"));
        RgbImage image = MediaRegistry.global().readImage(PORTRAIT);
        List<Speaker> two = List.of(person(2.0, 200, Region.leftPerson()), person(2.0, 330, Region.rightPerson()));
        GenerationRequest r = new GenerationRequest(image, two.get(0).audio().clip(), 64, 64, 8, 5L, null,
                Double.NaN, Double.NaN, NoiseSource.seeded(5L), null, two);
        try (FamilyEngine<GenerationRequest> engine = FamilyEngines.create(Bundle.open(single), backend,
                SessionOptions.defaults()).runs(GenerationRequest.class).orElseThrow()) {
            assertThatThrownBy(() -> engine.generate(r, new GenerationContext() {
                @Override
                public void emitFrame(byte[] rgb) {
                }

                @Override
                public void advance(Progress.Stage stage, long units) {
                }

                @Override
                public void checkpoint() {
                }
            })).isInstanceOf(InvalidInputException.class).hasMessageContaining("at most 1 person");
        }
    }

    /**
     * Each DiT session holds its own weights (31.7 GB in fp16 at full size): the multi-person graphs
     * are opened when a request first needs them, never for one-person generations.
     */
    @Test
    void multiPersonGraphsOpenOnFirstUse() {
        RgbImage image = MediaRegistry.global().readImage(PORTRAIT);
        RecordingBackend rec = new RecordingBackend();
        GenerationContext ctx = new GenerationContext() {
            @Override
            public void emitFrame(byte[] rgb) {
            }

            @Override
            public void advance(Progress.Stage stage, long units) {
            }

            @Override
            public void checkpoint() {
            }
        };
        try (FamilyEngine<GenerationRequest> engine = FamilyEngines.create(Bundle.open(BUNDLE), rec,
                SessionOptions.defaults()).runs(GenerationRequest.class).orElseThrow()) {
            assertThat(rec.opened).contains("dit_p1.onnx", "dit_p1_continuation.onnx")
                    .noneMatch(f -> f.startsWith("dit_p2") || f.startsWith("dit_p3"));
            List<Speaker> one = List.of(person(2.0, 200, Region.whole()));
            engine.generate(new GenerationRequest(image, one.get(0).audio().clip(), 64, 64, 8, 5L, null, Double.NaN,
                    Double.NaN, NoiseSource.seeded(5L), null, one), ctx);
            assertThat(rec.opened).noneMatch(f -> f.startsWith("dit_p2") || f.startsWith("dit_p3"));
            List<Speaker> two = List.of(person(2.0, 200, Region.leftPerson()), person(2.0, 330, Region.rightPerson()));
            engine.generate(new GenerationRequest(image, two.get(0).audio().clip(), 64, 64, 8, 5L, null, Double.NaN,
                    Double.NaN, NoiseSource.seeded(5L), null, two), ctx);
            assertThat(rec.opened).contains("dit_p2.onnx", "dit_p2_continuation.onnx")
                    .noneMatch(f -> f.startsWith("dit_p3"));
            int before = rec.opened.size();
            engine.generate(new GenerationRequest(image, two.get(0).audio().clip(), 64, 64, 8, 5L, null, Double.NaN,
                    Double.NaN, NoiseSource.seeded(5L), null, two), ctx);
            assertThat(rec.opened).hasSize(before); // kept open for the next request
        }
    }

    /** A person region that holds no token of the model's grid is refused (the reference divides by 0). */
    @Test
    void aRegionWithoutTokensIsRefused() {
        assertThatThrownBy(() -> ditCalls(List.of(person(2.0, 200, new Region(0.05, 0.05, 0.1, 0.1)),
                person(2.0, 330, Region.rightPerson())), 2.0))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("holds no token");
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
