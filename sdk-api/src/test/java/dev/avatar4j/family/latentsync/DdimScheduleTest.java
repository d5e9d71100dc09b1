package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.FloatRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Golden values printed by {@code tools/golden/ddim_golden.py} (a torch float32 replica of diffusers
 * 0.32.2 DDIMScheduler with LatentSync's config); the 20-step table is also docs/REFERENCE.md
 * Appendix A block G.
 */
class DdimScheduleTest {

    private static final float[] BETAS_0_499_999 = {0.0008499999530613422f, 0.004803793970495462f, 0.011999999172985554f};
    private static final float[] AC_0_1_499_998_999 = {0.9991499781608582f, 0.9982960224151611f, 0.2776694595813751f, 0.0047166962176561356f, 0.0046600960195064545f};
    private static final int[] T20 = {951, 901, 851, 801, 751, 701, 651, 601, 551, 501, 451, 401, 351, 301, 251, 201, 151, 101, 51, 1};
    private static final float[] AB20 = {0.00815499946475029f, 0.01400489080697298f, 0.023076975718140602f, 0.0365464985370636f, 0.05571899190545082f, 0.08191666752099991f, 0.116324782371521f, 0.15981633961200714f, 0.2127823829650879f, 0.27499887347221375f, 0.3455580174922943f, 0.4228813052177429f, 0.504818320274353f, 0.5888184309005737f, 0.6721511483192444f, 0.7521430850028992f, 0.8263989686965942f, 0.8929802179336548f, 0.950524091720581f, 0.9982960224151611f};
    private static final int[] T50 = {981, 961, 941, 921, 901, 881, 861, 841, 821, 801, 781, 761, 741, 721, 701, 681, 661, 641, 621, 601, 581, 561, 541, 521, 501, 481, 461, 441, 421, 401, 381, 361, 341, 321, 301, 281, 261, 241, 221, 201, 181, 161, 141, 121, 101, 81, 61, 41, 21, 1};
    private static final float[] AB50 = {0.005775496829301119f, 0.007281722966581583f, 0.009117304347455502f, 0.011337904259562492f, 0.01400489080697298f, 0.017185159027576447f, 0.020950807258486748f, 0.025378601625561714f, 0.03054925426840782f, 0.0365464985370636f, 0.043455976992845535f, 0.05136388912796974f, 0.0603555291891098f, 0.07051365077495575f, 0.08191666752099991f, 0.09463684260845184f, 0.108738474547863f, 0.12427596747875214f, 0.14129208028316498f, 0.15981633961200714f, 0.17986346781253815f, 0.20143233239650726f, 0.22450467944145203f, 0.249044731259346f, 0.27499887347221375f, 0.3022954761981964f, 0.330845445394516f, 0.36054304242134094f, 0.3912668526172638f, 0.4228813052177429f, 0.45523858070373535f, 0.4881802201271057f, 0.5215396285057068f, 0.5551443099975586f, 0.5888184309005737f, 0.6223851442337036f, 0.6556690335273743f, 0.6884987950325012f, 0.7207091450691223f, 0.7521430850028992f, 0.7826542258262634f, 0.8121074438095093f, 0.8403815627098083f, 0.8673696517944336f, 0.8929802179336548f, 0.917137622833252f, 0.9397827386856079f, 0.9608726501464844f, 0.980380654335022f, 0.9982960224151611f};
    private static final int[] T25 = {961, 921, 881, 841, 801, 761, 721, 681, 641, 601, 561, 521, 481, 441, 401, 361, 321, 281, 241, 201, 161, 121, 81, 41, 1};
    private static final float[] AB25 = {0.007281722966581583f, 0.011337904259562492f, 0.017185159027576447f, 0.025378601625561714f, 0.0365464985370636f, 0.05136388912796974f, 0.07051365077495575f, 0.09463684260845184f, 0.12427596747875214f, 0.15981633961200714f, 0.20143233239650726f, 0.249044731259346f, 0.3022954761981964f, 0.36054304242134094f, 0.4228813052177429f, 0.4881802201271057f, 0.5551443099975586f, 0.6223851442337036f, 0.6884987950325012f, 0.7521430850028992f, 0.8121074438095093f, 0.8673696517944336f, 0.917137622833252f, 0.9608726501464844f, 0.9982960224151611f};
    private static final float[] X = {0.0f, 0.8414709568023682f, 0.9092974066734314f, 0.14112000167369843f, -0.756802499294281f, -0.9589242935180664f, -0.279415488243103f, 0.6569865942001343f};
    private static final float[] EPS = {1.0f, 0.7648422122001648f, 0.1699671596288681f, -0.5048460364341736f, -0.9422223567962646f, -0.9364566802978516f, -0.4902609884738922f, 0.18651247024536133f};
    private static final float[] STEP_951 = {-0.3121451139450073f, 0.863982617855072f, 1.1385546922683716f, 0.34251904487609863f, -0.6976585984230042f, -0.9643334150314331f, -0.21313369274139404f, 0.8027438521385193f};
    private static final float[] STEP_1 = {-0.012141784653067589f, 0.832544207572937f, 0.9076225161552429f, 0.1473100781440735f, -0.7456859350204468f, -0.947964072227478f, -0.2735823094844818f, 0.6550029516220093f};

    @Test
    void betasAndAlphaBarTableMatchTorch() {
        float[] b = DdimSchedule.scaledLinearBetas(0.00085, 0.012, 1000);
        assertThat(b[0]).isEqualTo(BETAS_0_499_999[0]);
        assertThat(b[499]).isCloseTo(BETAS_0_499_999[1], within(BETAS_0_499_999[1] * 5e-7f));
        assertThat(b[999]).isEqualTo(BETAS_0_499_999[2]);
        float[] ac = DdimSchedule.latentSync(20).alphasCumprod();
        assertThat(ac).hasSize(1000);
        float[] picked = {ac[0], ac[1], ac[499], ac[998], ac[999]};
        // torch accumulates the float32 cumprod in double, as we do; its vectorised linspace rounds
        // some betas differently in the last bit, which moves alpha-bar by at most 2.5e-7 relative.
        for (int i = 0; i < picked.length; i++) {
            assertThat(picked[i]).as("ac index %d", i).isCloseTo(AC_0_1_499_998_999[i], relative(AC_0_1_499_998_999[i]));
        }
    }

    @Test
    void twentyStepsAreBlockG() {
        assertSchedule(DdimSchedule.latentSync(20), T20, AB20);
        DdimSchedule s = DdimSchedule.latentSync(20);
        // the last step lands on alpha-bar_0 (set_alpha_to_one = false), not 1
        assertThat(s.alphaBarPrev(19)).isCloseTo(0.9991499781608582f, relative(0.9991499781608582f));
        assertThat(s.alphaBarPrev(0)).isEqualTo(s.alphaBar(1));
    }

    @Test
    void fiftyAndTwentyFiveSteps() {
        assertSchedule(DdimSchedule.latentSync(50), T50, AB50);
        assertSchedule(DdimSchedule.latentSync(25), T25, AB25);
    }

    @Test
    void oneStepUsesTimestepOneAndFinalAlpha() {
        DdimSchedule s = DdimSchedule.latentSync(1);
        assertThat(s.timesteps()).containsExactly(1);
        assertThat(s.alphaBarPrev(0)).isCloseTo(0.9991499781608582f, relative(0.9991499781608582f));
    }

    @Test
    void stepMatchesTorchOnGoldenVectors() {
        DdimSchedule s = DdimSchedule.latentSync(20);
        // alpha-bar differs from torch's by <= 2 ulps (see DdimSchedule); 1/sqrt(0.008) amplifies that
        assertCloseAll(runStep(s, 0), STEP_951, 5e-7f);
        assertCloseAll(runStep(s, 19), STEP_1, 2e-7f);
        // with torch's exact alpha-bar values the update itself is bit-exact
        assertThat(runStep(AB20[0], AB20[1])).containsExactly(STEP_951);
        assertThat(runStep(AB20[19], 0.9991499781608582f)).containsExactly(STEP_1);
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> DdimSchedule.latentSync(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DdimSchedule.latentSync(1001)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DdimSchedule.create(1, 0.00085, 0.012, 1000, 1000, false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DdimSchedule.create(10, 0.1, 0.01, 1000, 1, false))
                .isInstanceOf(IllegalArgumentException.class);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment x = a.allocate(4);
            assertThatThrownBy(() -> DdimStep.apply(x, x, 0f, 0.5f, 1))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    /** Timesteps descend by trainTimesteps/N and every step moves to the next step's alpha-bar. */
    @Property(tries = 200)
    void timestepsAreLeadingSpacedAndChained(@ForAll @IntRange(min = 1, max = 999) int steps) {
        DdimSchedule s = DdimSchedule.latentSync(steps);
        int[] t = s.timesteps();
        assertThat(t).hasSize(steps);
        assertThat(t[steps - 1]).isEqualTo(1);
        for (int i = 0; i + 1 < steps; i++) {
            assertThat(t[i] - t[i + 1]).isEqualTo(1000 / steps);
            assertThat(s.alphaBarPrev(i)).isEqualTo(s.alphaBar(i + 1));
            assertThat(s.alphaBar(i)).isLessThan(s.alphaBar(i + 1));
        }
    }

    /** With ε equal to the true noise the step maps a noised x0 at ᾱ_t onto the same x0 noised at ᾱ_prev. */
    @Property(tries = 200)
    void exactNoiseReproducesTheForwardProcess(@ForAll @FloatRange(min = -3, max = 3) float x0,
                                               @ForAll @FloatRange(min = -3, max = 3) float e,
                                               @ForAll @IntRange(min = 0, max = 19) int step) {
        DdimSchedule s = DdimSchedule.latentSync(20);
        double a = s.alphaBar(step);
        double ap = s.alphaBarPrev(step);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(4);
            MemorySegment eps = arena.allocate(4);
            x.set(ValueLayout.JAVA_FLOAT, 0, (float) (Math.sqrt(a) * x0 + Math.sqrt(1 - a) * e));
            eps.set(ValueLayout.JAVA_FLOAT, 0, e);
            DdimStep.apply(x, eps, s, step, 1);
            double expected = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * e;
            // x0 is recovered by dividing by sqrt(alpha-bar_t) >= 0.09, which amplifies float32 error
            assertThat((double) x.get(ValueLayout.JAVA_FLOAT, 0)).isCloseTo(expected, within(2e-5));
        }
    }

    private static org.assertj.core.data.Offset<Float> relative(float expected) {
        return within(expected * 3e-7f);
    }

    private static void assertCloseAll(float[] actual, float[] expected, float tol) {
        assertThat(actual).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("index %d", i).isCloseTo(expected[i], within(tol));
        }
    }

    private static float[] runStep(DdimSchedule s, int step) {
        return runStep(s.alphaBar(step), s.alphaBarPrev(step));
    }

    private static float[] runStep(float alphaBar, float alphaBarPrev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment x = a.allocate(4L * X.length);
            MemorySegment eps = a.allocate(4L * X.length);
            MemorySegment.copy(X, 0, x, ValueLayout.JAVA_FLOAT, 0, X.length);
            MemorySegment.copy(EPS, 0, eps, ValueLayout.JAVA_FLOAT, 0, X.length);
            DdimStep.apply(x, eps, alphaBar, alphaBarPrev, X.length);
            return x.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    private static void assertSchedule(DdimSchedule s, int[] t, float[] ab) {
        assertThat(s.steps()).isEqualTo(t.length);
        assertThat(s.timesteps()).containsExactly(t);
        for (int i = 0; i < t.length; i++) {
            assertThat(s.timestep(i)).isEqualTo(t[i]);
            assertThat(s.alphaBar(i)).as("step %d", i).isCloseTo(ab[i], relative(ab[i]));
        }
    }
}
