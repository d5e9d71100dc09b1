package dev.avatar4j.family.longcat;

import dev.avatar4j.sampling.SigmaSchedule;
import dev.avatar4j.sampling.EulerStep;
import dev.avatar4j.sampling.Guidance;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.avatar4j.testing.Golden;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Golden values: docs/REFERENCE.md Appendix A block I (computed by compute_vectors.py) and the
 * full float32 tables of tools/longcat_golden.py.
 */
class LongCatScheduleTest {

    private static final Golden GOLDEN = Golden.load("/golden/longcat-golden.txt");

    @Test
    void distilledShift7MatchesBlockI() {
        SigmaSchedule s = LongCatSchedule.distilled(8, 7.0);
        assertThat(s.steps()).isEqualTo(8);
        double[] blockI = {1, 0.97997755, 0.9544875, 0.9209361, 0.8747809, 0.8072772, 0.69915766, 0.49799198, 0};
        for (int i = 0; i < blockI.length; i++) {
            assertThat((double) s.sigma(i)).as("sigma %d", i).isCloseTo(blockI[i], within(1e-7));
        }
        assertThat(s.timestep(0)).isEqualTo(1000f);
    }

    @Test
    void distilledShift12MatchesBlockI() {
        SigmaSchedule s = LongCatSchedule.distilled(8, 12.0);
        double[] blockI = {1, 0.988222, 0.9729379, 0.9523083, 0.92293465, 0.87776256, 0.79935795, 0.629708, 0};
        for (int i = 0; i < blockI.length; i++) {
            assertThat((double) s.sigma(i)).as("sigma %d", i).isCloseTo(blockI[i], within(1e-7));
        }
    }

    @Test
    void distilledShiftOneIsTheRawTable() {
        // shift 1 leaves σ unchanged: the raw 1 − idx/999 table of block I
        SigmaSchedule s = LongCatSchedule.distilled(8, 1.0);
        double[] raw = {1, 0.8748749, 0.7497497, 0.6246246, 0.4994995, 0.37437436, 0.24924925, 0.12412412};
        for (int i = 0; i < raw.length; i++) {
            assertThat((double) s.sigma(i)).isCloseTo(raw[i], within(1e-7));
        }
    }

    @ParameterizedTest
    @CsvSource({"8,7", "8,12", "8,5", "4,7"})
    void distilledTablesAreBitExact(int n, double shift) {
        String key = "distilled.n" + n + ".shift" + (int) shift;
        SigmaSchedule s = LongCatSchedule.distilled(n, shift);
        assertThat(s.sigmas()).containsExactly(GOLDEN.floats(key + ".sigmas"));
        assertThat(s.timesteps()).containsExactly(GOLDEN.floats(key + ".timesteps"));
        assertThat(LongCatSchedule.distilled(n, 1.0).sigmas())
                .startsWith(GOLDEN.floats(key + ".raw"));
    }

    @Test
    void fullScheduleMatchesBlockI() {
        SigmaSchedule s = LongCatSchedule.full(50, 7.0);
        double[] first = {1, 0.9970357, 0.99396396, 0.990779, 0.9874743};
        for (int i = 0; i < first.length; i++) {
            assertThat((double) s.sigma(i)).isCloseTo(first[i], within(1e-7));
        }
        double[] last = {0.23382069, 0.13268703, 0.00695825};
        for (int i = 0; i < last.length; i++) {
            assertThat((double) s.sigma(47 + i)).isCloseTo(last[i], within(1e-7));
        }
        assertThat(s.sigma(50)).isZero();
    }

    @ParameterizedTest
    @CsvSource({"50,7", "30,12", "8,7"})
    void fullAndEnhanceHfTablesAreBitExact(int n, double shift) {
        String key = "full.n" + n + ".shift" + (int) shift;
        SigmaSchedule s = LongCatSchedule.full(n, shift);
        assertThat(s.sigmas()).containsExactly(GOLDEN.floats(key + ".sigmas"));
        assertThat(s.timesteps()).containsExactly(GOLDEN.floats(key + ".timesteps"));
        SigmaSchedule hf = LongCatSchedule.enhanceHighFrequency(s);
        assertThat(hf.timesteps()).containsExactly(GOLDEN.floats(key + ".hf.timesteps"));
        assertThat(hf.sigmas()).containsExactly(GOLDEN.floats(key + ".hf.sigmas"));
    }

    @Test
    void enhanceHfTailIsBlockI() {
        SigmaSchedule hf = LongCatSchedule.enhanceHighFrequency(LongCatSchedule.full(50, 7.0));
        float[] ts = hf.timesteps();
        float[] tail = java.util.Arrays.copyOfRange(ts, ts.length - 10, ts.length);
        assertThat(tail).containsExactly(500f, 450f, 400f, 350f, 300f, 250f, 200f, 150f, 100f, 50f);
        assertThat(ts[ts.length - 11]).isGreaterThan(500f);
        assertThat(hf.sigma(hf.steps())).isZero();
        assertThat(hf.sigma(hf.steps() - 1)).isEqualTo(0.05f);
    }

    @Test
    void minusDtAppliesTheNegatedOutput() {
        SigmaSchedule s = LongCatSchedule.distilled(8, 7.0);
        try (Arena arena = Arena.ofConfined()) {
            int n = 5;
            MemorySegment x = arena.allocate(ValueLayout.JAVA_FLOAT, n);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, n);
            float[] xs = {0.3f, -1.25f, 2f, 1e-3f, -0.7f};
            float[] os = {1.1f, 0.5f, -3f, 0.25f, 7.5f};
            for (int i = 0; i < n; i++) {
                x.setAtIndex(ValueLayout.JAVA_FLOAT, i, xs[i]);
                out.setAtIndex(ValueLayout.JAVA_FLOAT, i, os[i]);
            }
            for (int step = 0; step < s.steps(); step++) {
                float dt = s.sigma(step + 1) - s.sigma(step);
                assertThat(s.dt(step)).isNegative().isEqualTo(dt); // one sign convention with StableAvatar
                EulerStep.apply(x, out, -s.dt(step), n); // as LongCatEngine steps the raw output
                for (int i = 0; i < n; i++) {
                    xs[i] = xs[i] + dt * (-os[i]); // the reference: x + dt·(−out)
                    assertThat(x.getAtIndex(ValueLayout.JAVA_FLOAT, i)).isEqualTo(xs[i]);
                }
            }
        }
        assertThatThrownBy(() -> s.dt(8)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void distilledGuidanceIsOneBranchAndFullGuidanceIsTheThreeBranchRule() {
        // out = u + s_t(c − u_text) + s_a(u_text − u) = (1 − s_a)u + (s_a − s_t)u_text + s_t c
        Guidance g = Guidance.textAudio(4.0, 4.0);
        assertThat(g.branches()).isEqualTo(3);
        float u = 0.3f;
        float ut = -1.1f;
        float c = 2.5f;
        double nested = u + 4.0 * (c - ut) + 4.0 * (ut - u);
        double combined = g.coefficient(0) * u + g.coefficient(1) * ut + g.coefficient(2) * c;
        assertThat(combined).isCloseTo(nested, within(1e-5));
        Guidance g2 = Guidance.textAudio(3.0, 5.0);
        double nested2 = u + 3.0 * (c - ut) + 5.0 * (ut - u);
        assertThat((double) (g2.coefficient(0) * u + g2.coefficient(1) * ut + g2.coefficient(2) * c))
                .isCloseTo(nested2, within(1e-5));
        assertThat(Guidance.none().branches()).isEqualTo(1);
    }

    @Test
    void rejectsInvalidArguments() {
        assertThatThrownBy(() -> LongCatSchedule.distilled(0, 7)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LongCatSchedule.distilled(1001, 7)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LongCatSchedule.distilled(8, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LongCatSchedule.distilled(8, Double.POSITIVE_INFINITY))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LongCatSchedule.full(0, 7)).isInstanceOf(IllegalArgumentException.class);
        assertThat(LongCatSchedule.full(1, 7).sigmas()).containsExactly(1f, 0f);
    }
}
