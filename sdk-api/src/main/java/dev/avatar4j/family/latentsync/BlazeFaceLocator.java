package dev.avatar4j.family.latentsync;

import dev.avatar4j.face.BlazeFace;
import dev.avatar4j.media.RgbImage;
import java.util.Optional;

/**
 * The dubbing {@link FaceLocator} on BlazeFace (the preview family's detector, run through the
 * backend SPI). Of the faces found, the one with the largest box at least {@link #MIN_WIDTH} pixels
 * wide is dubbed, as the reference picks the largest InsightFace box with w ≥ 50. Its two eye
 * keypoints become the alignment points through {@link AlignmentPoints#fromEyes}: this is where
 * BlazeFace's six keypoints replace the reference's 68/106 landmarks (the brows and the nose are
 * derived from the eyes; BlazeFace's own nose and mouth keypoints are not used, so the crop's roll,
 * scale and position follow the eyes alone).
 *
 * <p><em>Deviations:</em> the reference's further box checks (h ≥ 80, 0.2 ≤ w/h ≤ 1.5) are written
 * for InsightFace's tall boxes; BlazeFace's boxes are square and tighter, so only the width check is
 * kept.
 */
final class BlazeFaceLocator implements FaceLocator {
    /** Narrowest face box that is dubbed, in frame pixels (the reference's w ≥ 50). */
    static final double MIN_WIDTH = 50;

    private final BlazeFace detector;

    BlazeFaceLocator(BlazeFace detector) {
        this.detector = detector;
    }

    @Override
    public Optional<AlignmentPoints> locate(RgbImage frame) {
        return largest(frame).map(f -> AlignmentPoints.fromEyes(f.imageLeftEyeX(), f.imageLeftEyeY(),
                f.imageRightEyeX(), f.imageRightEyeY()));
    }

    /** The face that is dubbed in {@code frame}, if any. */
    Optional<BlazeFace.Face> largest(RgbImage frame) {
        BlazeFace.Face best = null;
        for (BlazeFace.Face f : detector.faces(frame)) {
            if (f.width() >= MIN_WIDTH
                    && Math.hypot(f.imageRightEyeX() - f.imageLeftEyeX(), f.imageRightEyeY() - f.imageLeftEyeY()) > 0
                    && (best == null || f.width() * f.height() > best.width() * best.height())) {
                best = f;
            }
        }
        return Optional.ofNullable(best);
    }
}
