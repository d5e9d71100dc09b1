package dev.avatar4j.face;

/**
 * Moves BlazeFace's eye keypoints onto the eyes. The keypoints are coarse (a few pixels off at
 * 512×512, while an eye is only about six pixels tall), and a blink drawn around a point below
 * the eye closes the lid under it. Each eye keypoint is moved to the darkest eye-sized box (iris,
 * pupil and lashes are the darkest part of the eye region) within a small window around it:
 * ±{@link #SEARCH_X} inter-ocular distances across and ±{@link #SEARCH_Y} along the face,
 * too little to reach the eyebrows.
 */
public final class EyeRefinement {
    static final double SEARCH_X = 0.06;
    static final double SEARCH_Y = 0.10;
    private static final double BOX_HALF_W = 0.10;
    private static final double BOX_HALF_H = 0.035;

    private EyeRefinement() {
    }

    /** {@code f} with both eye keypoints refined on {@code rgb} (packed RGB, {@code w × h}). */
    public static FaceDetection refine(FaceDetection f, byte[] rgb, int w, int h) {
        double[] k = f.keypoints();
        double d = Math.hypot(k[2] - k[0], k[3] - k[1]);
        if (!(d >= 12)) {
            return f; // too small to refine meaningfully
        }
        double ex = (k[2] - k[0]) / d;
        double ey = (k[3] - k[1]) / d;
        if (ex < 0) {
            ex = -ex;
            ey = -ey;
        }
        double nx = -ey; // along the face, towards the mouth
        double ny = ex;
        for (int eye = 0; eye < 2; eye++) {
            double bestDark = Double.MAX_VALUE;
            double bx = k[2 * eye];
            double by = k[2 * eye + 1];
            int sx = (int) Math.ceil(SEARCH_X * d);
            int sy = (int) Math.ceil(SEARCH_Y * d);
            for (int j = -sy; j <= sy; j++) {
                for (int i = -sx; i <= sx; i++) {
                    double cx = k[2 * eye] + i * ex + j * nx;
                    double cy = k[2 * eye + 1] + i * ey + j * ny;
                    double dark = meanLuma(rgb, w, h, cx, cy, ex, ey, nx, ny, BOX_HALF_W * d, BOX_HALF_H * d);
                    // prefer the detector's point among equally dark candidates
                    dark += 0.5 * Math.hypot(i, j) / Math.max(sx, sy);
                    if (dark < bestDark) {
                        bestDark = dark;
                        bx = cx;
                        by = cy;
                    }
                }
            }
            k[2 * eye] = bx;
            k[2 * eye + 1] = by;
        }
        return new FaceDetection(f.score(), f.cx(), f.cy(), f.w(), f.h(), k);
    }

    private static double meanLuma(byte[] rgb, int w, int h, double cx, double cy, double ex, double ey, double nx,
                                   double ny, double halfW, double halfH) {
        double sum = 0;
        int n = 0;
        int iw = Math.max(1, (int) Math.round(halfW));
        int ih = Math.max(1, (int) Math.round(halfH));
        for (int j = -ih; j <= ih; j++) {
            for (int i = -iw; i <= iw; i++) {
                int x = (int) Math.round(cx + i * ex + j * nx);
                int y = (int) Math.round(cy + i * ey + j * ny);
                if (x < 0 || y < 0 || x >= w || y >= h) {
                    continue;
                }
                int o = (y * w + x) * 3;
                sum += 0.299 * (rgb[o] & 0xFF) + 0.587 * (rgb[o + 1] & 0xFF) + 0.114 * (rgb[o + 2] & 0xFF);
                n++;
            }
        }
        return n == 0 ? 255 : sum / n;
    }
}
