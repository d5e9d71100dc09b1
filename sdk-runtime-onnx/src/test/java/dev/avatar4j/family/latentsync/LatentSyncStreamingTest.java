package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.NoFace;
import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.family.DubRequest;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationPlan;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoStream;
import dev.avatar4j.onnx.OnnxBackendProvider;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.family.NoiseSource;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link LatentSyncEngine#dub} reads its video as a stream: frames are made on demand by a test
 * stream that counts them, so the test sees how many frames the engine holds at once; the output is
 * compared byte for byte with the whole-clip-in-memory algorithm (faces located on the looped list,
 * chunks of 16 through {@code generate}, paste-back) written out here. Frames: the NASA portrait
 * (examples/media/PROVENANCE.md) panned, with scikit-image's coffee photo (no face) cut in
 * (src/test/resources/preview/PROVENANCE.md).
 */
class LatentSyncStreamingTest {
    private static final int W = 320;
    private static final int H = 240;
    private static Backend backend;
    private static LatentSyncEngine engine;
    private static RgbImage portrait;
    private static RgbImage coffee;

    @BeforeAll
    static void open() throws URISyntaxException {
        backend = new OnnxBackendProvider().create();
        engine = LatentSyncEngine.open(Bundle.open(LatentSyncParityTest.TOY), backend, SessionOptions.defaults());
        portrait = MediaRegistry.global().readImage(Path.of("..", "examples", "media", "portrait.png"));
        coffee = MediaRegistry.global().readImage(Path.of(LatentSyncStreamingTest.class.getResource("/preview/coffee.png").toURI()));
    }

    @AfterAll
    static void close() {
        engine.close();
        backend.close();
    }

    /** Source frame j: the portrait panned by 3 px a frame; frames 9..11 are the coffee photo. */
    static RgbImage frame(int j) {
        boolean face = j < 9 || j > 11;
        RgbImage src = face ? portrait : coffee;
        int x0 = face ? 10 + 3 * (j % 40) : 140;
        int y0 = face ? 0 : 80;
        byte[] px = src.toRgbArray();
        byte[] out = new byte[W * H * 3];
        for (int y = 0; y < H; y++) {
            System.arraycopy(px, ((y0 + y) * src.width() + x0) * 3, out, y * W * 3, W * 3);
        }
        return RgbImage.ofOwned(W, H, out);
    }

    /** Speech for {@code frames} output frames: a 220 Hz tone with a slow envelope. */
    static AudioClip speech(int frames) {
        float[] s = new float[frames * 640];
        for (int i = 0; i < s.length; i++) {
            s[i] = (float) (0.3 * Math.sin(2 * Math.PI * 220 * i / 16_000.0) * (0.5 + 0.5 * Math.sin(i / 4000.0)));
        }
        return new AudioClip(s, 16_000);
    }

    /** Makes frames on demand and counts them; every open is one pass. */
    static class CountingVideo {
        final IntFunction<RgbImage> frames;
        final int length;
        int opens;
        long read;

        CountingVideo(IntFunction<RgbImage> frames, int length) {
            this.frames = frames;
            this.length = length;
        }

        VideoStream open() {
            opens++;
            return new VideoStream() {
                int at;

                @Override
                public int width() {
                    return W;
                }

                @Override
                public int height() {
                    return H;
                }

                @Override
                public int fps() {
                    return 25;
                }

                @Override
                public RgbImage next() {
                    if (at >= length) {
                        return null;
                    }
                    read++;
                    return frames.apply(at++);
                }

                @Override
                public void close() {
                }
            };
        }
    }

    /** Output of the streaming engine, and the most frames read but not yet handed out during the second pass. */
    record Run(List<RgbImage> frames, long maxHeld, List<Progress.Stage> stages, long workTotal, long workDone) {
    }

    static Run stream(CountingVideo video, AudioClip speech, NoFace policy) {
        List<RgbImage> out = new ArrayList<>();
        List<Progress.Stage> stages = new ArrayList<>();
        long[] firstPass = {-1};
        long[] maxHeld = {0};
        long[] work = {0, 0};
        engine.generate(new DubRequest((fps, max) -> video.open(), speech, 2, 1.5, policy, 11), new GenerationContext() {
            @Override
            public void replan(GenerationPlan plan) {
                firstPass[0] = video.read;
                work[0] = plan.workUnits();
            }

            @Override
            public void advance(Progress.Stage stage, long units) {
                stages.add(stage);
                work[1] += units;
                maxHeld[0] = Math.max(maxHeld[0], video.read - firstPass[0] - out.size());
            }

            @Override
            public void emitFrame(RgbImage frame) {
                out.add(frame);
                maxHeld[0] = Math.max(maxHeld[0], video.read - firstPass[0] - out.size() + 1);
            }

            @Override
            public void emitFrame(byte[] rgb) {
                throw new AssertionError("a dub's frames bring their size");
            }

            @Override
            public void checkpoint() {
            }
        });
        return new Run(out, maxHeld[0], stages, work[0], work[1]);
    }

    /** A context that collects the frames into {@code out}. */
    static GenerationContext collect(List<RgbImage> out) {
        return new GenerationContext() {
            @Override
            public void emitFrame(RgbImage frame) {
                out.add(frame);
            }

            @Override
            public void emitFrame(byte[] rgb) {
                throw new AssertionError("a dub's frames bring their size");
            }

            @Override
            public void advance(Progress.Stage stage, long units) {
            }

            @Override
            public void checkpoint() {
            }
        };
    }

    /** The whole-clip algorithm: every frame in a list, looped, located, chunked, pasted. */
    static List<RgbImage> inMemory(List<RgbImage> clip, AudioClip speech, NoFace policy) {
        int n = engine.frameCount(speech.samples().length);
        List<RgbImage> video = VideoLoop.pingPong(clip, n);
        LatentSyncEngine.Features feats = engine.features(speech.samples());
        SimilarityAlignment alignment = new SimilarityAlignment(64);
        List<Optional<Affine>> track = FaceTrack.align(video, engine.locator(), alignment, policy);
        float[] noise;
        try (Tensor t = Tensor.allocate(DType.FLOAT32, 4, 8, 8)) {
            NoiseSource.seeded(11).fill(0, t.segment(), 4 * 8 * 8);
            noise = t.toFloatArray();
        }
        DdimSchedule schedule = DdimSchedule.latentSync(2);
        List<RgbImage> out = new ArrayList<>();
        for (int start = 0; start < n; start += engine.chunkFrames()) {
            int end = Math.min(n, start + engine.chunkFrames());
            List<AlignedFaceCrop.FloatImage> faces = new ArrayList<>();
            List<float[]> windows = new ArrayList<>();
            for (int i = start; i < end; i++) {
                if (track.get(i).isPresent()) {
                    faces.add(FaceTrack.cut(video.get(i), track.get(i).get(), alignment, 64));
                    windows.add(AudioWindows.window(feats.data(), feats.rows(), 384, i));
                }
            }
            List<AlignedFaceCrop.FloatImage> gen = faces.isEmpty() ? List.of()
                    : engine.generate(faces, windows, noise, schedule, 1.5, () -> { });
            int g = 0;
            for (int i = start; i < end; i++) {
                out.add(track.get(i).isPresent()
                        ? FaceTrack.paste(video.get(i), gen.get(g++), track.get(i).get(), alignment) : video.get(i));
            }
        }
        return out;
    }

    static Set<Path> spillFiles() throws IOException {
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("avatar4j-dub-")).collect(Collectors.toSet());
        }
    }

    private static void assertSame(List<RgbImage> got, List<RgbImage> expected) {
        assertThat(got).hasSameSizeAs(expected);
        for (int i = 0; i < got.size(); i++) {
            assertThat(got.get(i).toRgbArray()).as("frame %d", i).isEqualTo(expected.get(i).toRgbArray());
        }
    }

    @Test
    void aVideoLongerThanTheSpeechIsReadTwiceHoldingOneChunkAndGivesTheInMemoryResult() {
        int videoFrames = 200;
        CountingVideo video = new CountingVideo(LatentSyncStreamingTest::frame, videoFrames);
        AudioClip speech = speech(40);
        Run run = stream(video, speech, NoFace.PASSTHROUGH);
        assertThat(video.opens).isEqualTo(2);
        assertThat(video.read).as("each pass stops at the speech's 40 frames").isEqualTo(80);
        assertThat(run.maxHeld()).as("frames read ahead of the output").isLessThanOrEqualTo(16);
        List<RgbImage> clip = new ArrayList<>();
        for (int j = 0; j < 40; j++) {
            clip.add(frame(j));
        }
        assertSame(run.frames(), inMemory(clip, speech, NoFace.PASSTHROUGH));
        // progress: 3 chunks with faces, 2 steps x 2 branches each, plus 37 decoded faces
        assertThat(run.workTotal()).isEqualTo(3 * 4 + 37);
        assertThat(run.workDone()).isEqualTo(run.workTotal());
        assertThat(run.stages()).contains(Progress.Stage.DENOISING, Progress.Stage.DECODING);
    }

    @Test
    void aVideoShorterThanTheSpeechIsSpilledToATemporaryFileLoopedAndDeleted() throws IOException {
        Set<Path> before = spillFiles();
        CountingVideo video = new CountingVideo(LatentSyncStreamingTest::frame, 14);
        AudioClip speech = speech(45);
        Run run = stream(video, speech, NoFace.HOLD);
        assertThat(video.opens).isEqualTo(2);
        assertThat(video.read).isEqualTo(28);
        List<RgbImage> clip = new ArrayList<>();
        for (int j = 0; j < 14; j++) {
            clip.add(frame(j));
        }
        assertSame(run.frames(), inMemory(clip, speech, NoFace.HOLD));
        assertThat(spillFiles()).as("the spill file is deleted").isSubsetOf(before);
    }

    @Test
    void failStopsInTheFirstPassNamingTheFrameBeforeAnyOutput() {
        CountingVideo video = new CountingVideo(LatentSyncStreamingTest::frame, 30);
        List<RgbImage> out = new ArrayList<>();
        assertThatThrownBy(() -> engine.generate(new DubRequest((fps, max) -> video.open(), speech(30), 1, 1.0,
                NoFace.FAIL, 1), collect(out)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("video frame 9 ");
        assertThat(out).isEmpty();
        assertThat(video.opens).isEqualTo(1);
        assertThat(video.read).as("stops at the first frame without a face").isEqualTo(10);
    }

    @Test
    void aVideoThatChangesBetweenThePassesIsAnError() {
        int[] limits = {30};
        CountingVideo shrinking = new CountingVideo(LatentSyncStreamingTest::frame, 30) {
            @Override
            VideoStream open() {
                VideoStream s = super.open();
                int limit = limits[0];
                limits[0] = 20;
                return new VideoStream() {
                    int at;

                    @Override
                    public int width() {
                        return s.width();
                    }

                    @Override
                    public int height() {
                        return s.height();
                    }

                    @Override
                    public int fps() {
                        return 25;
                    }

                    @Override
                    public RgbImage next() {
                        return at++ < limit ? s.next() : null;
                    }

                    @Override
                    public void close() {
                    }
                };
            }
        };
        assertThatThrownBy(() -> engine.generate(new DubRequest((fps, max) -> shrinking.open(), speech(25), 1, 1.0,
                NoFace.PASSTHROUGH, 1), collect(new ArrayList<>()))).isInstanceOf(InvalidInputException.class).hasMessageContaining("second read");
    }
}
