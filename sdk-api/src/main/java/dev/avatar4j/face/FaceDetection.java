package dev.avatar4j.face;

/**
 * One detected face in image pixel coordinates: a box and BlazeFace's six keypoints, in the
 * model's order {@link #RIGHT_EYE} (the subject's right eye, on the image's left in a frontal
 * photo), {@link #LEFT_EYE}, {@link #NOSE}, {@link #MOUTH}, {@link #RIGHT_EAR}, {@link #LEFT_EAR}.
 *
 * @param score     detection confidence in [0, 1]
 * @param cx        box centre x
 * @param cy        box centre y
 * @param w         box width
 * @param h         box height
 * @param keypoints {@code x0, y0, x1, y1, …} for the six keypoints (12 values)
 */
public record FaceDetection(double score, double cx, double cy, double w, double h, double[] keypoints) {
    public static final int RIGHT_EYE = 0;
    public static final int LEFT_EYE = 1;
    public static final int NOSE = 2;
    public static final int MOUTH = 3;
    public static final int RIGHT_EAR = 4;
    public static final int LEFT_EAR = 5;
    public static final int KEYPOINTS = 6;

    /** Checks that there are six keypoints and copies them. */
    public FaceDetection {
        if (keypoints.length != 2 * KEYPOINTS) {
            throw new IllegalArgumentException("expected 12 keypoint coordinates, got " + keypoints.length);
        }
        keypoints = keypoints.clone();
    }

    /** {@return the x coordinate of keypoint {@code keypoint} (one of the constants above)} */
    public double x(int keypoint) {
        return keypoints[2 * keypoint];
    }

    /** {@return the y coordinate of keypoint {@code keypoint} (one of the constants above)} */
    public double y(int keypoint) {
        return keypoints[2 * keypoint + 1];
    }

    /** {@return the left edge of the box} */
    public double left() {
        return cx - w / 2;
    }

    /** {@return the top edge of the box} */
    public double top() {
        return cy - h / 2;
    }

    /** {@return the right edge of the box} */
    public double right() {
        return cx + w / 2;
    }

    /** {@return the bottom edge of the box} */
    public double bottom() {
        return cy + h / 2;
    }

    /** Intersection over union of the two boxes (0 when either is empty). */
    double iou(FaceDetection o) {
        double ix = Math.max(0, Math.min(right(), o.right()) - Math.max(left(), o.left()));
        double iy = Math.max(0, Math.min(bottom(), o.bottom()) - Math.max(top(), o.top()));
        double inter = ix * iy;
        double union = w * h + o.w * o.h - inter;
        return union <= 0 ? 0 : inter / union;
    }

    /** This detection mapped by {@code x → ox + x·scale}, {@code y → oy + y·scale}. */
    public FaceDetection mapped(double ox, double oy, double scale) {
        double[] k = new double[keypoints.length];
        for (int i = 0; i < KEYPOINTS; i++) {
            k[2 * i] = ox + keypoints[2 * i] * scale;
            k[2 * i + 1] = oy + keypoints[2 * i + 1] * scale;
        }
        return new FaceDetection(score, ox + cx * scale, oy + cy * scale, w * scale, h * scale, k);
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "face[score %.3f, box %.1f,%.1f %.1fx%.1f]", score, cx, cy, w, h);
    }
}
