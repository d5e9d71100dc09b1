package dev.avatar4j.family.preview;

import dev.avatar4j.face.EyeRefinement;
import dev.avatar4j.face.FaceDetection;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.NoFaceException;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.spi.Backend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The committed {@code models/preview} bundle on ONNX Runtime, on real photos (provenance in
 * {@code examples/media/PROVENANCE.md} and {@code src/test/resources/preview/PROVENANCE.md}) and
 * real speech ({@code examples/media/hello.wav}).
 */
class PreviewModelTest {
    private static Backend backend;
    private static PreviewEngine engine;

    @BeforeAll
    static void open() {
        backend = PreviewFixtures.backend();
        engine = PreviewFixtures.engine(backend);
    }

    @AfterAll
    static void close() {
        engine.close();
        backend.close();
    }

    private static void assertPlausibleFace(FaceDetection f) {
        assertPlausibleFace(f, 0.5);
    }

    /** Keypoints inside the box, in the order of a face; the mouth within {@code across} eye distances of the eyes' middle. */
    private static void assertPlausibleFace(FaceDetection f, double across) {
        double[] k = f.keypoints();
        for (int i = 0; i < 4; i++) { // eyes, nose, mouth inside the box
            assertThat(k[2 * i]).as("keypoint %d x", i).isBetween(f.left(), f.right());
            assertThat(k[2 * i + 1]).as("keypoint %d y", i).isBetween(f.top(), f.bottom());
        }
        double eyesY = (f.y(FaceDetection.RIGHT_EYE) + f.y(FaceDetection.LEFT_EYE)) / 2;
        assertThat(eyesY).as("eyes above nose").isLessThan(f.y(FaceDetection.NOSE));
        assertThat(f.y(FaceDetection.NOSE)).as("nose above mouth").isLessThan(f.y(FaceDetection.MOUTH));
        assertThat(f.x(FaceDetection.RIGHT_EYE)).as("subject's right eye on the image's left")
                .isLessThan(f.x(FaceDetection.LEFT_EYE));
        double betweenEyes = (f.x(FaceDetection.RIGHT_EYE) + f.x(FaceDetection.LEFT_EYE)) / 2;
        double d = f.x(FaceDetection.LEFT_EYE) - f.x(FaceDetection.RIGHT_EYE);
        assertThat(Math.abs(f.x(FaceDetection.MOUTH) - betweenEyes)).as("mouth under the eyes").isLessThan(across * d);
    }

    private static void assertNear(double x, double y, double ax, double ay, double tol, String what) {
        assertThat(Math.hypot(x - ax, y - ay)).as("%s at (%.1f, %.1f), annotated (%.0f, %.0f)", what, x, y, ax, ay)
                .isLessThan(tol);
    }

    @Test
    void keypointsLandOnThePortraitsFace() {
        RgbImage img = PreviewFixtures.portrait();
        FaceDetection f = engine.detect(img);
        assertThat(f.score()).isGreaterThan(0.8);
        assertPlausibleFace(f);
        // hand-annotated on the 512×512 portrait: eye centres, mouth centre (lip seam)
        assertNear(f.x(0), f.y(0), 204, 102, 8, "right eye");
        assertNear(f.x(1), f.y(1), 247, 104, 8, "left eye");
        assertNear(f.x(3), f.y(3), 221, 151, 12, "mouth");
        FaceDetection r = EyeRefinement.refine(f, img.toRgbArray(), img.width(), img.height());
        assertNear(r.x(0), r.y(0), 204, 102, 4, "refined right eye");
        assertNear(r.x(1), r.y(1), 247, 104, 4, "refined left eye");
    }

    @Test
    void aTallImageIsCroppedAroundTheFaceNotThroughIt() {
        // the portrait on top of a grey area twice its height: a centre crop would cut the face off
        RgbImage p = PreviewFixtures.portrait();
        byte[] tall = new byte[512 * 1024 * 3];
        java.util.Arrays.fill(tall, (byte) 128);
        System.arraycopy(p.toRgbArray(), 0, tall, 0, 512 * 512 * 3);
        PreviewEngine.Framed framed = engine.frame(RgbImage.ofOwned(512, 1024, tall), 256, 256);
        assertThat(framed.image().width()).isEqualTo(256);
        assertThat(framed.image().height()).isEqualTo(256);
        // the face mapped into the frame, and found there again at the same place
        FaceDetection mapped = framed.face();
        FaceDetection again = engine.detect(framed.image());
        assertPlausibleFace(again);
        assertThat(again.top()).isGreaterThan(0);
        assertThat(again.bottom()).isLessThan(256);
        assertThat(Math.hypot(mapped.cx() - again.cx(), mapped.cy() - again.cy())).isLessThan(6);
    }

    @Test
    void aSmallTurnedFaceInAWideShotIsFound() {
        FaceDetection f = engine.detect(PreviewEngine.coverResize(PreviewFixtures.photo("camera.png"), 512, 512));
        assertPlausibleFace(f);
        // the cameraman's head spans about x 160…270, y 65…215 (hand-annotated)
        assertThat(f.cx()).isBetween(160.0, 270.0);
        assertThat(f.cy()).isBetween(65.0, 215.0);
    }

    @Test
    void anAnimalFaceIsHandledWhereBlazeFaceFindsIt() {
        // BlazeFace finds Chelsea the cat on the whole photo (score about 0.6): the video is cropped around her face
        RgbImage cat = PreviewFixtures.photo("chelsea.png");
        FaceDetection f = engine.detect(cat);
        assertPlausibleFace(f, 1.0); // small in the letterboxed photo: coarse keypoints
        PreviewEngine.Framed framed = engine.frame(cat, 256, 256);
        assertThat(framed.face().cx()).isBetween(64.0, 192.0);
        assertPlausibleFace(framed.face(), 1.0);
        PreviewFixtures.Collector c = new PreviewFixtures.Collector();
        AudioClip second = new AudioClip(java.util.Arrays.copyOf(PreviewFixtures.speech().samples(), 16_000), 16_000);
        engine.generate(PreviewFixtures.request(cat, second, 256, 1), c);
        assertThat(c.frames).hasSize(25);
        assertThat(c.frames.get(20)).isNotEqualTo(framed.image().toRgbArray());
    }

    @Test
    void anImageWithoutAFaceIsATypedErrorSayingWhatWasTried() {
        RgbImage coffee = PreviewEngine.coverResize(PreviewFixtures.photo("coffee.png"), 512, 512);
        assertThatThrownBy(() -> engine.detect(coffee))
                .isInstanceOf(NoFaceException.class)
                .isInstanceOf(dev.avatar4j.InvalidInputException.class)
                .hasMessageContaining("BlazeFace")
                .hasMessageContaining("512x512")
                .hasMessageContaining("whole image")
                .hasMessageContaining("tiles of")
                .hasMessageContaining("no rotations")
                .hasMessageContaining("best face score")
                .satisfies(e -> assertThat(((NoFaceException) e).bestScore()).isBetween(0.0, 0.95));
    }

    @Test
    void voiceActivityTellsSpeechFromPauses() {
        AudioClip a = PreviewFixtures.speechWithPauses(1.0, 1.3, 1.2, 1.0);
        float[] p = VoiceActivity.atFrames(new VoiceActivity(sessionOf()).chunkProbabilities(a.samples()),
                (int) (a.length() / 640), 25);
        assertThat(max(p, 0, 20)).as("leading quiet").isLessThan(0.3f);
        assertThat(max(p, 25 + 33 + 5, 25 + 33 + 25)).as("mid pause").isLessThan(0.3f);
        assertThat(max(p, 30, 55)).as("speech").isGreaterThan(0.8f);
    }

    private static dev.avatar4j.spi.GraphSession sessionOf() {
        return dev.avatar4j.backend.Sessions.open(dev.avatar4j.bundle.Bundle.open(PreviewFixtures.BUNDLE),
                VoiceActivity.GRAPH, backend, dev.avatar4j.spi.SessionOptions.defaults(), VoiceActivity.contract());
    }

    private static float max(float[] v, int from, int to) {
        float m = 0;
        for (int i = from; i < to; i++) {
            m = Math.max(m, v[i]);
        }
        return m;
    }

    @Test
    void mouthOpeningFollowsTheSpeechEnvelopeAndClosesInPauses() {
        double lead = 1.0;
        double split = 1.3;
        double gap = 1.2;
        double tail = 1.0;
        AudioClip a = PreviewFixtures.speechWithPauses(lead, split, gap, tail);
        int frames = engine.framesFor(a.length());
        MouthShape[] m = engine.mouthTrack(a.samples(), frames);
        // RMS envelope per frame (40 ms) of the same audio
        double[] rms = new double[frames];
        double[] open = new double[frames];
        float[] s = a.samples();
        for (int f = 0; f < frames; f++) {
            double sum = 0;
            int n = 0;
            for (int i = f * 640; i < Math.min(s.length, (f + 1) * 640); i++) {
                sum += s[i] * s[i];
                n++;
            }
            rms[f] = Math.sqrt(sum / Math.max(1, n));
            open[f] = m[f].open();
        }
        double r = pearson(rms, open);
        org.slf4j.LoggerFactory.getLogger(PreviewModelTest.class).info("mouth opening vs RMS envelope: Pearson r = {}", r);
        assertThat(r).isGreaterThan(0.6);
        int speechFrames = 0;
        for (double o : open) {
            speechFrames += o > 0.3 ? 1 : 0;
        }
        assertThat(speechFrames).as("the mouth opens in speech").isGreaterThan(frames / 4);
        // pauses (after a 0.2 s release margin): shut
        assertClosed(open, 0, (int) (lead * 25) - 1, "leading pause");
        int gapStart = (int) ((lead + split) * 25) + 5;
        assertClosed(open, gapStart, (int) ((lead + split + gap) * 25) - 1, "mid pause");
        int tailStart = (int) Math.ceil((s.length / 16_000.0 - tail) * 25) + 5;
        assertClosed(open, tailStart, frames, "trailing pause");
    }

    @Test
    void pureSilenceAndRoomToneKeepTheMouthClosedThroughout() {
        // issue #8: pure silence is valid input and gives a calm, closed-mouth avatar; the level is
        // judged relative to the clip's own speech, so a clip with no speech must not be rescaled up
        float[] zeros = new float[16_000 * 3];
        float[] tone = PreviewFixtures.speechWithPauses(3.0, 0, 0, 0).samples();
        java.util.Arrays.fill(tone, 3 * 16_000, tone.length, 0f); // keep only the 3 s of room tone
        for (float[] clip : new float[][] {zeros, java.util.Arrays.copyOf(tone, 3 * 16_000)}) {
            int frames = engine.framesFor(clip.length);
            MouthShape[] m = engine.mouthTrack(clip, frames);
            double[] open = new double[frames];
            for (int f = 0; f < frames; f++) {
                assertThat(Double.isFinite(m[f].open()) && Double.isFinite(m[f].width())
                        && Double.isFinite(m[f].round())).as("frame %d is finite", f).isTrue();
                open[f] = m[f].open();
            }
            assertClosed(open, 0, frames, clip == zeros ? "digital silence" : "room tone");
        }
        // and the whole engine renders it: every frame differs from the portrait only by blinks and
        // head motion, never by an open mouth (checked above), and without error
        PreviewFixtures.Collector c = new PreviewFixtures.Collector();
        engine.generate(PreviewFixtures.request(PreviewFixtures.portrait(), new AudioClip(zeros, 16_000), 512, 3), c);
        assertThat(c.frames).hasSize(engine.framesFor(zeros.length));
    }

    private static void assertClosed(double[] open, int from, int to, String what) {
        for (int f = from; f < to; f++) {
            assertThat(open[f]).as("%s, frame %d", what, f).isLessThan(0.02);
        }
    }

    static double pearson(double[] a, double[] b) {
        double ma = 0;
        double mb = 0;
        for (int i = 0; i < a.length; i++) {
            ma += a[i];
            mb += b[i];
        }
        ma /= a.length;
        mb /= b.length;
        double sab = 0;
        double saa = 0;
        double sbb = 0;
        for (int i = 0; i < a.length; i++) {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) * (a[i] - ma);
            sbb += (b[i] - mb) * (b[i] - mb);
        }
        return sab / Math.sqrt(saa * sbb);
    }

    @Test
    void framesChangeOnlyInsideTheFaceRegionAndAreDeterministicForASeed() {
        RgbImage img = PreviewFixtures.portrait();
        AudioClip a = PreviewFixtures.speechWithPauses(0.2, 1.0, 0.3, 0.2);
        AudioClip shortClip = new AudioClip(java.util.Arrays.copyOf(a.samples(), 16_000 * 2), 16_000);
        PreviewFixtures.Collector c = new PreviewFixtures.Collector();
        engine.generate(PreviewFixtures.request(img, shortClip, 512, 9), c);
        assertThat(c.frames).hasSize(50);
        byte[] src = img.toRgbArray();
        FaceRig rig = new FaceRig(EyeRefinement.refine(engine.detect(img), src, 512, 512));
        int[] b = rig.regionBounds(512, 512);
        long changed = 0;
        for (byte[] frame : c.frames) {
            for (int y = 0; y < 512; y++) {
                for (int x = 0; x < 512; x++) {
                    int o = (y * 512 + x) * 3;
                    boolean same = frame[o] == src[o] && frame[o + 1] == src[o + 1] && frame[o + 2] == src[o + 2];
                    boolean outside = x < b[0] || x >= b[2] || y < b[1] || y >= b[3] || rig.rho(x, y) >= FaceRig.REGION;
                    if (outside) {
                        if (!same) {
                            throw new AssertionError("pixel (" + x + ", " + y + ") outside the face region changed");
                        }
                    } else if (!same) {
                        changed++;
                    }
                }
            }
        }
        assertThat(changed).as("the face moves").isGreaterThan(50L * 500);
        // the region stays on the head: well inside the image and a few face widths across
        assertThat(b[2] - b[0]).isLessThan(4 * (int) rig.d * 2);
        PreviewFixtures.Collector again = new PreviewFixtures.Collector();
        engine.generate(PreviewFixtures.request(img, shortClip, 512, 9), again);
        for (int i = 0; i < c.frames.size(); i++) {
            assertThat(again.frames.get(i)).as("frame %d, same seed", i).isEqualTo(c.frames.get(i));
        }
    }
}
