package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Dub;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.NoFace;
import dev.avatar4j.RenderResult;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoClip;
import dev.avatar4j.media.VideoSpec;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dubbing end to end with the tiny {@code latentsync} bundle, public API and CLI: a 320×240 clip
 * panned across the NASA portrait (examples/media/PROVENANCE.md) with five frames of scikit-image's
 * coffee photo (no face; sdk-runtime-onnx/src/test/resources/preview/PROVENANCE.md) in the middle is
 * written to H.264 in the test, then dubbed with the first second of hello.wav.
 */
class DubEndToEndTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path BUNDLE = REPO.resolve("models/latentsync-tiny");
    private static final int W = 320;
    private static final int H = 240;
    private static final int FRAMES = 30;
    private static final int FIRST_NO_FACE = 10;
    private static final int NO_FACE_FRAMES = 5;
    /** Portrait pixels around the face: the aligned crop lies inside (eyes at 204/247, 103, mouth at 151). */
    private static final int FACE_X0 = 130;
    private static final int FACE_X1 = 320;
    private static final int FACE_Y0 = 15;
    private static final int FACE_Y1 = 235;

    @TempDir
    static Path tmp;
    private static Path clip;
    private static AudioClip speech;
    private static AvatarModel model;

    static int panX(int f) {
        return 20 + 4 * f;
    }

    @BeforeAll
    static void makeClip() {
        MediaRegistry media = MediaRegistry.global();
        RgbImage portrait = media.readImage(REPO.resolve("examples/media/portrait.png"));
        RgbImage coffee = media.readImage(REPO.resolve("sdk-runtime-onnx/src/test/resources/preview/coffee.png"));
        clip = tmp.resolve("clip.mp4");
        AudioClip silence = new AudioClip(new float[FRAMES * 640], 16_000);
        FrameSink sink = media.openVideoWriter(clip, new VideoSpec(W, H, 25, silence, null));
        for (int f = 0; f < FRAMES; f++) {
            boolean face = f < FIRST_NO_FACE || f >= FIRST_NO_FACE + NO_FACE_FRAMES;
            RgbImage src = face ? portrait : coffee;
            int x0 = face ? panX(f) : 140;
            int y0 = face ? 0 : 80;
            sink.accept(new dev.avatar4j.Frame(f, 25, RgbImage.of(W, H, crop(src, x0, y0))));
        }
        sink.complete();
        float[] hello = media.readAudio(REPO.resolve("examples/media/hello.wav"), 16_000).samples();
        speech = new AudioClip(Arrays.copyOf(hello, 16_000), 16_000);
        model = AvatarModel.load(BUNDLE);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    static byte[] crop(RgbImage img, int x0, int y0) {
        byte[] src = img.toRgbArray();
        byte[] out = new byte[W * H * 3];
        for (int y = 0; y < H; y++) {
            System.arraycopy(src, ((y0 + y) * img.width() + x0) * 3, out, y * W * 3, W * 3);
        }
        return out;
    }

    private static Dub request() {
        return Avatar.dub(clip).speak(speech.samples(), 16_000).model(model).steps(2).seed(3);
    }

    /** Mean absolute difference of two frames over the pixels {@code inside} (or outside) the face box. */
    static double meanDiff(RgbImage a, RgbImage b, int frame, boolean inside) {
        byte[] pa = a.toRgbArray();
        byte[] pb = b.toRgbArray();
        int ox = panX(frame);
        long sum = 0;
        long n = 0;
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                int px = x + ox;
                boolean in = px >= FACE_X0 && px < FACE_X1 && y >= FACE_Y0 && y < FACE_Y1;
                if (in != inside) {
                    continue;
                }
                for (int c = 0; c < 3; c++) {
                    int i = (y * W + x) * 3 + c;
                    sum += Math.abs((pa[i] & 0xFF) - (pb[i] & 0xFF));
                    n++;
                }
            }
        }
        return (double) sum / n;
    }

    @Test
    void passthroughChangesNothingOutsideTheFaceBitForBit() {
        List<dev.avatar4j.Frame> got = new java.util.ArrayList<>();
        FrameSink capture = new FrameSink() {
            @Override
            public void accept(dev.avatar4j.Frame frame) {
                got.add(frame);
            }

            @Override
            public void complete() {
            }

            @Override
            public void abort() {
            }
        };
        RenderResult r = request().noFace(NoFace.PASSTHROUGH).render(capture);
        assertThat(r.frames()).isEqualTo(25);
        assertThat(got).hasSize(25);
        VideoClip in = MediaRegistry.global().readVideo(clip, 25, 25);
        double dubbedInside = 0;
        for (int f = 0; f < 25; f++) {
            RgbImage a = in.frames().get(f);
            RgbImage b = RgbImage.of(W, H, got.get(f).image().toRgbArray());
            assertThat(got.get(f).width()).isEqualTo(W);
            if (f >= FIRST_NO_FACE && f < FIRST_NO_FACE + NO_FACE_FRAMES) {
                assertThat(b.toRgbArray()).as("frame %d without a face is passed through", f).isEqualTo(a.toRgbArray());
            } else {
                assertThat(meanDiff(a, b, f, false)).as("frame %d outside the face", f).isZero();
                dubbedInside = Math.max(dubbedInside, meanDiff(a, b, f, true));
            }
        }
        assertThat(dubbedInside).as("the face region was regenerated").isGreaterThan(1);
    }

    @Test
    void theMp4HasTheVideosSizeTheSpeechsDurationAndTheSamePixelsOutsideTheFace() {
        Path out = tmp.resolve("passthrough.mp4");
        RenderResult r = request().noFace(NoFace.PASSTHROUGH).render(out);
        assertThat(r.frames()).isEqualTo(25);
        assertThat(r.output()).contains(out.toAbsolutePath());
        MediaRegistry media = MediaRegistry.global();
        VideoClip in = media.readVideo(clip, 25, 1000);
        VideoClip dubbed = media.readVideo(out, 25, 1000);
        assertThat(dubbed.width()).isEqualTo(W);
        assertThat(dubbed.height()).isEqualTo(H);
        assertThat(dubbed.frames()).hasSize(25); // 1.0 s of speech at 25 fps
        assertThat(media.readAudio(out, 16_000).samples().length).isBetween(16_000 - 800, 16_000 + 800);
        for (int f = 0; f < 25; f++) {
            RgbImage a = in.frames().get(f);
            RgbImage b = dubbed.frames().get(f);
            boolean noFace = f >= FIRST_NO_FACE && f < FIRST_NO_FACE + NO_FACE_FRAMES;
            // a second H.264 encode: mean differences of a few levels (more just after the scene cut)
            assertThat(meanDiff(a, b, noFace ? 0 : f, false)).as("frame %d outside the face", f).isLessThan(4.0);
        }
    }

    @Test
    void failNamesTheFirstFrameWithoutAFace() {
        Path out = tmp.resolve("fail.mp4");
        assertThatThrownBy(() -> request().noFace(NoFace.FAIL).render(out))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("video frame " + FIRST_NO_FACE);
        assertThat(out).doesNotExist();
    }

    @Test
    void holdDubsEveryFrame() {
        RenderResult r = request().noFace(NoFace.HOLD).render(tmp.resolve("hold.mp4"));
        assertThat(r.frames()).isEqualTo(25);
        assertThat(r.width()).isEqualTo(W);
    }

    @Test
    void theRequestIsImmutable() {
        Dub base = Avatar.dub(clip);
        Dub withSpeech = base.speak(speech.samples(), 16_000);
        assertThat(withSpeech).isNotSameAs(base);
        assertThatThrownBy(() -> base.model(model).render(tmp.resolve("none.mp4")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("no speech");
        assertThatThrownBy(() -> base.steps(0)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> base.guidance(Double.NaN)).isInstanceOf(InvalidInputException.class);
    }

    @Test
    void cliDubsAndMapsFailuresToExitCodes() throws Exception {
        Path wav = REPO.resolve("examples/media/hello.wav");
        Path out = tmp.resolve("cli.mp4");
        Avatar4jCliTest.Result ok = Avatar4jCliTest.cli("dub", "--video", clip.toString(), "--audio", wav.toString(),
                "--out", out.toString(), "--model", BUNDLE.toString(), "--steps", "1", "--no-face", "passthrough",
                "--seed", "1");
        assertThat(ok.code()).as("exit code; err: %s", ok.err()).isZero();
        assertThat(MediaRegistry.global().readVideo(out, 25, 1000).frames().size())
                .as("hello.wav is 5.9 s: the clip is looped forward and backward").isBetween(147, 149);
        Avatar4jCliTest.Result noFace = Avatar4jCliTest.cli("dub", "--video", clip.toString(), "--audio", wav.toString(),
                "--out", tmp.resolve("x.mp4").toString(), "--model", BUNDLE.toString(), "--steps", "1");
        assertThat(noFace.code()).as("err: %s", noFace.err()).isEqualTo(2);
        assertThat(noFace.err()).contains("video frame " + FIRST_NO_FACE);
        Avatar4jCliTest.Result notDub = Avatar4jCliTest.cli("dub", "--video", clip.toString(), "--audio", wav.toString(),
                "--out", tmp.resolve("y.mp4").toString(), "--model", REPO.resolve("models/preview").toString());
        assertThat(notDub.code()).as("err: %s", notDub.err()).isEqualTo(3);
        assertThat(notDub.err()).contains("latentsync");
        Avatar4jCliTest.Result badVideo = Avatar4jCliTest.cli("dub", "--video", tmp.resolve("missing.mp4").toString(),
                "--audio", wav.toString(), "--out", tmp.resolve("z.mp4").toString(), "--model", BUNDLE.toString());
        assertThat(badVideo.code()).as("err: %s", badVideo.err()).isEqualTo(2);
    }

    @Test
    void progressGoesFromPreparingToDoneWithTheWorkDoneAtTheEnd() {
        List<dev.avatar4j.Progress> seen = new java.util.ArrayList<>();
        RenderResult r = request().noFace(NoFace.PASSTHROUGH).onProgress(seen::add).render(tmp.resolve("progress.mp4"));
        assertThat(r.frames()).isEqualTo(25);
        assertThat(seen.getFirst().stage()).isEqualTo(dev.avatar4j.Progress.Stage.PREPARING);
        assertThat(seen.getFirst().framesTotal()).isEqualTo(25);
        dev.avatar4j.Progress last = seen.getLast();
        assertThat(last.stage()).isEqualTo(dev.avatar4j.Progress.Stage.DONE);
        assertThat(last.framesDone()).isEqualTo(25);
        // two chunks with faces (16 + 9 frames, 20 faces): 2 steps x 2 guidance branches each, plus 20 decoded faces
        assertThat(last.workTotal()).isEqualTo(2 * 4 + 20);
        assertThat(last.workDone()).isEqualTo(last.workTotal());
        assertThat(seen.stream().map(dev.avatar4j.Progress::stage).distinct().toList()).containsExactly(
                dev.avatar4j.Progress.Stage.PREPARING, dev.avatar4j.Progress.Stage.DENOISING,
                dev.avatar4j.Progress.Stage.DECODING, dev.avatar4j.Progress.Stage.FINISHING,
                dev.avatar4j.Progress.Stage.DONE);
        for (int i = 1; i < seen.size(); i++) {
            assertThat(seen.get(i).workDone()).isGreaterThanOrEqualTo(seen.get(i - 1).workDone());
            assertThat(seen.get(i).framesDone()).isGreaterThanOrEqualTo(seen.get(i - 1).framesDone());
        }
        // a failing listener fails the dub and leaves no file
        Path failed = tmp.resolve("listener-failed.mp4");
        assertThatThrownBy(() -> request().noFace(NoFace.PASSTHROUGH).onProgress(p -> {
            if (p.framesDone() == 3) {
                throw new IllegalStateException("listener says no");
            }
        }).render(failed)).hasMessageContaining("listener says no");
        assertThat(failed).doesNotExist();
    }

    @Test
    void cliBackendIsResolvedAsForGenerate() {
        Path wav = REPO.resolve("examples/media/hello.wav");
        Avatar4jCliTest.Result unknown = Avatar4jCliTest.cli("dub", "--video", clip.toString(), "--audio", wav.toString(),
                "--out", tmp.resolve("b0.mp4").toString(), "--model", BUNDLE.toString(), "--backend", "nosuch");
        assertThat(unknown.code()).isEqualTo(2);
        assertThat(unknown.err()).contains("unknown backend 'nosuch'").contains("onnx");
        Path out = tmp.resolve("b1.mp4");
        Avatar4jCliTest.Result onnx = Avatar4jCliTest.cli("dub", "--video", clip.toString(), "--audio", wav.toString(),
                "--out", out.toString(), "--model", BUNDLE.toString(), "--backend", "onnx", "--steps", "1",
                "--no-face", "passthrough", "--seed", "1");
        assertThat(onnx.code()).as("err: %s", onnx.err()).isZero();
        assertThat(onnx.out()).contains("wrote " + out).containsIgnoringCase("onnx");
        var trt = dev.avatar4j.backend.BackendRegistry.global().probeAll().get("tensorrt");
        if (trt != null && !trt.available()) {
            Path none = tmp.resolve("b2.mp4");
            Avatar4jCliTest.Result r = Avatar4jCliTest.cli("dub", "--video", clip.toString(), "--audio", wav.toString(),
                    "--out", none.toString(), "--model", BUNDLE.toString(), "--backend", "tensorrt");
            assertThat(r.code()).as("err: %s", r.err()).isEqualTo(4);
            assertThat(r.err()).contains("tensorrt").contains(trt.detail());
            assertThat(none).doesNotExist();
        }
    }

    @Test
    void aPortraitModelRequestOnADubbingModelSaysToUseDub() {
        assertThatThrownBy(() -> Avatar.from(REPO.resolve("examples/media/portrait.png")).speak(speech.samples(), 16_000)
                .model(model).render(tmp.resolve("p.mp4")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("Avatar.dub");
    }

}
