package dev.avatar4j.face;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Golden numbers for BlazeFace output decoding and MediaPipe's weighted NMS. */
class FaceDetectorDecodeTest {
    private static final int N = 896;

    @Test
    void decodesOffsetsAgainstTheAnchorInUnitsOfTheInputSize() {
        float[] logits = new float[N];
        java.util.Arrays.fill(logits, -10f);
        float[] raw = new float[N * 16];
        logits[2] = 2f; // anchor 2: centre (0.09375, 0.03125)
        float[] r = {6.4f, -12.8f, 25.6f, 38.4f, 0f, 0f, 12.8f, 0f, 6.4f, 6.4f, 0f, 12.8f, -6.4f, 0f, 19.2f, 0f};
        System.arraycopy(r, 0, raw, 2 * 16, 16);
        List<FaceDetection> d = FaceDetector.decode(logits, raw, 0.5);
        assertThat(d).hasSize(1);
        FaceDetection f = d.getFirst();
        assertThat(f.score()).isCloseTo(1 / (1 + Math.exp(-2)), within(1e-12)); // 0.880797…
        assertThat(f.cx()).isCloseTo(0.09375 + 0.05, within(1e-7));
        assertThat(f.cy()).isCloseTo(0.03125 - 0.1, within(1e-7));
        assertThat(f.w()).isCloseTo(0.2, within(1e-7));
        assertThat(f.h()).isCloseTo(0.3, within(1e-7));
        assertThat(f.x(FaceDetection.RIGHT_EYE)).isCloseTo(0.09375, within(1e-7));
        assertThat(f.x(FaceDetection.LEFT_EYE)).isCloseTo(0.19375, within(1e-7));
        assertThat(f.y(FaceDetection.NOSE)).isCloseTo(0.08125, within(1e-7));
        assertThat(f.y(FaceDetection.MOUTH)).isCloseTo(0.13125, within(1e-7));
        assertThat(f.x(FaceDetection.RIGHT_EAR)).isCloseTo(0.04375, within(1e-7));
        assertThat(f.x(FaceDetection.LEFT_EAR)).isCloseTo(0.24375, within(1e-7));
    }

    @Test
    void scoresBelowTheFloorAreDroppedAndHugeLogitsDoNotOverflow() {
        float[] logits = new float[N];
        java.util.Arrays.fill(logits, -3f); // sigmoid 0.047
        logits[895] = 1e6f;
        List<FaceDetection> d = FaceDetector.decode(logits, new float[N * 16], 0.1);
        assertThat(d).hasSize(1);
        assertThat(d.getFirst().score()).isEqualTo(1.0);
        assertThat(d.getFirst().cx()).isCloseTo(0.9375, within(1e-7));
    }

    private static FaceDetection box(double score, double cx, double cy, double size, double kp) {
        double[] k = new double[12];
        java.util.Arrays.fill(k, kp);
        return new FaceDetection(score, cx, cy, size, size, k);
    }

    @Test
    void weightedNmsAveragesOverlappingBoxesByScoreAndKeepsTheTopScore() {
        FaceDetection a = box(0.9, 0.50, 0.50, 0.2, 1.0);
        FaceDetection b = box(0.6, 0.52, 0.50, 0.2, 2.0); // IoU with a = 0.818
        FaceDetection c = box(0.7, 0.10, 0.10, 0.1, 3.0); // disjoint
        FaceDetection e = box(0.5, 0.60, 0.50, 0.2, 4.0); // IoU with a = 1/3 > 0.3
        List<FaceDetection> out = FaceDetector.weightedNms(List.of(c, b, e, a), 0.3);
        assertThat(out).hasSize(2);
        FaceDetection m = out.getFirst();
        assertThat(m.score()).isEqualTo(0.9);
        double total = 0.9 + 0.6 + 0.5;
        assertThat(m.cx()).isCloseTo((0.9 * 0.50 + 0.6 * 0.52 + 0.5 * 0.60) / total, within(1e-12)); // 0.531
        assertThat(m.x(FaceDetection.MOUTH)).isCloseTo((0.9 * 1 + 0.6 * 2 + 0.5 * 4) / total, within(1e-12)); // 2.05
        assertThat(out.get(1).score()).isEqualTo(0.7);
        assertThat(out.get(1).cx()).isCloseTo(0.1, within(1e-15));
        assertThat(out.get(1).x(FaceDetection.MOUTH)).isCloseTo(3.0, within(1e-15));
    }

    @Test
    void weightedNmsKeepsBoxesAtOrBelowTheThresholdApart() {
        FaceDetection a = box(0.9, 0.50, 0.50, 0.2, 1.0);
        FaceDetection far = box(0.8, 0.66, 0.50, 0.2, 2.0); // IoU = 0.111
        List<FaceDetection> out = FaceDetector.weightedNms(List.of(a, far), 0.3);
        assertThat(out).extracting(FaceDetection::score).containsExactly(0.9, 0.8);
        assertThat(out.get(0).cx()).isEqualTo(0.5);
    }

    @Test
    void iouOfKnownBoxes() {
        assertThat(box(1, 0.5, 0.5, 0.2, 0).iou(box(1, 0.6, 0.5, 0.2, 0))).isCloseTo(1.0 / 3, within(1e-12));
        assertThat(box(1, 0.5, 0.5, 0.2, 0).iou(box(1, 0.9, 0.5, 0.2, 0))).isZero();
    }
}
