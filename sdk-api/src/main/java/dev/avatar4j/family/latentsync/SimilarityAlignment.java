package dev.avatar4j.family.latentsync;

/**
 * LatentSync's face alignment (docs/REFERENCE.md §2 items 5–6, HEAD code): the similarity
 * transform that maps a frame's three {@link AlignmentPoints} onto the template
 * {@code [[17,20],[58,20],[37.5,40]]·ratio} ({@code ratio = resolution/256·2.8}), crop size
 * {@code (int(75·ratio), int(100·ratio))} — 210×280 for 256, 420×560 for 512.
 *
 * <p>Estimation is orthogonal Procrustes as the reference writes it: both point sets are centred and
 * divided by their standard deviation over all coordinates, the rotation is the proper rotation
 * closest to the SVD solution (the reference's det &lt; 0 fix; in 2-D that is
 * {@code atan2(Σ x1·y2 − y1·x2, Σ x1·x2 + y1·y2)}, no SVD needed) and the scale is the ratio of the
 * standard deviations (not Umeyama's trace scale).
 *
 * <p>Temporal smoothing reproduces a reference quirk: the difference between the template's and the
 * frame's <em>normalised</em> nose points (values of order 0.1, not pixels) is averaged over frames
 * ({@code 0.2·previous + 0.8·current}) and added to the translation in crop pixels, so it moves the
 * crop by well under a pixel. Instances carry that state: one per video, not thread-safe.
 */
final class SimilarityAlignment {

    private static final double[] TEMPLATE_256 = {17, 20, 58, 20, 37.5, 40};

    private final double[] template;
    private final int cropWidth;
    private final int cropHeight;
    private double biasX;
    private double biasY;
    private boolean hasBias;

    /**
     * @param resolution the model's face resolution (256 for LatentSync 1.5, 512 for 1.6)
     */
    SimilarityAlignment(int resolution) {
        if (resolution < 16) {
            throw new IllegalArgumentException("resolution must be >= 16, got " + resolution);
        }
        double ratio = resolution / 256.0 * 2.8;
        template = new double[6];
        for (int i = 0; i < 6; i++) {
            template[i] = TEMPLATE_256[i] * ratio;
        }
        cropWidth = (int) (75 * ratio);
        cropHeight = (int) (100 * ratio);
    }

    /** @return width of the aligned crop */
    int cropWidth() {
        return cropWidth;
    }

    /** @return height of the aligned crop */
    int cropHeight() {
        return cropHeight;
    }

    /** @return the template points {@code {lx, ly, rx, ry, nx, ny}} in crop pixels */
    double[] template() {
        return template.clone();
    }

    /**
     * The smoothed frame-to-crop transform for the next frame of the video.
     *
     * @param points the frame's alignment points
     * @return the map from frame pixels to crop pixels
     */
    Affine next(AlignmentPoints points) {
        Estimate est = estimate(points.toArray(), template);
        double bx = est.noseBiasX();
        double by = est.noseBiasY();
        if (hasBias) {
            bx = biasX * 0.2 + bx * 0.8;
            by = biasY * 0.2 + by * 0.8;
        }
        biasX = bx;
        biasY = by;
        hasBias = true;
        Affine m = est.transform();
        return new Affine(m.a(), m.b(), m.c() + bx, m.d(), m.e(), m.f() + by);
    }

    /** Forgets the smoothing state (a new shot or video). */
    void reset() {
        hasBias = false;
    }

    /**
     * A transform and the normalised nose difference that smoothing uses.
     *
     * @param transform  the unsmoothed similarity from the source to the target points
     * @param noseBiasX  normalised target nose x − normalised source nose x
     * @param noseBiasY  normalised target nose y − normalised source nose y
     */
    record Estimate(Affine transform, double noseBiasX, double noseBiasY) {
    }

    /**
     * The reference's Procrustes estimate of the similarity taking {@code src} onto {@code dst}
     * (three points each, {@code {x0, y0, x1, y1, x2, y2}}).
     *
     * @throws IllegalArgumentException if either point set has no spread
     */
    static Estimate estimate(double[] src, double[] dst) {
        int n = src.length / 2;
        if (src.length != dst.length || src.length % 2 != 0 || n < 2) {
            throw new IllegalArgumentException("need equal point sets of at least two points");
        }
        double c1x = 0;
        double c1y = 0;
        double c2x = 0;
        double c2y = 0;
        for (int i = 0; i < n; i++) {
            c1x += src[2 * i];
            c1y += src[2 * i + 1];
            c2x += dst[2 * i];
            c2y += dst[2 * i + 1];
        }
        c1x /= n;
        c1y /= n;
        c2x /= n;
        c2y /= n;
        double[] p1 = new double[2 * n];
        double[] p2 = new double[2 * n];
        for (int i = 0; i < n; i++) {
            p1[2 * i] = src[2 * i] - c1x;
            p1[2 * i + 1] = src[2 * i + 1] - c1y;
            p2[2 * i] = dst[2 * i] - c2x;
            p2[2 * i + 1] = dst[2 * i + 1] - c2y;
        }
        double s1 = std(p1);
        double s2 = std(p2);
        if (!(s1 > 0) || !(s2 > 0)) {
            throw new IllegalArgumentException("alignment points have no spread");
        }
        double dotSum = 0;
        double crossSum = 0;
        for (int i = 0; i < n; i++) {
            double x1 = p1[2 * i] / s1;
            double y1 = p1[2 * i + 1] / s1;
            double x2 = p2[2 * i] / s2;
            double y2 = p2[2 * i + 1] / s2;
            dotSum += x1 * x2 + y1 * y2;
            crossSum += x1 * y2 - y1 * x2;
        }
        double theta = Math.atan2(crossSum, dotSum);
        double scale = s2 / s1;
        double sc = scale * Math.cos(theta);
        double ss = scale * Math.sin(theta);
        Affine m = new Affine(sc, -ss, c2x - (sc * c1x - ss * c1y), ss, sc, c2y - (ss * c1x + sc * c1y));
        int k = Math.min(2, n - 1); // the nose is point 2
        double biasX = p2[2 * k] / s2 - p1[2 * k] / s1;
        double biasY = p2[2 * k + 1] / s2 - p1[2 * k + 1] / s1;
        return new Estimate(m, biasX, biasY);
    }

    /** np.std over all coordinates of an already centred array. */
    private static double std(double[] centred) {
        double sum = 0;
        for (double v : centred) {
            sum += v * v;
        }
        return Math.sqrt(sum / centred.length);
    }
}
