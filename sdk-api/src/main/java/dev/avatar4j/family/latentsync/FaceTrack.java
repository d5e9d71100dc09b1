package dev.avatar4j.family.latentsync;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.NoFace;
import dev.avatar4j.media.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The per-frame face crops of a video: locates the face in every frame, applies the
 * {@link NoFace} to frames without one, and turns the points into smoothed frame-to-crop
 * transforms with one {@link SimilarityAlignment} (smoothing runs over the frames that get a crop,
 * in order).
 */
final class FaceTrack {

    private FaceTrack() {
    }

    /**
     * Aligns every frame.
     *
     * @param frames the video frames (after looping and trimming)
     * @param locator the face locator
     * @param alignment a fresh alignment for this video (its smoothing state is used)
     * @param policy what to do with frames without a face
     * @return per frame, its frame-to-crop transform, or empty for a frame passed through unchanged
     * @throws InvalidInputException under {@link NoFace#FAIL} naming the first frame without a
     *         face, or under {@link NoFace#HOLD} when no frame has a face
     */
    static List<Optional<Affine>> align(List<RgbImage> frames, FaceLocator locator, SimilarityAlignment alignment,
                                        NoFace policy) {
        List<AlignmentPoints> points = new ArrayList<>(frames.size());
        for (int i = 0; i < frames.size(); i++) {
            Optional<AlignmentPoints> p = locator.locate(frames.get(i));
            if (p.isEmpty() && policy == NoFace.FAIL) {
                throw noFace(i);
            }
            points.add(p.orElse(null));
        }
        return align(points, alignment, policy);
    }

    /**
     * Aligns every frame from its located points.
     *
     * @param located per frame its points, or {@code null} where no face was found
     * @param alignment a fresh alignment for this video (its smoothing state is used)
     * @param policy what to do with frames without a face
     * @return per frame, its frame-to-crop transform, or empty for a frame passed through unchanged
     * @throws InvalidInputException as {@link #align(List, FaceLocator, SimilarityAlignment, NoFace)}
     */
    static List<Optional<Affine>> align(List<AlignmentPoints> located, SimilarityAlignment alignment,
                                        NoFace policy) {
        int n = located.size();
        List<AlignmentPoints> points = new ArrayList<>(located);
        AlignmentPoints firstFound = null;
        for (int i = 0; i < n; i++) {
            if (points.get(i) != null) {
                if (firstFound == null) {
                    firstFound = points.get(i);
                }
            } else if (policy == NoFace.FAIL) {
                throw noFace(i);
            }
        }
        if (policy == NoFace.HOLD) {
            if (firstFound == null) {
                throw new InvalidInputException("no face found in any of the " + n + " video frames");
            }
            AlignmentPoints last = firstFound;
            for (int i = 0; i < n; i++) {
                if (points.get(i) == null) {
                    points.set(i, last);
                } else {
                    last = points.get(i);
                }
            }
        }
        List<Optional<Affine>> out = new ArrayList<>(n);
        for (AlignmentPoints p : points) {
            out.add(p == null ? Optional.empty() : Optional.of(alignment.next(p)));
        }
        return out;
    }

    /** The {@link NoFace#FAIL} error for output frame {@code i} (at 25 fps). */
    static InvalidInputException noFace(int i) {
        return new InvalidInputException("no face found in video frame " + i + " (at "
                + String.format(java.util.Locale.ROOT, "%.2f", i / 25.0)
                + " s); use --no-face passthrough or hold to dub the other frames");
    }

    /**
     * Cuts the aligned face out of a frame at {@code resolution×resolution}: the similarity crop of
     * {@code alignment.cropWidth()×cropHeight()} composed with the (non-uniform) resize to the square,
     * in one bilinear resampling with the reference's border value 127. The reference resamples twice
     * (bilinear warp, then a LANCZOS4 resize); one resampling loses less detail.
     */
    static AlignedFaceCrop.FloatImage cut(RgbImage frame, Affine frameToCrop, SimilarityAlignment alignment, int resolution) {
        Affine toSquare = frameToCrop.then(Affine.resize(alignment.cropWidth(), alignment.cropHeight(),
                resolution, resolution));
        return AlignedFaceCrop.warp(AlignedFaceCrop.FloatImage.of(frame), toSquare, resolution, resolution, 127f);
    }

    /**
     * Pastes a generated {@code resolution×resolution} face back into its frame through the same
     * composed transform {@link #cut} used (the reference first resizes the face to the crop size).
     */
    static RgbImage paste(RgbImage frame, AlignedFaceCrop.FloatImage face, Affine frameToCrop, SimilarityAlignment alignment) {
        Affine toSquare = frameToCrop.then(Affine.resize(alignment.cropWidth(), alignment.cropHeight(),
                face.width(), face.height()));
        return AlignedFaceCrop.pasteBack(frame, face, toSquare);
    }
}
