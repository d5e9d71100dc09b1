package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.NoFace;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.backend.Sessions;
import dev.avatar4j.face.BlazeFace;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.onnx.OnnxBackendProvider;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * BlazeFace (the committed {@code models/preview} detector on ONNX Runtime) as the dubbing face
 * locator, on real photos: the NASA portrait ({@code examples/media/PROVENANCE.md}) and
 * scikit-image's CC0 coffee photo ({@code src/test/resources/preview/PROVENANCE.md}).
 */
class BlazeFaceLocatorTest {
    /** Hand-annotated on the 512×512 portrait (as in PreviewModelTest): eye centres and lip seam. */
    private static final double[] EYES_AND_MOUTH = {204, 102, 247, 104, 221, 151};

    private static Backend backend;
    private static GraphSession session;
    private static BlazeFaceLocator locator;

    @BeforeAll
    static void open() {
        backend = new OnnxBackendProvider().create();
        session = Sessions.open(Bundle.open(Path.of("..", "models", "preview")), BlazeFace.GRAPH, backend,
                SessionOptions.defaults(), BlazeFace.contract());
        locator = new BlazeFaceLocator(new BlazeFace(session, 0.5));
    }

    @AfterAll
    static void close() {
        session.close();
        backend.close();
    }

    static RgbImage portrait() {
        return MediaRegistry.global().readImage(Path.of("..", "examples", "media", "portrait.png"));
    }

    static RgbImage coffee() {
        try {
            return MediaRegistry.global().readImage(Path.of(BlazeFaceLocatorTest.class.getResource("/preview/coffee.png").toURI()));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theAlignedCropPutsTheAnnotatedEyesAndMouthWhereTheTemplateExpects() {
        RgbImage img = portrait();
        BlazeFace.Face face = locator.largest(img).orElseThrow();
        assertThat(face.imageLeftEyeX()).as("image-left eye is on the left").isLessThan(face.imageRightEyeX());
        SimilarityAlignment alignment = new SimilarityAlignment(256);
        Affine toCrop = alignment.next(locator.locate(img).orElseThrow());
        double[] t = alignment.template(); // brows; the eyes sit 0.25 eye distances below them
        double d = t[2] - t[0];
        double eyeY = t[1] + AlignmentPoints.BROW_ABOVE_EYES * d;
        // the detected eyes land on the template's eyes (smoothing's nose bias moves them < 1 px)
        assertThat(Math.hypot(toCrop.applyX(face.imageLeftEyeX(), face.imageLeftEyeY()) - t[0],
                toCrop.applyY(face.imageLeftEyeX(), face.imageLeftEyeY()) - eyeY)).isLessThan(1.0);
        // the hand-annotated eyes land within 10 % of the eye distance of the template's
        assertThat(Math.hypot(toCrop.applyX(EYES_AND_MOUTH[0], EYES_AND_MOUTH[1]) - t[0],
                toCrop.applyY(EYES_AND_MOUTH[0], EYES_AND_MOUTH[1]) - eyeY)).isLessThan(0.1 * d);
        assertThat(Math.hypot(toCrop.applyX(EYES_AND_MOUTH[2], EYES_AND_MOUTH[3]) - t[2],
                toCrop.applyY(EYES_AND_MOUTH[2], EYES_AND_MOUTH[3]) - eyeY)).isLessThan(0.1 * d);
        // the annotated mouth: horizontally centred, in the lower half where LatentSync's mask regenerates
        double mx = toCrop.applyX(EYES_AND_MOUTH[4], EYES_AND_MOUTH[5]) / alignment.cropWidth();
        double my = toCrop.applyY(EYES_AND_MOUTH[4], EYES_AND_MOUTH[5]) / alignment.cropHeight();
        assertThat(mx).isBetween(0.4, 0.6);
        assertThat(my).isBetween(0.6, 0.9);
        // and so does BlazeFace's own mouth keypoint
        assertThat(toCrop.applyY(face.mouthX(), face.mouthY()) / alignment.cropHeight()).isBetween(0.6, 0.9);
    }

    @Test
    void theCutCropShowsTheFaceNotTheBorder() {
        RgbImage img = portrait();
        SimilarityAlignment alignment = new SimilarityAlignment(256);
        Affine toCrop = alignment.next(locator.locate(img).orElseThrow());
        AlignedFaceCrop.FloatImage crop = FaceTrack.cut(img, toCrop, alignment, 256);
        assertThat(crop.width()).isEqualTo(256);
        int border = 0;
        for (int y = 0; y < 256; y++) {
            for (int x = 0; x < 256; x++) {
                if (crop.get(x, y, 0) == 127f && crop.get(x, y, 1) == 127f && crop.get(x, y, 2) == 127f) {
                    border++;
                }
            }
        }
        assertThat(border).as("pixels filled with the border value").isLessThan(256 * 256 / 100);
    }

    @Test
    void aPhotoWithoutAFaceHasNoFace() {
        assertThat(locator.locate(coffee())).isEmpty();
    }

    @Test
    void theNoFaceNamesTheFirstFrameWithoutAFace() {
        RgbImage p = portrait();
        RgbImage c = coffee();
        List<RgbImage> frames = List.of(p, p, c, p);
        assertThatThrownBy(() -> FaceTrack.align(frames, locator, new SimilarityAlignment(256), NoFace.FAIL))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("video frame 2");
        List<Optional<Affine>> pass = FaceTrack.align(frames, locator, new SimilarityAlignment(256), NoFace.PASSTHROUGH);
        assertThat(pass).extracting(Optional::isPresent).containsExactly(true, true, false, true);
        List<Optional<Affine>> hold = FaceTrack.align(frames, locator, new SimilarityAlignment(256), NoFace.HOLD);
        assertThat(hold).allMatch(Optional::isPresent);
    }

    @Test
    void theLargestOfTwoFacesIsDubbed() {
        // the portrait beside a half-size copy of itself
        RgbImage p = portrait();
        byte[] src = p.toRgbArray();
        int w = 768;
        int h = 512;
        byte[] out = new byte[w * h * 3];
        for (int y = 0; y < 512; y++) {
            System.arraycopy(src, y * 512 * 3, out, y * w * 3, 512 * 3);
        }
        for (int y = 0; y < 256; y++) {
            for (int x = 0; x < 256; x++) {
                for (int c = 0; c < 3; c++) {
                    out[((y + 128) * w + 512 + x) * 3 + c] = src[((2 * y) * 512 + 2 * x) * 3 + c];
                }
            }
        }
        RgbImage both = RgbImage.of(w, h, out);
        BlazeFace.Face f = locator.largest(both).orElseThrow();
        assertThat(f.imageLeftEyeX()).isLessThan(512);
    }
}
