package dev.avatar4j.face;

import dev.avatar4j.NoFaceException;
import dev.avatar4j.backend.GraphContract;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.spi.GraphSession;
import java.util.ArrayList;
import java.util.List;

/**
 * The preview family's BlazeFace detector ({@link FaceDetector}) opened to other families of this
 * SDK, so that a bundle can share the one detector implementation (the dubbing family uses it as its
 * face locator). Internal: the package is not exported. The keypoints are given in image order
 * (left/right as seen in the image), which avoids BlazeFace's subject-centred names. Thread-safe when
 * its session is.
 */
public final class BlazeFace {
    /** Graph key of the detector in a bundle manifest. */
    public static final String GRAPH = FaceDetector.GRAPH;

    private final FaceDetector detector;

    /**
     * @param session   an open session of the BlazeFace short-range graph ({@link #contract()})
     * @param threshold minimum face score in (0, 1)
     */
    public BlazeFace(GraphSession session, double threshold) {
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("threshold must be in (0, 1), got " + threshold);
        }
        this.detector = new FaceDetector(session, threshold);
    }

    /** @return the contract the detector graph must satisfy */
    public static GraphContract contract() {
        return FaceDetector.contract();
    }

    /**
     * Every face in {@code image}, most confident first (whole image letterboxed, then tiles when the
     * whole image yields nothing; weighted non-maximum suppression), with the eye keypoints moved
     * onto the eyes by {@link EyeRefinement} (BlazeFace's raw eye keypoints are a few pixels off).
     *
     * @param image the image to search
     * @return the faces, empty when there is none
     */
    public List<Face> faces(RgbImage image) {
        List<FaceDetection> found;
        try {
            found = detector.all(image);
        } catch (NoFaceException e) {
            return List.of();
        }
        List<Face> out = new ArrayList<>(found.size());
        byte[] rgb = image.toRgbArray();
        for (FaceDetection raw : found) {
            FaceDetection f = EyeRefinement.refine(raw, rgb, image.width(), image.height());
            // BlazeFace's RIGHT_EYE is the subject's right eye: on the image's left in a frontal view
            out.add(new Face(f.score(), f.left(), f.top(), f.w(), f.h(),
                    f.x(FaceDetection.RIGHT_EYE), f.y(FaceDetection.RIGHT_EYE),
                    f.x(FaceDetection.LEFT_EYE), f.y(FaceDetection.LEFT_EYE),
                    f.x(FaceDetection.NOSE), f.y(FaceDetection.NOSE),
                    f.x(FaceDetection.MOUTH), f.y(FaceDetection.MOUTH)));
        }
        return out;
    }

    /**
     * One face in image pixels.
     *
     * @param score          detection confidence
     * @param left           box left edge
     * @param top            box top edge
     * @param width          box width
     * @param height         box height
     * @param imageLeftEyeX  the eye on the image's left (the subject's right eye), x
     * @param imageLeftEyeY  the eye on the image's left, y
     * @param imageRightEyeX the eye on the image's right (the subject's left eye), x
     * @param imageRightEyeY the eye on the image's right, y
     * @param noseX          nose tip, x
     * @param noseY          nose tip, y
     * @param mouthX         mouth centre, x
     * @param mouthY         mouth centre, y
     */
    public record Face(double score, double left, double top, double width, double height,
                       double imageLeftEyeX, double imageLeftEyeY, double imageRightEyeX, double imageRightEyeY,
                       double noseX, double noseY, double mouthX, double mouthY) {
    }
}
