package dev.avatar4j.face;

import dev.avatar4j.NoFaceException;
import dev.avatar4j.backend.GraphContract;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Finds the face to animate with BlazeFace (short-range, 128×128): crops of the image are
 * resampled to the model input (box-filtered, RGB in [−1, 1], NHWC), the two output heads are
 * decoded against {@link BlazeFaceAnchors} ({@code centre = anchor + offset / 128}, size
 * {@code = raw / 128}, keypoints like the centre) and overlapping boxes are merged by MediaPipe's
 * weighted non-maximum suppression (score-weighted mean of every box overlapping the best one by
 * more than {@link #NMS_IOU}). The whole image is searched first (letterboxed to a square); when that
 * finds nothing, overlapping square tiles at two smaller scales are searched, so that small faces
 * in wide shots are found too; a tile's face must score {@link #TILE_MARGIN} more than the threshold,
 * because a tile shows the model a zoomed-in texture that it more easily mistakes for a face. Thread-safe when its session is.
 */
public final class FaceDetector {
    /** Graph key in the bundle manifest. */
    public static final String GRAPH = "face-detector";
    static final String INPUT = "input:0";
    static final String SCORES_16 = "Identity:0";
    static final String SCORES_8 = "Identity_1:0";
    static final String BOXES_16 = "Identity_2:0";
    static final String BOXES_8 = "Identity_3:0";
    static final int ANCHORS_16 = 512;
    static final int ANCHORS_8 = 384;
    static final int VALUES = 16; // box (4) + 6 keypoints (12)
    /** Boxes overlapping the best remaining one by more than this are merged into it. */
    static final double NMS_IOU = 0.3;
    /** How much more confident a face found in a tile must be than one found in the whole image. */
    static final double TILE_MARGIN = 0.2;
    /** Tile sides tried after the whole image, as fractions of the image's shorter side. */
    private static final double[] TILE_SCALES = {0.6, 0.4};

    private static final float[] ANCHORS = BlazeFaceAnchors.centres();

    private final GraphSession session;
    private final double threshold;

    /** A detector on the face graph's {@code session}, keeping faces scoring at least {@code threshold}. */
    public FaceDetector(GraphSession session, double threshold) {
        this.session = session;
        this.threshold = threshold;
    }

    /** The contract the face graph must satisfy when the bundle loads. */
    public static GraphContract contract() {
        int n = BlazeFaceAnchors.INPUT;
        return GraphContract.of(GRAPH)
                .input(INPUT, DType.FLOAT32, 1, n, n, 3)
                .output(SCORES_16, DType.FLOAT32, 1, ANCHORS_16, 1)
                .output(SCORES_8, DType.FLOAT32, 1, ANCHORS_8, 1)
                .output(BOXES_16, DType.FLOAT32, 1, ANCHORS_16, VALUES)
                .output(BOXES_8, DType.FLOAT32, 1, ANCHORS_8, VALUES);
    }

    /**
     * The most confident face in {@code image}.
     *
     * @throws NoFaceException if no crop yields a face scoring at least the threshold
     */
    public FaceDetection detect(RgbImage image) {
        return all(image).getFirst();
    }

    /**
     * Every face in {@code image} after weighted non-maximum suppression, most confident first,
     * searched as {@link #detect} does.
     *
     * @throws NoFaceException if there is none
     */
    public List<FaceDetection> all(RgbImage image) {
        int w = image.width();
        int h = image.height();
        double best = 0;
        List<String> tried = new ArrayList<>();
        int side = Math.max(w, h);
        List<FaceDetection> found = run(image, (w - side) / 2.0, (h - side) / 2.0, side);
        tried.add("whole image letterboxed to " + side + "px");
        best = Math.max(best, bestScore(found));
        if (filter(found, threshold).isEmpty()) {
            for (double scale : TILE_SCALES) {
                double tile = Math.min(w, h) * scale;
                int nx = tiles(w, tile);
                int ny = tiles(h, tile);
                for (int ty = 0; ty < ny; ty++) {
                    for (int tx = 0; tx < nx; tx++) {
                        double x0 = nx == 1 ? (w - tile) / 2 : tx * (w - tile) / (nx - 1);
                        double y0 = ny == 1 ? (h - tile) / 2 : ty * (h - tile) / (ny - 1);
                        List<FaceDetection> f = run(image, x0, y0, tile);
                        best = Math.max(best, bestScore(f));
                        found.addAll(filter(f, Math.min(0.95, threshold + TILE_MARGIN)));
                    }
                }
                tried.add(nx * ny + " tiles of " + Math.round(tile) + "px");
                if (!filter(found, threshold).isEmpty()) {
                    break;
                }
            }
        }
        List<FaceDetection> kept = weightedNms(filter(found, threshold), NMS_IOU);
        if (kept.isEmpty()) {
            throw new NoFaceException(String.format(Locale.ROOT,
                    "no face found in the %dx%d reference image: BlazeFace (short-range, %dx%d input) searched %s, "
                            + "no rotations; best face score %.3f, needed %.2f (%.2f in tiles). Use a photo or drawing with one "
                            + "clearly visible, roughly frontal face, or crop closer to the face",
                    w, h, BlazeFaceAnchors.INPUT, BlazeFaceAnchors.INPUT, String.join(", then ", tried), best,
                    threshold, Math.min(0.95, threshold + TILE_MARGIN)), best);
        }
        return kept;
    }

    /**
     * The face overlapping {@code near} (IoU above {@link #NMS_IOU}) found in one whole-image pass
     * over {@code image}, or {@code near} itself when there is none: after cropping and resizing,
     * the face fills more of the detector's input, so its keypoints come out more precise.
     */
    public FaceDetection refine(RgbImage image, FaceDetection near) {
        int side = Math.max(image.width(), image.height());
        List<FaceDetection> found = weightedNms(filter(run(image, (image.width() - side) / 2.0,
                (image.height() - side) / 2.0, side), threshold), NMS_IOU);
        for (FaceDetection f : found) {
            if (f.iou(near) > NMS_IOU) {
                return f;
            }
        }
        return near;
    }

    private static int tiles(int extent, double tile) {
        return extent <= tile ? 1 : (int) Math.ceil((extent - tile) / (tile / 2)) + 1;
    }

    private static double bestScore(List<FaceDetection> l) {
        double b = 0;
        for (FaceDetection d : l) {
            b = Math.max(b, d.score());
        }
        return b;
    }

    private static List<FaceDetection> filter(List<FaceDetection> l, double threshold) {
        List<FaceDetection> out = new ArrayList<>();
        for (FaceDetection d : l) {
            if (d.score() >= threshold) {
                out.add(d);
            }
        }
        return out;
    }

    /**
     * Runs the model on the square {@code (x0, y0, side)} of {@code image} and returns the
     * candidates scoring above a low floor (0.1, for the "best score" of error messages), in image
     * coordinates.
     */
    List<FaceDetection> run(RgbImage image, double x0, double y0, double side) {
        int n = BlazeFaceAnchors.INPUT;
        float[] scores = new float[ANCHORS_16 + ANCHORS_8];
        float[] boxes = new float[(ANCHORS_16 + ANCHORS_8) * VALUES];
        try (TensorScope call = TensorScope.open()) {
            Tensor in = call.allocate(DType.FLOAT32, 1, n, n, 3);
            sample(image, x0, y0, side, n, in.segment());
            GraphSession.Result out = call.attach(session.run(Map.of(INPUT, in),
                    Set.of(SCORES_16, SCORES_8, BOXES_16, BOXES_8)));
            copy(out.get(SCORES_16), scores, 0, ANCHORS_16);
            copy(out.get(SCORES_8), scores, ANCHORS_16, ANCHORS_8);
            copy(out.get(BOXES_16), boxes, 0, ANCHORS_16 * VALUES);
            copy(out.get(BOXES_8), boxes, ANCHORS_16 * VALUES, ANCHORS_8 * VALUES);
        }
        List<FaceDetection> out = new ArrayList<>();
        for (FaceDetection d : decode(scores, boxes, 0.1)) {
            out.add(d.mapped(x0, y0, side));
        }
        return out;
    }

    private static void copy(Tensor t, float[] dst, int offset, int count) {
        if (t == null || t.elementCount() != count) {
            throw new dev.avatar4j.BackendException("face detector output has " + (t == null ? "no tensor" : t)
                    + ", expected " + count + " values");
        }
        MemorySegment.copy(t.segment(), ValueLayout.JAVA_FLOAT, 0, dst, offset, count);
    }

    /**
     * Decodes raw model outputs (896 logits, 896 × 16 regressions) into candidates scoring at
     * least {@code minScore}, in normalised [0, 1] input coordinates.
     */
    static List<FaceDetection> decode(float[] logits, float[] raw, double minScore) {
        int count = ANCHORS.length / 2;
        if (logits.length != count || raw.length != count * VALUES) {
            throw new IllegalArgumentException("expected " + count + " scores and " + count * VALUES + " values");
        }
        double size = BlazeFaceAnchors.INPUT;
        List<FaceDetection> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            double logit = Math.clamp(logits[i], -100f, 100f);
            double score = 1 / (1 + Math.exp(-logit));
            if (score < minScore) {
                continue;
            }
            double ax = ANCHORS[2 * i];
            double ay = ANCHORS[2 * i + 1];
            int b = i * VALUES;
            double[] kp = new double[2 * FaceDetection.KEYPOINTS];
            for (int k = 0; k < FaceDetection.KEYPOINTS; k++) {
                kp[2 * k] = ax + raw[b + 4 + 2 * k] / size;
                kp[2 * k + 1] = ay + raw[b + 5 + 2 * k] / size;
            }
            out.add(new FaceDetection(score, ax + raw[b] / size, ay + raw[b + 1] / size, raw[b + 2] / size,
                    raw[b + 3] / size, kp));
        }
        return out;
    }

    /**
     * MediaPipe's weighted non-maximum suppression: repeatedly takes the best remaining candidate,
     * replaces it by the score-weighted mean (box and keypoints) of all remaining candidates whose
     * IoU with it exceeds {@code iou} (itself included) keeping its score, and drops them. Sorted
     * by score, best first.
     */
    static List<FaceDetection> weightedNms(List<FaceDetection> candidates, double iou) {
        List<FaceDetection> remaining = new ArrayList<>(candidates);
        remaining.sort(Comparator.comparingDouble(FaceDetection::score).reversed());
        List<FaceDetection> out = new ArrayList<>();
        while (!remaining.isEmpty()) {
            FaceDetection top = remaining.getFirst();
            double total = 0;
            double cx = 0;
            double cy = 0;
            double w = 0;
            double h = 0;
            double[] kp = new double[2 * FaceDetection.KEYPOINTS];
            List<FaceDetection> rest = new ArrayList<>();
            for (FaceDetection d : remaining) {
                if (d == top || top.iou(d) > iou) {
                    double s = d.score();
                    total += s;
                    cx += s * d.cx();
                    cy += s * d.cy();
                    w += s * d.w();
                    h += s * d.h();
                    for (int k = 0; k < kp.length; k++) {
                        kp[k] += s * d.keypoints()[k];
                    }
                } else {
                    rest.add(d);
                }
            }
            for (int k = 0; k < kp.length; k++) {
                kp[k] /= total;
            }
            out.add(new FaceDetection(top.score(), cx / total, cy / total, w / total, h / total, kp));
            remaining = rest;
        }
        return out;
    }

    /**
     * Resamples the square {@code (x0, y0, side)} of {@code image} to {@code n × n} NHWC float32 in
     * [−1, 1]: each output pixel averages a grid of bilinear samples over its footprint (a box
     * filter when shrinking); outside the image is black, as in MediaPipe's letterboxing.
     */
    static void sample(RgbImage image, double x0, double y0, double side, int n, MemorySegment dst) {
        byte[] px = image.toRgbArray();
        int w = image.width();
        int h = image.height();
        double step = side / n;
        int taps = Math.clamp((int) Math.ceil(step), 1, 8);
        float[] acc = new float[3];
        long o = 0;
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < n; i++) {
                acc[0] = acc[1] = acc[2] = 0;
                for (int ty = 0; ty < taps; ty++) {
                    double sy = y0 + (j + (ty + 0.5) / taps) * step - 0.5;
                    for (int tx = 0; tx < taps; tx++) {
                        double sx = x0 + (i + (tx + 0.5) / taps) * step - 0.5;
                        bilinear(px, w, h, sx, sy, acc);
                    }
                }
                float norm = 1f / (taps * taps * 127.5f);
                for (int c = 0; c < 3; c++) {
                    dst.setAtIndex(ValueLayout.JAVA_FLOAT, o++, acc[c] * norm - 1f);
                }
            }
        }
    }

    private static void bilinear(byte[] px, int w, int h, double x, double y, float[] acc) {
        int xi = (int) Math.floor(x);
        int yi = (int) Math.floor(y);
        float fx = (float) (x - xi);
        float fy = (float) (y - yi);
        for (int c = 0; c < 3; c++) {
            float a = at(px, w, h, xi, yi, c);
            float b = at(px, w, h, xi + 1, yi, c);
            float d = at(px, w, h, xi, yi + 1, c);
            float e = at(px, w, h, xi + 1, yi + 1, c);
            acc[c] += (a + (b - a) * fx) * (1 - fy) + (d + (e - d) * fx) * fy;
        }
    }

    private static float at(byte[] px, int w, int h, int x, int y, int c) {
        if (x < 0 || y < 0 || x >= w || y >= h) {
            return 0f;
        }
        return px[(y * w + x) * 3 + c] & 0xFF;
    }
}
