package dev.avatar4j.family.preview;

import dev.avatar4j.face.FaceDetection;

/**
 * The face's own frame, built from BlazeFace's keypoints: origin at the mouth keypoint, axis
 * {@code ex} from the subject's right eye to the left eye (image left to right for an upright
 * face), {@code ey} perpendicular to it pointing from the eyes towards the mouth. Lengths are in
 * units of the face: {@code d} the inter-ocular distance, {@code l} the eyes-to-mouth distance
 * along {@code ey}, {@code mouthHalfWidth} = {@link #MOUTH_HALF_WIDTH}·d (adult lips are about 0.8
 * inter-ocular distances wide). The animated region is the ellipse {@code ρ < }{@link #REGION}
 * around the head centre, ρ being the distance in head radii; every pixel outside it is left as it
 * is in the input.
 */
final class FaceRig {
    static final double MOUTH_HALF_WIDTH = 0.40;
    /** Head radii: across, in inter-ocular distances; along, in eyes-to-mouth distances. */
    static final double HEAD_RX = 1.05;
    static final double HEAD_RY = 1.45;
    /** Head centre below the eyes, in eyes-to-mouth distances. */
    static final double HEAD_CENTRE = 0.35;
    /** Outer edge of the animated region, in head radii. */
    static final double REGION = 1.75;

    final double exX;
    final double exY;
    final double eyX;
    final double eyY;
    final double d;
    final double l;
    final double mouthHalfWidth;
    final double mouthX;
    final double mouthY;
    final double[] eyes; // rx, ry, lx, ly
    final double headX;
    final double headY;
    final double rx;
    final double ry;

    FaceRig(FaceDetection f) {
        double ax = f.x(FaceDetection.RIGHT_EYE);
        double ay = f.y(FaceDetection.RIGHT_EYE);
        double bx = f.x(FaceDetection.LEFT_EYE);
        double by = f.y(FaceDetection.LEFT_EYE);
        if (bx < ax) { // mirrored keypoints: keep ex pointing right
            double t = ax;
            ax = bx;
            bx = t;
            t = ay;
            ay = by;
            by = t;
        }
        double dist = Math.hypot(bx - ax, by - ay);
        if (!(dist > 1)) {
            dist = Math.max(2, f.w() * 0.35); // degenerate keypoints: fall back to the box
            ax = f.cx() - dist / 2;
            bx = f.cx() + dist / 2;
            ay = by = f.cy() - f.h() * 0.1;
        }
        exX = (bx - ax) / dist;
        exY = (by - ay) / dist;
        eyX = -exY;
        eyY = exX;
        d = dist;
        double eX = (ax + bx) / 2;
        double eY = (ay + by) / 2;
        double along = (f.x(FaceDetection.MOUTH) - eX) * eyX + (f.y(FaceDetection.MOUTH) - eY) * eyY;
        // a mouth keypoint implausibly close to or far from the eyes is replaced by the typical 1.1·d
        l = along > 0.6 * d && along < 1.8 * d ? along : 1.1 * d;
        double across = (f.x(FaceDetection.MOUTH) - eX) * exX + (f.y(FaceDetection.MOUTH) - eY) * exY;
        across = Math.clamp(across, -0.3 * d, 0.3 * d);
        mouthX = eX + across * exX + l * eyX;
        mouthY = eY + across * exY + l * eyY;
        mouthHalfWidth = MOUTH_HALF_WIDTH * d;
        eyes = new double[] {ax, ay, bx, by};
        headX = eX + HEAD_CENTRE * l * eyX;
        headY = eY + HEAD_CENTRE * l * eyY;
        rx = HEAD_RX * d;
        ry = HEAD_RY * l;
    }

    /**
     * How colourful the face is, 0 (greyscale) … 1: the mean chroma (max − min channel) of the
     * pixels between the eyes and the mouth, relative to {@link #FULL_CHROMA}. The painted mouth
     * interior is desaturated by it, so a black-and-white photo gets a grey mouth.
     */
    double colourfulness(byte[] rgb, int width, int height) {
        double sum = 0;
        int n = 0;
        int r = (int) Math.max(1, Math.round(0.4 * d));
        int cx = (int) Math.round((eyes[0] + eyes[2]) / 2 * 0.5 + mouthX * 0.5);
        int cy = (int) Math.round((eyes[1] + eyes[3]) / 2 * 0.5 + mouthY * 0.5);
        for (int y = Math.max(0, cy - r); y < Math.min(height, cy + r); y++) {
            for (int x = Math.max(0, cx - r); x < Math.min(width, cx + r); x++) {
                int o = (y * width + x) * 3;
                int a = rgb[o] & 0xFF;
                int b = rgb[o + 1] & 0xFF;
                int c = rgb[o + 2] & 0xFF;
                sum += Math.max(a, Math.max(b, c)) - Math.min(a, Math.min(b, c));
                n++;
            }
        }
        return n == 0 ? 1 : Math.clamp(sum / n / FULL_CHROMA, 0, 1);
    }

    /** Mean chroma (0 … 255) of a face that counts as fully colourful. */
    static final double FULL_CHROMA = 40;

    /** Distance of image point (x, y) from the head centre, in head radii. */
    double rho(double x, double y) {
        double dx = x - headX;
        double dy = y - headY;
        double a = (dx * exX + dy * exY) / rx;
        double b = (dx * eyX + dy * eyY) / ry;
        return Math.sqrt(a * a + b * b);
    }

    /**
     * Pixel bounds {@code {x0, y0, x1, y1}} (inclusive-exclusive, clipped to the image) enclosing the
     * animated region; pixels outside them are never changed.
     */
    int[] regionBounds(int width, int height) {
        double ax = REGION * rx;
        double by = REGION * ry;
        double hx = Math.sqrt(ax * ax * exX * exX + by * by * eyX * eyX);
        double hy = Math.sqrt(ax * ax * exY * exY + by * by * eyY * eyY);
        int x0 = Math.clamp((long) Math.floor(headX - hx) - 1, 0, width);
        int y0 = Math.clamp((long) Math.floor(headY - hy) - 1, 0, height);
        int x1 = Math.clamp((long) Math.ceil(headX + hx) + 2, 0, width);
        int y1 = Math.clamp((long) Math.ceil(headY + hy) + 2, 0, height);
        return new int[] {x0, y0, x1, y1};
    }
}
