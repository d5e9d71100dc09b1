package dev.avatar4j.family.latentsync;

import dev.avatar4j.media.RgbImage;

/**
 * The aligned face crop: cut out of a frame by an affine warp, and a generated crop pasted back (docs/REFERENCE.md §2
 * items 6 and "Mixing back" 4):
 *
 * <ul>
 *   <li>{@link #warp}: bilinear resampling through an affine map with a constant border, OpenCV's
 *       {@code warpAffine} (destination pixel p samples the source at M⁻¹(p), positions quantised
 *       to 1/32 pixel as OpenCV does). The reference's HEAD code warps the face with kornia, which
 *       samples at the exact position; the difference is at most 1/64 pixel's worth of gradient,
 *       and the paste-back is OpenCV in both versions.</li>
 *   <li>{@link #pasteBack}: the reference's {@code restore_img}: the crop and a ones-mask are
 *       inverse-warped into the frame; the mask is eroded by 2×2, then by 2·w_edge with
 *       {@code w_edge = int(√area)//20}, then Gaussian-blurred with kernel {@code 2·w_edge+1} and
 *       {@code σ = 0.3((k−1)/2 − 1) + 0.8}; the result is {@code soft·(eroded·face) + (1−soft)·frame},
 *       truncated to 8 bits. Where the soft mask is 0 — everywhere more than one pixel outside the
 *       warped crop — the frame's pixels come back unchanged, bit for bit.</li>
 * </ul>
 *
 * <p>Stateless.
 */
final class AlignedFaceCrop {

    private AlignedFaceCrop() {
    }

    /**
     * Interleaved float pixels.
     *
     * @param width    width
     * @param height   height
     * @param channels values per pixel
     * @param data     {@code width·height·channels} values, row-major, interleaved
     */
    record FloatImage(int width, int height, int channels, float[] data) {
        FloatImage {
            if (width <= 0 || height <= 0 || channels <= 0
                    || data.length != (long) width * height * channels) {
                throw new IllegalArgumentException("bad float image " + width + "x" + height + "x" + channels
                        + " with " + data.length + " values");
            }
        }

        /** An RGB image as floats in [0, 255]. */
        static FloatImage of(RgbImage img) {
            byte[] rgb = img.toRgbArray();
            float[] d = new float[rgb.length];
            for (int i = 0; i < rgb.length; i++) {
                d[i] = rgb[i] & 0xFF;
            }
            return new FloatImage(img.width(), img.height(), 3, d);
        }

        /** A one-channel image filled with {@code value}. */
        static FloatImage filled(int width, int height, float value) {
            float[] d = new float[width * height];
            java.util.Arrays.fill(d, value);
            return new FloatImage(width, height, 1, d);
        }

        float get(int x, int y, int c) {
            return data[(y * width + x) * channels + c];
        }
    }

    private static final int INTER_BITS = 5;
    private static final int INTER_TAB_SIZE = 1 << INTER_BITS;
    private static final int AB_BITS = 10;
    private static final int AB_SCALE = 1 << AB_BITS;
    private static final int ROUND_DELTA = AB_SCALE / INTER_TAB_SIZE / 2;

    /**
     * Resamples {@code src} through {@code srcToDst} into a {@code w×h} image, bilinear, with
     * {@code fill} outside the source, number for number as OpenCV's {@code warpAffine} (INTER_LINEAR,
     * BORDER_CONSTANT) on float images: the inverse map in OpenCV's arithmetic, sample positions in
     * 10-bit fixed point rounded to 1/32 pixel, float32 weights from the 32-step table.
     */
    static FloatImage warp(FloatImage src, Affine srcToDst, int w, int h, float fill) {
        return warp(src, srcToDst, 0, 0, w, h, fill);
    }

    /**
     * The {@code w×h} window at {@code (left, top)} of the destination {@link #warp} would give:
     * every pixel is computed from its absolute destination coordinates, so the values are exactly
     * those of the whole destination.
     */
    static FloatImage warp(FloatImage src, Affine srcToDst, int left, int top, int w, int h, float fill) {
        double[] m = srcToDst.toArray();
        // cv2.invertAffineTransform
        double det = m[0] * m[4] - m[1] * m[3];
        if (det == 0 || !Double.isFinite(det)) {
            throw new IllegalArgumentException("affine map is singular: " + srcToDst);
        }
        double dd = 1.0 / det;
        double a11 = m[4] * dd;
        double a22 = m[0] * dd;
        double a12 = -m[1] * dd;
        double a21 = -m[3] * dd;
        double b1 = -a11 * m[2] - a12 * m[5];
        double b2 = -a21 * m[2] - a22 * m[5];
        int ch = src.channels();
        int sw = src.width();
        int sh = src.height();
        float[] s = src.data();
        float[] out = new float[w * h * ch];
        int[] adelta = new int[w];
        int[] bdelta = new int[w];
        for (int x = 0; x < w; x++) {
            adelta[x] = (int) Math.rint(a11 * (x + left) * AB_SCALE);
            bdelta[x] = (int) Math.rint(a21 * (x + left) * AB_SCALE);
        }
        for (int y = 0; y < h; y++) {
            int x0base = (int) Math.rint((a12 * (y + top) + b1) * AB_SCALE) + ROUND_DELTA;
            int y0base = (int) Math.rint((a22 * (y + top) + b2) * AB_SCALE) + ROUND_DELTA;
            for (int x = 0; x < w; x++) {
                int fx = (x0base + adelta[x]) >> (AB_BITS - INTER_BITS);
                int fy = (y0base + bdelta[x]) >> (AB_BITS - INTER_BITS);
                int x0 = fx >> INTER_BITS;
                int y0 = fy >> INTER_BITS;
                float ax = (fx & (INTER_TAB_SIZE - 1)) * (1.f / INTER_TAB_SIZE);
                float ay = (fy & (INTER_TAB_SIZE - 1)) * (1.f / INTER_TAB_SIZE);
                float w00 = (1f - ay) * (1f - ax);
                float w01 = (1f - ay) * ax;
                float w10 = ay * (1f - ax);
                float w11 = ay * ax;
                int o = (y * w + x) * ch;
                boolean in00 = x0 >= 0 && y0 >= 0 && x0 < sw && y0 < sh;
                boolean in01 = x0 + 1 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 < sh;
                boolean in10 = x0 >= 0 && y0 + 1 >= 0 && x0 < sw && y0 + 1 < sh;
                boolean in11 = x0 + 1 >= 0 && y0 + 1 >= 0 && x0 + 1 < sw && y0 + 1 < sh;
                if (!(in00 || in01 || in10 || in11)) {
                    for (int c = 0; c < ch; c++) {
                        out[o + c] = fill;
                    }
                    continue;
                }
                for (int c = 0; c < ch; c++) {
                    float v00 = in00 ? s[(y0 * sw + x0) * ch + c] : fill;
                    float v01 = in01 ? s[(y0 * sw + x0 + 1) * ch + c] : fill;
                    float v10 = in10 ? s[((y0 + 1) * sw + x0) * ch + c] : fill;
                    float v11 = in11 ? s[((y0 + 1) * sw + x0 + 1) * ch + c] : fill;
                    out[o + c] = v00 * w00 + v01 * w01 + v10 * w10 + v11 * w11;
                }
            }
        }
        return new FloatImage(w, h, ch, out);
    }

    /**
     * Pastes a crop back into its frame with the reference's soft mask.
     *
     * @param frame the original frame
     * @param face the crop to paste, RGB floats in [0, 255], in crop coordinates
     * @param frameToCrop the map that cut the crop out of the frame
     * @return the composited frame
     */
    static RgbImage pasteBack(RgbImage frame, FloatImage face, Affine frameToCrop) {
        if (face.channels() != 3) {
            throw new IllegalArgumentException("face must be RGB, has " + face.channels() + " channels");
        }
        int w = frame.width();
        int h = frame.height();
        Affine cropToFrame = frameToCrop.inverse();
        // Everything below is zero outside the crop's footprint, so it is computed on a window: the
        // footprint's bounding box (a destination pixel is non-zero when its sample lies within one
        // source pixel of the crop), plus a zero margin wider than the erosion's and the blur's reach
        // (w_edge <= sqrt(area)/20 <= sqrt(box area)/20). Erosion and blur give the same numbers there
        // as on the whole frame: near an inner window edge all values are 0 either way, and at a frame
        // edge the window's border is the frame's.
        double minX = Double.POSITIVE_INFINITY;
        double maxX = Double.NEGATIVE_INFINITY;
        double minY = Double.POSITIVE_INFINITY;
        double maxY = Double.NEGATIVE_INFINITY;
        for (double[] c : new double[][] {{-2, -2}, {face.width() + 1, -2}, {-2, face.height() + 1},
                {face.width() + 1, face.height() + 1}}) {
            double x = cropToFrame.applyX(c[0], c[1]);
            double y = cropToFrame.applyY(c[0], c[1]);
            minX = Math.min(minX, x);
            maxX = Math.max(maxX, x);
            minY = Math.min(minY, y);
            maxY = Math.max(maxY, y);
        }
        double margin = Math.floor(Math.sqrt((maxX - minX + 6) * (maxY - minY + 6)) / 20) + 3;
        int left = (int) Math.max(0, Math.floor(minX) - 2 - margin);
        int top = (int) Math.max(0, Math.floor(minY) - 2 - margin);
        int right = (int) Math.min(w, Math.ceil(maxX) + 3 + margin);
        int bottom = (int) Math.min(h, Math.ceil(maxY) + 3 + margin);
        if (left >= right || top >= bottom || !Double.isFinite(margin)) {
            return frame; // the crop lies outside the frame
        }
        int rw = right - left;
        int rh = bottom - top;
        FloatImage restored = warp(face, cropToFrame, left, top, rw, rh, 0f);
        FloatImage mask = warp(FloatImage.filled(face.width(), face.height(), 1f), cropToFrame, left, top, rw, rh, 0f);
        float[] eroded = erode(mask.data(), rw, rh, 2);
        double area = 0;
        for (float v : eroded) {
            area += v;
        }
        int wEdge = (int) Math.sqrt(area) / 20;
        float[] centre = wEdge > 0 ? erode(eroded, rw, rh, 2 * wEdge) : eroded;
        int k = 2 * wEdge + 1;
        float[] soft = gaussianBlur(centre, rw, rh, k, 0.3 * ((k - 1) / 2.0 - 1) + 0.8);
        byte[] px = frame.toRgbArray();
        float[] rf = restored.data();
        for (int ry = 0; ry < rh; ry++) {
            for (int rx = 0; rx < rw; rx++) {
                int i = ry * rw + rx;
                float m = soft[i];
                if (m == 0f) {
                    continue; // outside the face: the frame's own bytes, untouched
                }
                float e = eroded[i];
                int o = ((top + ry) * w + left + rx) * 3;
                for (int c = 0; c < 3; c++) {
                    float v = m * (e * rf[3 * i + c]) + (1 - m) * (px[o + c] & 0xFF);
                    px[o + c] = (byte) Math.max(0, Math.min(255, (int) v)); // truncation, as astype(uint8)
                }
            }
        }
        return RgbImage.ofOwned(w, h, px);
    }

    /**
     * Grey erosion with a {@code k×k} square of ones, anchor at its centre {@code (k/2, k/2)};
     * pixels outside the image are ignored (OpenCV's default border for erosion).
     */
    static float[] erode(float[] src, int w, int h, int k) {
        if (k < 1) {
            throw new IllegalArgumentException("kernel size must be >= 1, got " + k);
        }
        int lo = -(k / 2);
        int hi = k - 1 - k / 2;
        float[] rows = new float[src.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                float m = Float.POSITIVE_INFINITY;
                for (int d = Math.max(lo, -x); d <= Math.min(hi, w - 1 - x); d++) {
                    m = Math.min(m, src[y * w + x + d]);
                }
                rows[y * w + x] = m;
            }
        }
        float[] out = new float[src.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                float m = Float.POSITIVE_INFINITY;
                for (int d = Math.max(lo, -y); d <= Math.min(hi, h - 1 - y); d++) {
                    m = Math.min(m, rows[(y + d) * w + x]);
                }
                out[y * w + x] = m;
            }
        }
        return out;
    }

    /**
     * Separable Gaussian blur with an odd kernel size {@code k}, weights
     * {@code exp(−(i − (k−1)/2)²/(2σ²))} normalised to sum 1, borders reflected without repeating the
     * edge pixel (OpenCV's BORDER_REFLECT_101).
     */
    static float[] gaussianBlur(float[] src, int w, int h, int k, double sigma) {
        if (k < 1 || k % 2 == 0 || !(sigma > 0)) {
            throw new IllegalArgumentException("need an odd kernel size and sigma > 0, got " + k + ", " + sigma);
        }
        if (k == 1) {
            return src.clone();
        }
        double[] g = new double[k];
        double sum = 0;
        int r = k / 2;
        for (int i = 0; i < k; i++) {
            g[i] = Math.exp(-((double) (i - r) * (i - r)) / (2 * sigma * sigma));
            sum += g[i];
        }
        for (int i = 0; i < k; i++) {
            g[i] /= sum;
        }
        float[] rows = new float[src.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double acc = 0;
                for (int i = 0; i < k; i++) {
                    acc += g[i] * src[y * w + reflect101(x + i - r, w)];
                }
                rows[y * w + x] = (float) acc;
            }
        }
        float[] out = new float[src.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double acc = 0;
                for (int i = 0; i < k; i++) {
                    acc += g[i] * rows[reflect101(y + i - r, h) * w + x];
                }
                out[y * w + x] = (float) acc;
            }
        }
        return out;
    }

    private static int reflect101(int i, int n) {
        if (n == 1) {
            return 0;
        }
        while (i < 0 || i >= n) {
            i = i < 0 ? -i : 2 * n - 2 - i;
        }
        return i;
    }
}
