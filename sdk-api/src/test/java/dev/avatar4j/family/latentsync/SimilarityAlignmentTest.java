package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import org.junit.jupiter.api.Test;

/** Golden matrices from {@code tools/golden/alignment_golden.py} (numpy replica with SVD). */
class SimilarityAlignmentTest {

    private static final double[][] FRAMES = {
        {100.0, 120.0, 180.0, 118.0, 141.0, 160.0},
        {102.5, 121.0, 181.0, 121.5, 143.0, 161.0},
        {150.0, 80.0, 130.0, 160.0, 190.0, 125.0},
        {180.0, 118.0, 100.0, 120.0, 141.0, 160.0},
    };
    private static final double[][] SMOOTHED = {
        {1.4165148965642977, -0.03519694026524084, -89.13963202928859, 0.03519694026524083, 1.4165148965642977, -118.23366763384425},
        {1.448737877461066, -0.004345479979918918, -100.40812783814526, 0.004345479979918913, 1.4487378774610662, -120.83596557874638},
        {-0.4346896542434602, 1.2323240683406838, 22.24638818517748, -1.2323240683406838, -0.4346896542434601, 321.3057069181078},
        {-1.4164986625805371, 0.03584432591286137, 298.82231738209623, -0.03584432591286137, -1.4164986625805371, 267.7271387032051},
    };
    private static final double[][] PLAIN = {
        {1.4165148965642977, -0.03519694026524084, -89.1147964093345, 0.03519694026524083, 1.4165148965642977, -118.19694689475229},
        {1.448737877461066, -0.004345479979918918, -100.37776785508242, 0.004345479979918913, 1.4487378774610662, -120.80636025565856},
        {-0.4346896542434602, 1.2323240683406838, 23.168617516692237, -1.2323240683406838, -0.4346896542434601, 320.6180119729948},
        {-1.4164986625805371, 0.03584432591286137, 299.0266317443625, -0.03584432591286137, -1.4164986625805371, 267.6189763054561},
    };

    private static AlignmentPoints points(double[] p) {
        return new AlignmentPoints(p[0], p[1], p[2], p[3], p[4], p[5]);
    }

    private static void assertMatrix(Affine m, double[] expected) {
        double[] a = m.toArray();
        for (int i = 0; i < 6; i++) {
            assertThat(a[i]).as("entry %d", i).isCloseTo(expected[i], within(1e-9));
        }
    }

    @Test
    void cropGeometryOfBothResolutions() {
        SimilarityAlignment a256 = new SimilarityAlignment(256);
        assertThat(a256.cropWidth()).isEqualTo(210);
        assertThat(a256.cropHeight()).isEqualTo(280);
        double[] t = a256.template();
        double[] expected = {47.6, 56.0, 162.4, 56.0, 105.0, 112.0};
        for (int i = 0; i < 6; i++) {
            assertThat(t[i]).isCloseTo(expected[i], within(1e-12));
        }
        SimilarityAlignment a512 = new SimilarityAlignment(512);
        assertThat(a512.cropWidth()).isEqualTo(420);
        assertThat(a512.cropHeight()).isEqualTo(560);
    }

    @Test
    void plainEstimatesMatchNumpyIncludingTheMirrorCase() {
        double[] template = new SimilarityAlignment(256).template();
        for (int i = 0; i < FRAMES.length; i++) {
            assertMatrix(SimilarityAlignment.estimate(FRAMES[i], template).transform(), PLAIN[i]);
        }
        // the det < 0 case still yields a proper rotation (positive determinant)
        Affine mirror = SimilarityAlignment.estimate(FRAMES[3], template).transform();
        assertThat(mirror.a() * mirror.e() - mirror.b() * mirror.d()).isPositive();
    }

    @Test
    void smoothedSequenceMatchesNumpy() {
        SimilarityAlignment a = new SimilarityAlignment(256);
        for (int i = 0; i < FRAMES.length; i++) {
            assertMatrix(a.next(points(FRAMES[i])), SMOOTHED[i]);
        }
        a.reset();
        assertMatrix(a.next(points(FRAMES[0])), SMOOTHED[0]);
    }

    @Test
    void rejectsDegeneratePoints() {
        assertThatThrownBy(() -> SimilarityAlignment.estimate(new double[] {1, 1, 1, 1, 1, 1},
                new SimilarityAlignment(256).template())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AlignmentPoints.fromEyes(3, 4, 3, 4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new AlignmentPoints(Double.NaN, 0, 1, 0, 0, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** Points that are an exact similarity image of the template are mapped back onto it exactly. */
    @Property(tries = 300)
    void recoversAnExactSimilarity(@ForAll @DoubleRange(min = 0.2, max = 5) double scale,
                                   @ForAll @DoubleRange(min = -3.14, max = 3.14) double angle,
                                   @ForAll @DoubleRange(min = -500, max = 2000) double tx,
                                   @ForAll @DoubleRange(min = -500, max = 2000) double ty) {
        double[] t = new SimilarityAlignment(512).template();
        double c = scale * Math.cos(angle);
        double s = scale * Math.sin(angle);
        double[] p = new double[6];
        for (int i = 0; i < 3; i++) {
            p[2 * i] = c * t[2 * i] - s * t[2 * i + 1] + tx;
            p[2 * i + 1] = s * t[2 * i] + c * t[2 * i + 1] + ty;
        }
        SimilarityAlignment.Estimate e = SimilarityAlignment.estimate(p, t);
        for (int i = 0; i < 3; i++) {
            assertThat(e.transform().applyX(p[2 * i], p[2 * i + 1])).isCloseTo(t[2 * i], within(1e-6));
            assertThat(e.transform().applyY(p[2 * i], p[2 * i + 1])).isCloseTo(t[2 * i + 1], within(1e-6));
        }
        if (angle == 0) {
            // the smoothing bias compares unrotated normalised points: zero only without rotation
            assertThat(e.noseBiasX()).isCloseTo(0, within(1e-9));
        }
    }

    /** Points made from two eyes are a similarity image of the template, whatever the roll. */
    @Property(tries = 300)
    void pointsFromEyesFitTheTemplateExactly(@ForAll @DoubleRange(min = 0, max = 1000) double lx,
                                             @ForAll @DoubleRange(min = 0, max = 1000) double ly,
                                             @ForAll @DoubleRange(min = 10, max = 400) double dist,
                                             @ForAll @DoubleRange(min = -1.5, max = 1.5) double roll) {
        AlignmentPoints p = AlignmentPoints.fromEyes(lx, ly, lx + dist * Math.cos(roll), ly + dist * Math.sin(roll));
        double[] t = new SimilarityAlignment(256).template();
        Affine m = SimilarityAlignment.estimate(p.toArray(), t).transform();
        double[] q = p.toArray();
        for (int i = 0; i < 3; i++) {
            assertThat(m.applyX(q[2 * i], q[2 * i + 1])).isCloseTo(t[2 * i], within(1e-6));
            assertThat(m.applyY(q[2 * i], q[2 * i + 1])).isCloseTo(t[2 * i + 1], within(1e-6));
        }
        // the eyes land level in the crop, below the brows
        double leftEyeY = m.applyY(lx, ly);
        assertThat(leftEyeY).isCloseTo(t[1] + AlignmentPoints.BROW_ABOVE_EYES * (t[2] - t[0]), within(1e-6));
    }

    @Test
    void upToUnitScaleInverseAndComposition() {
        Affine m = new Affine(0.61, -0.12, -12.5, 0.12, 0.61, -9.25);
        Affine id = m.then(m.inverse());
        assertMatrix(id, new double[] {1, 0, 0, 0, 1, 0});
        Affine r = Affine.resize(210, 280, 256, 256);
        assertThat(r.applyX(-0.5, 0)).isCloseTo(-0.5, within(1e-12));   // left edge stays the left edge
        assertThat(r.applyX(209.5, 0)).isCloseTo(255.5, within(1e-12));
    }
}
