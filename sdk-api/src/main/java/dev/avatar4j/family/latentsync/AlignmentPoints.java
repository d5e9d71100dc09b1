package dev.avatar4j.family.latentsync;

/**
 * The three points LatentSync aligns a face by, in frame pixels (docs/REFERENCE.md §2 items 3–5):
 * the centre of the brow on the image's left, the centre of the brow on the image's right, and the
 * nose. The reference averages groups of InsightFace's 106 landmarks (HEAD) or face_alignment's 68
 * (1.5 release) to get them.
 *
 * @param leftBrowX  image-left brow centre, x
 * @param leftBrowY  image-left brow centre, y
 * @param rightBrowX image-right brow centre, x
 * @param rightBrowY image-right brow centre, y
 * @param noseX      nose, x
 * @param noseY      nose, y
 */
record AlignmentPoints(double leftBrowX, double leftBrowY, double rightBrowX, double rightBrowY,
                       double noseX, double noseY) {

    /**
     * How high the brow centres sit above the eye centres, as a fraction of the eye distance. An
     * anthropometric approximation (brow-to-pupil height is about a quarter of the interpupillary
     * distance in adult frontal faces); it only shifts the crop vertically.
     */
    static final double BROW_ABOVE_EYES = 0.25;

    /** Template brow-to-nose height over brow distance: (40 − 20)/(58 − 17). */
    static final double NOSE_BELOW_BROWS = 20.0 / 41.0;

    AlignmentPoints {
        double[] all = {leftBrowX, leftBrowY, rightBrowX, rightBrowY, noseX, noseY};
        for (double v : all) {
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("alignment points must be finite: " + java.util.Arrays.toString(all));
            }
        }
    }

    /**
     * The three points from two eye centres, for detectors that give eyes but not brows (BlazeFace's
     * six keypoints: both eyes, nose tip, mouth, both ear tragions). This is where the port deviates
     * from the reference's 68/106 landmarks: the brows are the eyes moved
     * {@link #BROW_ABOVE_EYES}·d perpendicular to the eye line (d = eye distance), and the nose sits
     * {@link #NOSE_BELOW_BROWS}·d below the middle of the brows, so the three points are an exact
     * similarity image of the template and the crop's roll, scale and position follow the eyes.
     *
     * @param leftEyeX  eye on the image's left, x
     * @param leftEyeY  eye on the image's left, y
     * @param rightEyeX eye on the image's right, x
     * @param rightEyeY eye on the image's right, y
     * @return the alignment points
     * @throws IllegalArgumentException if the eyes coincide or a coordinate is not finite
     */
    static AlignmentPoints fromEyes(double leftEyeX, double leftEyeY, double rightEyeX, double rightEyeY) {
        double ex = rightEyeX - leftEyeX;
        double ey = rightEyeY - leftEyeY;
        double dist = Math.hypot(ex, ey);
        if (!(dist > 0) || !Double.isFinite(dist)) {
            throw new IllegalArgumentException("eye centres must be distinct and finite");
        }
        // "up" in image coordinates (y grows downwards): the eye vector turned by −90°
        double ux = ey / dist;
        double uy = -ex / dist;
        double h = BROW_ABOVE_EYES * dist;
        double lbx = leftEyeX + h * ux;
        double lby = leftEyeY + h * uy;
        double rbx = rightEyeX + h * ux;
        double rby = rightEyeY + h * uy;
        double n = NOSE_BELOW_BROWS * dist;
        return new AlignmentPoints(lbx, lby, rbx, rby, (lbx + rbx) / 2 - n * ux, (lby + rby) / 2 - n * uy);
    }

    /** @return {@code {lx, ly, rx, ry, nx, ny}} */
    double[] toArray() {
        return new double[] {leftBrowX, leftBrowY, rightBrowX, rightBrowY, noseX, noseY};
    }
}
