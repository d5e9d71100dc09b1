package dev.avatar4j.family.latentsync;

import dev.avatar4j.media.RgbImage;
import java.util.Optional;

/**
 * Where the dubbing pipeline gets a face from: a detector plus landmark step that returns the
 * {@link AlignmentPoints} of the face to dub in a frame, or nothing when the frame holds no usable
 * face (the caller then applies the no-face policy and names the frame index).
 *
 * <p>The reference uses InsightFace (detection + 106 landmarks) and picks the largest face with
 * w ≥ 50, h ≥ 80 and 0.2 ≤ w/h ≤ 1.5. {@link BlazeFaceLocator} keeps the largest face with w ≥ 50
 * (BlazeFace's square boxes make the other two checks meaningless) and maps its eye keypoints with
 * {@link AlignmentPoints#fromEyes}.
 *
 * <p>Implementations need not be thread-safe; one locator serves one video at a time.
 */
@FunctionalInterface
interface FaceLocator {

    /**
     * Finds the face to dub.
     *
     * @param frame a video frame
     * @return its alignment points, or empty when there is no usable face
     */
    Optional<AlignmentPoints> locate(RgbImage frame);
}
