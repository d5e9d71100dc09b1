package dev.avatar4j.family.latentsync;

/**
 * A 2-D affine map in pixel coordinates, {@code x' = a·x + b·y + c}, {@code y' = d·x + e·y + f}: the
 * 2×3 matrix {@code [[a, b, c], [d, e, f]]} that OpenCV's {@code warpAffine} takes. Pixel (x, y) is
 * the centre of column x, row y.
 */
record Affine(double a, double b, double c, double d, double e, double f) {

    /** From a row-major 2×3 array. */
    static Affine of(double[] m) {
        if (m.length != 6) {
            throw new IllegalArgumentException("a 2x3 affine matrix has 6 entries, got " + m.length);
        }
        return new Affine(m[0], m[1], m[2], m[3], m[4], m[5]);
    }

    /** @return the row-major 2×3 matrix */
    double[] toArray() {
        return new double[] {a, b, c, d, e, f};
    }

    double applyX(double x, double y) {
        return a * x + b * y + c;
    }

    double applyY(double x, double y) {
        return d * x + e * y + f;
    }

    /** The inverse map, as {@code cv2.invertAffineTransform}. */
    Affine inverse() {
        double det = a * e - b * d;
        if (det == 0 || !Double.isFinite(det)) {
            throw new IllegalArgumentException("affine map is singular: " + this);
        }
        double ia = e / det;
        double ib = -b / det;
        double id = -d / det;
        double ie = a / det;
        return new Affine(ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f));
    }

    /** {@code next ∘ this}: first this map, then {@code next}. */
    Affine then(Affine next) {
        return new Affine(
                next.a * a + next.b * d, next.a * b + next.b * e, next.a * c + next.b * f + next.c,
                next.d * a + next.e * d, next.d * b + next.e * e, next.d * c + next.e * f + next.f);
    }

    /**
     * The pixel-centre map of a resize from {@code fromW×fromH} to {@code toW×toH} (OpenCV/Pillow:
     * {@code x' = (x + 0.5)·toW/fromW − 0.5}).
     */
    static Affine resize(int fromW, int fromH, int toW, int toH) {
        double sx = (double) toW / fromW;
        double sy = (double) toH / fromH;
        return new Affine(sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5);
    }
}
