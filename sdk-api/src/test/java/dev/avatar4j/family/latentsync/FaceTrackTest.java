package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.NoFace;
import dev.avatar4j.media.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Policy handling with a scripted locator (the real detector is BlazeFace, plugged in separately). */
class FaceTrackTest {

    private static final AlignmentPoints A = AlignmentPoints.fromEyes(40, 50, 80, 50);
    private static final AlignmentPoints B = AlignmentPoints.fromEyes(44, 52, 84, 53);

    /** Frame i is a 1-pixel-wide marker image; the locator finds faces[i]. */
    private static List<RgbImage> frames(int n) {
        List<RgbImage> f = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            f.add(RgbImage.of(128, 96, new byte[128 * 96 * 3]));
        }
        return f;
    }

    private static FaceLocator scripted(List<RgbImage> frames, AlignmentPoints... faces) {
        return frame -> Optional.ofNullable(faces[frames.indexOf(frame) >= 0 ? indexOf(frames, frame) : -1]);
    }

    private static int indexOf(List<RgbImage> frames, RgbImage frame) {
        for (int i = 0; i < frames.size(); i++) {
            if (frames.get(i) == frame) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void failNamesTheFirstFrameWithoutAFace() {
        List<RgbImage> f = frames(5);
        FaceLocator loc = scripted(f, A, B, null, A, null);
        assertThatThrownBy(() -> FaceTrack.align(f, loc, new SimilarityAlignment(256), NoFace.FAIL))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("frame 2 ");
    }

    @Test
    void passthroughLeavesFramesWithoutAFaceEmpty() {
        List<RgbImage> f = frames(4);
        List<Optional<Affine>> r = FaceTrack.align(f, scripted(f, null, A, null, B), new SimilarityAlignment(256),
                NoFace.PASSTHROUGH);
        assertThat(r).extracting(Optional::isPresent).containsExactly(false, true, false, true);
    }

    @Test
    void holdUsesTheNearestEarlierFaceAndTheFirstOneBeforeIt() {
        List<RgbImage> f = frames(5);
        List<Optional<Affine>> r = FaceTrack.align(f, scripted(f, null, A, null, B, null), new SimilarityAlignment(256),
                NoFace.HOLD);
        assertThat(r).allMatch(Optional::isPresent);
        // unsmoothed, the held frames would equal their source; smoothing only moves them by < 1 px
        Affine a = SimilarityAlignment.estimate(A.toArray(), new SimilarityAlignment(256).template()).transform();
        assertThat(r.get(0).get().a()).isCloseTo(a.a(), within(1e-12));
        assertThat(r.get(2).get().a()).isCloseTo(a.a(), within(1e-12));
        assertThat(r.get(4).get().a()).isEqualTo(r.get(3).get().a());
        List<RgbImage> none = frames(3);
        assertThatThrownBy(() -> FaceTrack.align(none, frame -> Optional.empty(), new SimilarityAlignment(256),
                NoFace.HOLD)).isInstanceOf(InvalidInputException.class).hasMessageContaining("any of the 3");
    }

    @Test
    void cutThenPasteOfTheUnchangedCropKeepsTheFrameClose() {
        // a smooth frame: pasting its own aligned crop back changes it by little (two resamplings)
        byte[] px = new byte[128 * 96 * 3];
        for (int y = 0; y < 96; y++) {
            for (int x = 0; x < 128; x++) {
                int o = (y * 128 + x) * 3;
                px[o] = (byte) (x + 60);
                px[o + 1] = (byte) (y * 2);
                px[o + 2] = (byte) 90;
            }
        }
        RgbImage frame = RgbImage.of(128, 96, px);
        SimilarityAlignment al = new SimilarityAlignment(256);
        Affine m = al.next(AlignmentPoints.fromEyes(50, 40, 78, 41));
        AlignedFaceCrop.FloatImage crop = FaceTrack.cut(frame, m, al, 256);
        assertThat(crop.width()).isEqualTo(256);
        RgbImage back = FaceTrack.paste(frame, crop, m, al);
        // inside the crop (two pixels from its edge) the round trip is near-lossless; at the edge
        // the reference's blend multiplies the face by the fractional eroded mask and darkens it
        Affine toSquare = m.then(Affine.resize(al.cropWidth(), al.cropHeight(), 256, 256));
        float[] support = AlignedFaceCrop.warp(AlignedFaceCrop.FloatImage.filled(256, 256, 1f), toSquare.inverse(), 128, 96, 0f)
                .data();
        int maxDiff = 0;
        int at = -1;
        int interior = 0;
        for (int i = 0; i < px.length; i++) {
            int x = i / 3 % 128;
            int y = i / 3 / 128;
            if (!inside(support, x, y)) {
                continue;
            }
            interior++;
            int d = Math.abs((back.toRgbArray()[i] & 0xFF) - (px[i] & 0xFF));
            if (d > maxDiff) {
                maxDiff = d;
                at = i;
            }
        }
        assertThat(interior).isGreaterThan(3 * 1000);
        assertThat(maxDiff).as("at x=%d y=%d c=%d, %d vs %d", at / 3 % 128, at / 3 / 128, at % 3,
                back.toRgbArray()[at] & 0xFF, px[at] & 0xFF).isLessThanOrEqualTo(2);
        assertThat(back.width()).isEqualTo(128);
        assertThat(back.height()).isEqualTo(96);
    }

    private static boolean inside(float[] support, int x, int y) {
        for (int dy = -2; dy <= 2; dy++) {
            for (int dx = -2; dx <= 2; dx++) {
                int xx = x + dx;
                int yy = y + dy;
                if (xx < 0 || yy < 0 || xx >= 128 || yy >= 96 || support[yy * 128 + xx] < 1f) {
                    return false;
                }
            }
        }
        return true;
    }
}
