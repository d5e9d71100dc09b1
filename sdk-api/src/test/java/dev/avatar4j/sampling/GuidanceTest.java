package dev.avatar4j.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.FloatRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class GuidanceTest {

    private static MemorySegment segment(Arena arena, float... values) {
        return arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
    }

    private static float[] floats(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_FLOAT);
    }

    @Test
    void inferenceShDefaultsGiveMinusFourTwoThree() {
        Guidance g = Guidance.textAudio(3.0, 5.0);
        assertThat(g.branches()).isEqualTo(3);
        assertThat(new float[] {g.coefficient(0), g.coefficient(1), g.coefficient(2)})
                .containsExactly(-4f, 2f, 3f);
        try (Arena arena = Arena.ofConfined()) {
            // branch-major [v_u | v_a | v_c], n = 4
            MemorySegment batched = segment(arena, 1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 300, 400);
            MemorySegment out = arena.allocate(4 * Float.BYTES);
            g.combine(batched, 4, out);
            // -4 v_u + 2 v_a + 3 v_c
            assertThat(floats(out)).containsExactly(316f, 632f, 948f, 1264f);
        }
    }

    @Test
    void matchesTheNestedReferenceFormula() {
        // v_u + s_a (v_a - v_u) + s_t (v_c - v_a) with the argparse defaults s_t = 5, s_a = 4.
        Guidance g = Guidance.textAudio(5.0, 4.0);
        float vu = 0.25f;
        float va = -1.5f;
        float vc = 2.0f;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(Float.BYTES);
            g.combine(segment(arena, vu, va, vc), 1, out);
            assertThat(floats(out)[0]).isEqualTo(vu + 4f * (va - vu) + 5f * (vc - va));
        }
    }

    @Property(tries = 200)
    void cfgEqualsTextAudioWithEqualScales(@ForAll @DoubleRange(min = -10, max = 20) double s,
                                           @ForAll @Size(12) float[] raw) {
        float[] v = new float[12];
        for (int i = 0; i < v.length; i++) {
            v[i] = Float.isFinite(raw[i]) ? raw[i] % 1000f : 0f; // keep products finite
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment three = segment(arena, v); // [v_u | v_a | v_c], n = 4
            MemorySegment two = arena.allocate(8 * Float.BYTES); // [v_u | v_c]
            MemorySegment.copy(three, 0, two, 0, 16);
            MemorySegment.copy(three, 32, two, 16, 16);
            MemorySegment a = arena.allocate(16);
            MemorySegment b = arena.allocate(16);
            Guidance.textAudio(s, s).combine(three, 4, a);
            Guidance.cfg(s).combine(two, 4, b);
            float[] fa = floats(a);
            float[] fb = floats(b);
            for (int i = 0; i < 4; i++) {
                assertThat(fa[i] == fb[i]).as("element %d: %s vs %s", i, fa[i], fb[i]).isTrue();
            }
        }
    }

    @Property(tries = 50)
    void noneIsTheIdentity(@ForAll @Size(min = 1, max = 20) float[] v) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate((long) v.length * Float.BYTES);
            Guidance.none().combine(segment(arena, v), v.length, out);
            assertThat(floats(out)).containsExactly(v);
        }
    }

    @Property(tries = 50)
    void generalPathEqualsThreeBranchFastPath(@ForAll @Size(15) float[] raw,
                                              @ForAll @FloatRange(min = -8, max = 8) float c0,
                                              @ForAll @FloatRange(min = -8, max = 8) float c1,
                                              @ForAll @FloatRange(min = -8, max = 8) float c2) {
        float[] v = new float[15];
        for (int i = 0; i < v.length; i++) {
            v[i] = Float.isFinite(raw[i]) ? raw[i] % 1e6f : 1f;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = segment(arena, v);
            MemorySegment fast = arena.allocate(5 * Float.BYTES);
            Guidance.of(c0, c1, c2).combine(in, 5, fast);
            float[] expected = new float[5];
            for (int i = 0; i < 5; i++) {
                float acc = c0 * v[i];
                acc += c1 * v[5 + i];
                acc += c2 * v[10 + i];
                expected[i] = acc;
            }
            assertThat(floats(fast)).containsExactly(expected);
            // Four branches, the last with coefficient 0, exercise the general loop.
            MemorySegment in4 = arena.allocate(20 * Float.BYTES);
            MemorySegment.copy(in, 0, in4, 0, 60);
            MemorySegment general = arena.allocate(5 * Float.BYTES);
            Guidance.of(c0, c1, c2, 0f).combine(in4, 5, general);
            // adding 0·v turns −0.0 into +0.0, so compare numerically (−0.0 == +0.0), exactly otherwise
            float[] got = floats(general);
            for (int i = 0; i < 5; i++) {
                assertThat(got[i] == expected[i]).as("element %d: %s vs %s", i, got[i], expected[i]).isTrue();
            }
        }
    }

    @Test
    void outMayAliasTheFirstBranch() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment batched = segment(arena, 1, 2, 10, 20, 100, 200);
            Guidance.textAudio(3, 5).combine(batched, 2, batched);
            assertThat(floats(batched)).containsExactly(-4 + 20 + 300, -8 + 40 + 600, 10, 20, 100, 200);
        }
    }

    @Test
    void rejectsTooSmallSegmentsAndBadScales() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment small = arena.allocate(8 * Float.BYTES);
            MemorySegment out = arena.allocate(4 * Float.BYTES);
            assertThatThrownBy(() -> Guidance.textAudio(3, 5).combine(small, 4, out))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 branches");
            assertThatThrownBy(() -> Guidance.cfg(2).combine(small, 4, arena.allocate(4)))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> Guidance.cfg(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Guidance.of()).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void cfgAndNoneCoefficients() {
        Guidance cfg = Guidance.cfg(1.5);
        assertThat(cfg.branches()).isEqualTo(2);
        assertThat(cfg.coefficient(0)).isEqualTo(-0.5f);
        assertThat(cfg.coefficient(1)).isEqualTo(1.5f);
        assertThat(Guidance.none().branches()).isEqualTo(1);
        assertThat(Guidance.none().coefficient(0)).isEqualTo(1f);
        assertThat(Guidance.textAudio(3, 5)).isEqualTo(Guidance.of(-4f, 2f, 3f));
    }

    @Property(tries = 30)
    void blockedThreeBranchPathEqualsTheScalarFormulaExactly(
            @ForAll @net.jqwik.api.constraints.IntRange(min = 1, max = 3 * 1024 + 37) int n,
            @ForAll long seed, @ForAll boolean inPlace) {
        // spans several 1024-float blocks with a ragged tail; in place = out is branch 0 itself
        Guidance g = Guidance.textAudio(3.0, 5.0);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        float[] v = new float[3 * n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() * 3);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment batched = segment(arena, v);
            MemorySegment out = inPlace ? batched : arena.allocate((long) n * Float.BYTES);
            g.combine(batched, n, out);
            for (int i = 0; i < n; i++) {
                float expect = g.coefficient(0) * v[i];
                expect += g.coefficient(1) * v[n + i];
                expect += g.coefficient(2) * v[2 * n + i];
                float got = out.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(expect)) {
                    assertThat(got).as("element %d of %d", i, n).isEqualTo(expect);
                }
            }
        }
    }
}
