package dev.avatar4j.family.preview;

import static dev.avatar4j.family.preview.MouthFeatures.smoothstep;

/**
 * Renders one frame: a dense backward warp of the reference image anchored on the face rig, plus
 * a shaded mouth interior. For every output pixel inside the rig's region the source position is
 * computed analytically, in the face's own frame, by composing
 * <ol>
 *   <li>the head pose (roll about a pivot at the neck plus a small shift), feathered from full
 *       strength inside the head to none at the region's edge;</li>
 *   <li>the mouth: the lips part along the seam through the mouth keypoint; below the lower lip
 *       the lip, chin and jaw move down by the jaw drop, fading out under the chin and towards the
 *       cheeks; above the upper lip the lip lifts slightly, fading out below the nose; across the
 *       mouth, the lips are stretched or pulled in (width, rounding) and the opening's outline goes
 *       from a flat slit to an ellipse as the lips round;</li>
 *   <li>the eyelids: during a blink the upper lid slides down and the lower lid up until they meet
 *       a little below the eye's centre.</li>
 * </ol>
 * The source is sampled bilinearly. Between the parted lips, where there is no source skin, the
 * mouth interior is painted: a dark cavity with upper teeth and a hint of tongue, blended over
 * the stretched lip seam in a one-pixel band so the lip edges are anti-aliased. Every map is
 * continuous and reduces to the identity at the region's edge, so there is no seam between the
 * animated face and the untouched rest of the image (which is copied byte for byte). This is the
 * continuous limit of a keypoint-anchored piecewise-affine mesh warp, evaluated per pixel instead
 * of per triangle so that the lip seam can be cut exactly.
 */
final class FaceAnimator {
    /** Full jaw/lip gap at opening 1, in eyes-to-mouth distances. */
    static final double MAX_GAP = 0.22;
    /** Share of the gap taken by the upper lip lifting (the rest is the jaw dropping). */
    static final double UPPER_SHARE = 0.25;
    /** Eye opening (half-height) and half-width, in inter-ocular distances. */
    static final double EYE_HALF_HEIGHT = 0.08;
    static final double EYE_HALF_WIDTH = 0.24;

    private static final double[] CAVITY = {74, 28, 34};
    private static final double[] TONGUE = {150, 64, 70};
    private static final double[] TEETH = {222, 214, 200};

    private FaceAnimator() {
    }

    /**
     * Renders into {@code dst} (packed RGB, same size as {@code src}, already holding a copy of
     * {@code src}: only pixels of the region are written).
     *
     * @param pose   {@code {roll, dx, dy}} from {@link IdleMotion#pose}
     * @param blink  lid closure 0 … 1
     */
    static void render(byte[] src, byte[] dst, int width, int height, FaceRig rig, MouthShape m, double blink,
                       double[] pose) {
        render(src, dst, width, height, rig, m, blink, pose, 1);
    }

    /**
     * As {@link #render(byte[], byte[], int, int, FaceRig, MouthShape, double, double[])}, with the
     * mouth interior's colours scaled towards grey by {@code colour} (0 = grey … 1 = full colour).
     */
    static void render(byte[] src, byte[] dst, int width, int height, FaceRig rig, MouthShape m, double blink,
                       double[] pose, double colour) {
        int[] b = rig.regionBounds(width, height);
        double region = FaceRig.REGION;
        // head pose: rotation by roll about a pivot below the mouth, plus a shift in face units
        double roll = pose[0];
        double cos = Math.cos(roll);
        double sin = Math.sin(roll);
        double pivX = rig.mouthX + 0.9 * rig.l * rig.eyX;
        double pivY = rig.mouthY + 0.9 * rig.l * rig.eyY;
        double shX = (pose[1] * rig.exX + pose[2] * rig.eyX) * rig.d;
        double shY = (pose[1] * rig.exY + pose[2] * rig.eyY) * rig.d;
        Mouth mouth = new Mouth(m, colour);
        double eyeH = EYE_HALF_HEIGHT * rig.d;
        double eyeW = EYE_HALF_WIDTH * rig.d;
        double[] rgb = new double[3];
        for (int y = b[1]; y < b[3]; y++) {
            for (int x = b[0]; x < b[2]; x++) {
                double rho = rig.rho(x, y);
                if (rho >= region) {
                    continue;
                }
                // 1. undo the head pose (feathered)
                double wh = 1 - smoothstep(1.0, region, rho);
                double rx = x - pivX;
                double ry = y - pivY;
                double tx = pivX + cos * rx - sin * ry + shX;
                double ty = pivY + sin * rx + cos * ry + shY;
                double px = x - wh * (tx - x);
                double py = y - wh * (ty - y);
                // 2. mouth, in face units relative to the mouth keypoint
                double relX = px - rig.mouthX;
                double relY = py - rig.mouthY;
                double u = (relX * rig.exX + relY * rig.exY) / rig.mouthHalfWidth;
                double v = (relX * rig.eyX + relY * rig.eyY) / rig.l;
                double du = 0;
                double dv = 0;
                double interior = 0; // coverage of the mouth interior, 0 … 1
                double gapPos = 0;
                double gapPx = 0;
                if (mouth.active && v > -0.8 && v < 1.5 && Math.abs(u) < 3) {
                    double gp = mouth.profile(u);
                    double eu = -mouth.upper * gp;
                    double el = mouth.lower * gp;
                    double vs;
                    if (v >= el) {
                        double t = v - el;
                        double blend = smoothstep(0, 0.4, t);
                        double jaw = mouth.lower * (1 - smoothstep(1.0, 2.6, Math.abs(u)));
                        vs = v - (el * (1 - blend) + jaw * blend) * (1 - smoothstep(0.8, 1.35, v));
                    } else if (v <= eu) {
                        double t = eu - v;
                        vs = v - eu * (1 - smoothstep(0, 0.35, t));
                    } else {
                        vs = 0; // between the lips: the seam, under the painted interior
                        gapPx = (el - eu) * rig.l;
                        gapPos = (v - eu) / (el - eu);
                        double edge = Math.min(v - eu, el - v) * rig.l; // px to the nearest lip
                        interior = Math.clamp(edge / 1.2, 0, 1) * smoothstep(0.0, 2.0, gapPx);
                    }
                    double us = u * (1 - mouth.squeeze * (1 - smoothstep(1.1, 2.4, Math.abs(u)))
                            * (1 - smoothstep(0.25, 0.7, Math.abs(v))));
                    du = us - u;
                    dv = vs - v;
                }
                double sx = du * rig.mouthHalfWidth * rig.exX + dv * rig.l * rig.eyX;
                double sy = du * rig.mouthHalfWidth * rig.exY + dv * rig.l * rig.eyY;
                // 3. eyelids
                double lash = 0;
                if (blink > 0) {
                    for (int e = 0; e < 2; e++) {
                        double ex = px - rig.eyes[2 * e];
                        double ey = py - rig.eyes[2 * e + 1];
                        double a = (ex * rig.exX + ey * rig.exY) / eyeW;
                        double bb = ex * rig.eyX + ey * rig.eyY;
                        double k = blink * (1 - smoothstep(0.9, 1.5, Math.abs(a)));
                        if (k <= 0 || bb < -3.2 * eyeH || bb > 2.0 * eyeH) {
                            continue;
                        }
                        double h = eyeH * (0.35 + 0.65 * Math.sqrt(Math.max(0, 1 - a * a)));
                        double top = -3.2 * eyeH;
                        double bottom = 2.0 * eyeH;
                        double meet = 0.3 * h;
                        double yTop = -h + k * (h + meet);
                        double yBot = h - k * (h - meet);
                        double bs;
                        if (bb <= yTop) {
                            bs = top + (bb - top) * (-h - top) / (yTop - top);
                        } else if (bb >= yBot) {
                            bs = bottom - (bottom - bb) * (bottom - h) / (bottom - yBot);
                        } else {
                            bs = yBot - yTop < 1e-6 ? 0 : -h + (bb - yTop) * 2 * h / (yBot - yTop);
                        }
                        sx += (bs - bb) * rig.eyX;
                        sy += (bs - bb) * rig.eyY;
                        lash = Math.max(lash, smoothstep(0.4, 0.9, k) * (1 - smoothstep(0.4, 1.6, Math.abs(bb - meet))));
                    }
                }
                double rw = 1 - smoothstep(1.45, region, rho);
                sample(src, width, height, px + rw * sx, py + rw * sy, rgb);
                if (interior > 0) {
                    mouth.shade(u, gapPos, gapPx, rgb, interior);
                }
                if (lash > 0) {
                    double f = 1 - 0.3 * lash;
                    rgb[0] *= f;
                    rgb[1] *= f;
                    rgb[2] *= f;
                }
                int o = (y * width + x) * 3;
                dst[o] = (byte) Math.clamp(Math.round(rgb[0]), 0, 255);
                dst[o + 1] = (byte) Math.clamp(Math.round(rgb[1]), 0, 255);
                dst[o + 2] = (byte) Math.clamp(Math.round(rgb[2]), 0, 255);
            }
        }
    }

    /** Bilinear sample with clamped edges. */
    static void sample(byte[] src, int w, int h, double x, double y, double[] out) {
        x = Math.clamp(x, 0, w - 1);
        y = Math.clamp(y, 0, h - 1);
        int x0 = (int) x;
        int y0 = (int) y;
        int x1 = Math.min(x0 + 1, w - 1);
        int y1 = Math.min(y0 + 1, h - 1);
        double fx = x - x0;
        double fy = y - y0;
        int i00 = (y0 * w + x0) * 3;
        int i10 = (y0 * w + x1) * 3;
        int i01 = (y1 * w + x0) * 3;
        int i11 = (y1 * w + x1) * 3;
        for (int c = 0; c < 3; c++) {
            double a = src[i00 + c] & 0xFF;
            double b = src[i10 + c] & 0xFF;
            double d = src[i01 + c] & 0xFF;
            double e = src[i11 + c] & 0xFF;
            out[c] = (a + (b - a) * fx) * (1 - fy) + (d + (e - d) * fx) * fy;
        }
    }

    /** Per-frame mouth constants. */
    private static final class Mouth {
        final boolean active;
        final double upper; // lift of the upper lip at the centre, face units
        final double lower; // drop of the lower lip and jaw
        final double corner; // mouth corner in output, in half-widths
        final double exponent; // outline: flat slit (large) … ellipse (2)
        final double squeeze; // horizontal source scaling
        final double colour; // interior saturation, 0 … 1

        Mouth(MouthShape m, double colour) {
            this.colour = colour;
            double gap = MAX_GAP * m.open() * (1 + 0.25 * m.round());
            upper = UPPER_SHARE * gap;
            lower = gap - upper;
            corner = Math.clamp(1 + 0.10 * Math.max(0, m.width()) - 0.14 * m.round(), 0.85, 1.1);
            exponent = 2 + 2.5 * (1 - m.round());
            squeeze = 1 - 1 / corner;
            active = m.open() > 0 || Math.abs(m.width()) > 1e-3 || m.round() > 1e-3;
        }

        /** Opening profile across the mouth: 1 at the centre, 0 at and beyond the corners. */
        double profile(double u) {
            double a = Math.abs(u) / corner;
            return a >= 1 ? 0 : Math.sqrt(1 - Math.pow(a, exponent));
        }

        /** Blends the interior colour at (u, gapPos) over {@code rgb} with {@code alpha}. */
        void shade(double u, double gapPos, double gapPx, double[] rgb, double alpha) {
            double across = Math.abs(u) / corner;
            double depth = 0.55 + 0.45 * (1 - across * across); // darker towards the corners
            double[] c = new double[3];
            for (int i = 0; i < 3; i++) {
                c[i] = CAVITY[i] * depth;
            }
            // upper teeth: a band under the upper lip, narrower than the mouth
            double teethPx = Math.min(0.32 * gapPx, 7.0);
            double teeth = (1 - smoothstep(0.55, 0.8, across)) * (1 - smoothstep(teethPx - 1, teethPx + 0.5, gapPos * gapPx))
                    * smoothstep(2, 5, gapPx);
            // tongue: lower third, visible once the mouth is well open
            double tongue = smoothstep(0.6, 0.95, gapPos) * smoothstep(6, 14, gapPx) * (1 - smoothstep(0.5, 0.9, across));
            for (int i = 0; i < 3; i++) {
                double shadedTeeth = TEETH[i] * (0.7 + 0.3 * (1 - across)) * (0.8 + 0.2 * Math.min(1, gapPos * gapPx / 2));
                c[i] = c[i] + (TONGUE[i] * depth - c[i]) * tongue * 0.7;
                c[i] = c[i] + (shadedTeeth - c[i]) * teeth;
            }
            double grey = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
            for (int i = 0; i < 3; i++) {
                double v = grey + (c[i] - grey) * colour;
                rgb[i] = rgb[i] + (v - rgb[i]) * alpha;
            }
        }
    }
}
