package dev.avatar4j.family.stableavatar;

import dev.avatar4j.sampling.SigmaSchedule;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Golden values: docs/REFERENCE.md Appendix A block A (shift 5, 1000 training steps). */
class FlowMatchScheduleTest {

    private static final double TS_TOL = 1e-4;
    private static final double SIGMA_TOL = 1e-7;

    private static SigmaSchedule reference(int steps) {
        return FlowMatchSchedule.create(steps, 5.0, ShiftMode.DIFFUSERS_0_30_1, 1000);
    }

    private static void assertPrefix(float[] actual, double tol, double... expected) {
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("index %d", i).isCloseTo(expected[i], within(tol));
        }
    }

    private static void assertSuffix(float[] actual, double tol, double... expected) {
        int off = actual.length - expected.length;
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[off + i]).as("index %d", off + i).isCloseTo(expected[i], within(tol));
        }
    }

    @Test
    void fiftyStepsMatchBlockA() {
        SigmaSchedule s = reference(50);
        assertThat(s.steps()).isEqualTo(50);
        assertThat(s.timesteps()).hasSize(50);
        assertThat(s.sigmas()).hasSize(51);
        assertPrefix(s.timesteps(), TS_TOL, 1000., 995.8716, 991.6046, 987.19183, 982.6258, 977.89825);
        assertSuffix(s.timesteps(), TS_TOL, 260.76187, 192.8036, 114.819466, 24.414066);
        assertPrefix(s.sigmas(), SIGMA_TOL, 1., 0.9958716, 0.9916046, 0.98719186, 0.9826258, 0.97789824);
        assertSuffix(s.sigmas(), SIGMA_TOL, 0.26076186, 0.1928036, 0.11481947, 0.02441407, 0.);
        assertThat((double) s.dt(0)).isCloseTo(-0.00412840, within(1e-8));
        assertThat((double) s.dt(49)).isCloseTo(-0.02441407, within(1e-8));
    }

    @Test
    void fiftyStepsAreBitExactAgainstNumpyReplica() {
        // Full float32 tables printed by compute_vectors.py's sa_schedule(50) (repr of each float32).
        float[] sigmas = {1.0f, 0.9958716034889221f, 0.9916046261787415f, 0.9871918559074402f,
            0.9826257824897766f, 0.9778982400894165f, 0.9730004668235779f, 0.9679232239723206f,
            0.9626563191413879f, 0.9571889638900757f, 0.9515095353126526f, 0.945605456829071f,
            0.9394630789756775f, 0.9330677390098572f, 0.9264034032821655f, 0.9194527864456177f,
            0.9121970534324646f, 0.904615581035614f, 0.8966860771179199f, 0.8883838057518005f,
            0.8796820640563965f, 0.8705511689186096f, 0.8609585762023926f, 0.8508684039115906f,
            0.8402409553527832f, 0.8290320634841919f, 0.8171926736831665f, 0.8046680092811584f,
            0.791396975517273f, 0.7773106098175049f, 0.762331485748291f, 0.7463719248771667f,
            0.729332447052002f, 0.7110996246337891f, 0.691543459892273f, 0.6705145239830017f,
            0.6478399038314819f, 0.6233185529708862f, 0.5967152714729309f, 0.5677531957626343f,
            0.5361040234565735f, 0.5013756155967712f, 0.46309566497802734f, 0.4206899404525757f,
            0.37345343828201294f, 0.3205108940601349f, 0.2607618570327759f, 0.19280360639095306f,
            0.1148194670677185f, 0.0244140662252903f, 0.0f};
        float[] timesteps = {1000.0f, 995.87158203125f, 991.6046142578125f, 987.1918334960938f,
            982.6257934570312f, 977.8982543945312f, 973.00048828125f, 967.9232177734375f,
            962.6563110351562f, 957.18896484375f, 951.509521484375f, 945.60546875f, 939.4630737304688f,
            933.0677490234375f, 926.4033813476562f, 919.4527587890625f, 912.1970825195312f,
            904.6156005859375f, 896.6860961914062f, 888.3837890625f, 879.6820678710938f,
            870.5511474609375f, 860.9585571289062f, 850.868408203125f, 840.240966796875f,
            829.0320434570312f, 817.1926879882812f, 804.6680297851562f, 791.39697265625f,
            777.3106079101562f, 762.3314819335938f, 746.3719482421875f, 729.3324584960938f,
            711.099609375f, 691.54345703125f, 670.5145263671875f, 647.8399047851562f, 623.3185424804688f,
            596.7152709960938f, 567.753173828125f, 536.10400390625f, 501.3756103515625f,
            463.0956726074219f, 420.68994140625f, 373.45343017578125f, 320.5108947753906f,
            260.7618713378906f, 192.80360412597656f, 114.81946563720703f, 24.414066314697266f};
        SigmaSchedule s = reference(50);
        assertThat(s.sigmas()).containsExactly(sigmas);
        assertThat(s.timesteps()).containsExactly(timesteps);
    }

    @Test
    void thirtyStepsMatchBlockA() {
        SigmaSchedule s = reference(30);
        assertPrefix(s.timesteps(), TS_TOL, 1000., 992.9441, 985.4784, 977.566, 969.1658, 960.2309);
        assertSuffix(s.timesteps(), TS_TOL, 376.8832, 284.308, 169.77324, 24.414066);
        assertThat(s.sigma(30)).isZero();
    }

    @Test
    void tenStepsMatchBlockA() {
        SigmaSchedule s = reference(10);
        assertPrefix(s.timesteps(), TS_TOL, 1000., 975.743, 946.27295, 909.70715, 863.13196, 801.7857,
                717.31744, 593.6192, 395.09537, 24.414066);
        assertThat(s.sigmas()).containsExactly(1.0f, 0.9757429957389832f, 0.9462729692459106f,
                0.9097071290016174f, 0.8631319403648376f, 0.8017857074737549f, 0.7173174619674683f,
                0.5936192274093628f, 0.3950953781604767f, 0.0244140662252903f, 0.0f);
    }

    @Test
    void doubleShiftIsNeitherSingleShiftNorNaiveLinspace() {
        // §5.1: the final non-zero σ is 0.0244 (double shift), not 0.0050 (single) nor 0.0926
        // (single shift of linspace(1, 0, N+1)[:-1], the "contrast" value of block A).
        double naive = 5 * 0.02 / (1 + 4 * 0.02);
        assertThat(naive).isCloseTo(0.0926, within(1e-4));
        float last = reference(50).sigma(49);
        assertThat((double) last).isCloseTo(0.02441407, within(SIGMA_TOL));
        assertThat((double) last).isNotCloseTo(naive, within(0.01));

        SigmaSchedule single = FlowMatchSchedule.create(50, 5.0, ShiftMode.SINGLE, 1000);
        assertThat((double) single.sigma(49)).isCloseTo(0.0049800798, within(1e-9));
        assertThat(single.sigma(0)).isEqualTo(1f);
        assertThat((double) single.sigma(1)).isCloseTo(0.99585485, within(SIGMA_TOL));
        assertThat((double) single.timesteps()[49]).isCloseTo(4.9800797, within(1e-5));
    }

    @Test
    void dtIsTheFloat32DifferenceAndSumsToMinusOne() {
        SigmaSchedule s = reference(30);
        double sum = 0;
        for (int i = 0; i < s.steps(); i++) {
            assertThat(s.dt(i)).isEqualTo(s.sigma(i + 1) - s.sigma(i)).isNegative();
            sum += s.dt(i);
        }
        assertThat(sum).isCloseTo(-1.0, within(1e-6));
        assertThatThrownBy(() -> s.dt(30)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void oneStepGoesStraightFromOneToZero() {
        SigmaSchedule s = reference(1);
        assertThat(s.sigmas()).containsExactly(1f, 0f);
        assertThat(s.timesteps()).containsExactly(1000f);
        assertThat(s.dt(0)).isEqualTo(-1f);
    }

    @Test
    void accessorsReturnCopies() {
        SigmaSchedule s = reference(10);
        s.sigmas()[0] = 42f;
        s.timesteps()[0] = 42f;
        assertThat(s.sigma(0)).isEqualTo(1f);
        assertThat(s.timestep(0)).isEqualTo(1000f);
    }

    @Test
    void rejectsInvalidArguments() {
        assertThatThrownBy(() -> FlowMatchSchedule.create(0, 5, ShiftMode.SINGLE, 1000))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("steps");
        assertThatThrownBy(() -> FlowMatchSchedule.create(10, 0, ShiftMode.SINGLE, 1000))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("shift");
        assertThatThrownBy(() -> FlowMatchSchedule.create(10, Double.NaN, ShiftMode.SINGLE, 1000))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FlowMatchSchedule.create(10, 5, null, 1000))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FlowMatchSchedule.create(10, 5, ShiftMode.SINGLE, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
