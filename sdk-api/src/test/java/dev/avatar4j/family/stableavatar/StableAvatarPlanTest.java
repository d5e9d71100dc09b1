package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.avatar4j.BundleException;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.bundle.BundleManifest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link StableAvatarPlan} against the golden numbers of docs/REFERENCE.md Appendix A: block A
 * (schedule), D (overlap weights), E (window layouts), L (audio slices), plus the cost and memory
 * figures derived from the window layout.
 */
class StableAvatarPlanTest {

    private static final int SR = 16_000;

    /** The released model's geometry (512², 81-frame windows, 84-frame audio slices). */
    static StableAvatarConfig config(TailMode tail) {
        return new StableAvatarConfig(25, 512, 512, 81, 4, 8, 16, new int[] {1, 2, 2}, SR, 84, 5.0,
                ShiftMode.DIFFUSERS_0_30_1, 1000, 50, 3.0, 5.0, 5, "log", tail, "utf8-bytes", 512, List.of(), List.of());
    }

    private static StableAvatarPlan plan(double seconds, int steps, int overlap, String weights) {
        return StableAvatarPlan.create(config(TailMode.REFERENCE), Math.round(seconds * SR), steps, overlap, weights,
                512, 512);
    }

    private static List<List<Integer>> ranges(StableAvatarPlan p) {
        return p.windows().stream().map(w -> List.of(w.start(), w.end())).toList();
    }

    private static void assertClose(float[] actual, double tol, double... expected) {
        assertThat(actual).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("index %d", i).isCloseTo(expected[i], within(tol));
        }
    }

    // --- block A: schedule through the plan ------------------------------------------------------------

    @Test
    void tenStepScheduleMatchesBlockA() {
        StableAvatarPlan p = plan(5, 10, 5, "log");
        assertClose(p.timesteps(), 1e-4, 1000., 975.743, 946.27295, 909.70715, 863.13196, 801.7857, 717.31744,
                593.6192, 395.09537, 24.414066);
        float[] sigmas = p.sigmas();
        assertThat(sigmas).hasSize(11);
        assertThat(sigmas[10]).isZero();
        for (int i = 0; i < 10; i++) {
            assertThat(p.timesteps()[i]).isEqualTo(sigmas[i] * 1000f); // float32 product, as torch
        }
        assertThat(p.steps()).isEqualTo(10);
        assertThat(p.shift()).isEqualTo(5.0);
        assertThat(p.shiftModeName()).isEqualTo("diffusers-0.30.1");
    }

    @Test
    void thirtyStepScheduleMatchesBlockA() {
        float[] t = plan(5, 30, 5, "log").timesteps();
        assertThat(t).hasSize(30);
        assertClose(new float[] {t[0], t[1], t[2], t[3], t[4], t[5]}, 1e-4,
                1000., 992.9441, 985.4784, 977.566, 969.1658, 960.2309);
        assertClose(new float[] {t[26], t[27], t[28], t[29]}, 1e-4, 376.8832, 284.308, 169.77324, 24.414066);
    }

    @Test
    void fiftyStepScheduleMatchesBlockA() {
        StableAvatarPlan p = plan(5, 50, 5, "log");
        float[] t = p.timesteps();
        float[] s = p.sigmas();
        assertThat(t).hasSize(50);
        assertThat(s).hasSize(51);
        assertClose(new float[] {t[0], t[1], t[2], t[3], t[4], t[5]}, 1e-4,
                1000., 995.8716, 991.6046, 987.19183, 982.6258, 977.89825);
        assertClose(new float[] {t[46], t[47], t[48], t[49]}, 1e-4, 260.76187, 192.8036, 114.819466, 24.414066);
        assertClose(new float[] {s[0], s[1], s[2], s[3], s[4], s[5]}, 1e-7,
                1., 0.9958716, 0.9916046, 0.98719186, 0.9826258, 0.97789824);
        assertClose(new float[] {s[46], s[47], s[48], s[49], s[50]}, 1e-7,
                0.26076186, 0.1928036, 0.11481947, 0.02441407, 0.);
        assertThat(p.schedule().dt(0)).isCloseTo(-0.00412840f, within(1e-8f));
    }

    // --- block E: window layouts ----------------------------------------------------------------------

    @Test
    void fourSecondsBlockE() {
        StableAvatarPlan p5 = plan(4, 10, 5, "log");
        assertThat(p5.latentFrames()).isEqualTo(25);
        assertThat(p5.frames()).isEqualTo(97);
        assertThat(ranges(p5)).isEqualTo(List.of(List.of(0, 21), List.of(16, 25)));
        assertThat(ranges(plan(4, 10, 10, "log"))).isEqualTo(List.of(List.of(0, 21), List.of(11, 25)));
    }

    @Test
    void fiveSecondsBlockE() {
        StableAvatarPlan p5 = plan(5, 10, 5, "log");
        assertThat(p5.latentFrames()).isEqualTo(32);
        assertThat(p5.frames()).isEqualTo(125);
        assertThat(ranges(p5)).isEqualTo(List.of(List.of(0, 21), List.of(16, 32)));
        assertThat(ranges(plan(5, 10, 10, "log"))).isEqualTo(List.of(List.of(0, 21), List.of(11, 32)));
    }

    @Test
    void tenSecondsBlockE() {
        StableAvatarPlan p5 = plan(10, 10, 5, "log");
        assertThat(p5.latentFrames()).isEqualTo(63);
        assertThat(p5.frames()).isEqualTo(249);
        assertThat(ranges(p5)).isEqualTo(List.of(List.of(0, 21), List.of(16, 37), List.of(32, 53), List.of(48, 63)));
        StableAvatarPlan p10 = plan(10, 10, 10, "log");
        assertThat(p10.windows()).hasSize(5);
        assertThat(p10.windows().getLast()).isEqualTo(new Window(4, 44, 63));
        assertThat(p10.stride()).isEqualTo(11);
    }

    @Test
    void sixtySecondsBlockE() {
        StableAvatarPlan p5 = plan(60, 50, 5, "log");
        assertThat(p5.latentFrames()).isEqualTo(375);
        assertThat(p5.frames()).isEqualTo(1497);
        assertThat(p5.windows()).hasSize(24);
        assertThat(ranges(p5).getLast()).isEqualTo(List.of(368, 375));
        StableAvatarPlan p10 = plan(60, 50, 10, "log");
        assertThat(p10.windows()).hasSize(34);
        assertThat(ranges(p10).getLast()).isEqualTo(List.of(363, 375));
    }

    @Test
    void referenceBugsOfBlockEArePlannedAsOneWindow() {
        assertThat(ranges(plan(3.0, 4, 5, "log"))).isEqualTo(List.of(List.of(0, 19)));   // reference: no window
        assertThat(ranges(plan(3.3, 4, 5, "log"))).isEqualTo(List.of(List.of(0, 21)));   // reference: endless loop
    }

    // --- block L: audio slices --------------------------------------------------------------------------

    @Test
    void fiveSecondAudioSlicesBlockL() {
        StableAvatarPlan p = plan(5, 10, 5, "log");
        assertThat(p.tailModeName()).isEqualTo("reference");
        assertThat(p.windowAudio()).containsExactly(
                new StableAvatarPlan.AudioSlice(0, 53_760, 167, 17),
                new StableAvatarPlan.AudioSlice(40_960, 80_000, 121, 13));
        StableAvatarPlan corrected = StableAvatarPlan.create(config(TailMode.CORRECTED), 80_000, 10, 5, "log", 512,
                512);
        assertThat(corrected.tailModeName()).isEqualTo("corrected");
        assertThat(corrected.windowAudio().getLast())
                .isEqualTo(new StableAvatarPlan.AudioSlice(40_960, 40_960 + 53_760, 167, 17));
    }

    // --- block D: weights -------------------------------------------------------------------------------

    @Test
    void overlapWeightsBlockD() {
        assertClose(plan(5, 4, 5, "uniform").overlapWeights(), 1e-7, 0, .25, .5, .75, 1);
        assertClose(plan(5, 4, 5, "log").overlapWeights(), 1e-6, 0, 0.357374, 0.620115, 0.827989, 1);
        assertClose(plan(5, 4, 7, "LOG").overlapWeights(), 1e-6, 0, 0.251832, 0.452832, 0.620115, 0.763383,
                0.888674, 1);
        assertClose(plan(5, 4, 10, "log").overlapWeights(), 1e-6, 0, 0.174726, 0.323416, 0.452832, 0.567403,
                0.670186, 0.763383, 0.848629, 0.927176, 1);
        assertThat(plan(5, 4, 7, " Log ").weightsScheme()).isEqualTo("log");
    }

    // --- costs and memory -------------------------------------------------------------------------------

    @Test
    void costsFollowTheWindowLayout() {
        StableAvatarPlan p = plan(60, 50, 5, "log");
        assertThat(p.branches()).isEqualTo(3);
        assertThat(p.forwardPasses()).isEqualTo(50L * 24);
        assertThat(p.batchRows()).isEqualTo(3L * 50 * 24);
        assertThat(p.decoderCalls()).isEqualTo(375);
        assertThat(p.workUnits()).isEqualTo(50L * 24 + 375);
    }

    @Test
    void memoryIsTheWavefrontBoundCappedAtTwoBuffersPerFrame() {
        // 512²: 16 channels × 64 × 64 float32 per latent frame
        long perFrame = 16L * 64 * 64 * 4;
        StableAvatarPlan n4 = plan(60, 4, 5, "log");
        assertThat(n4.latentHeight()).isEqualTo(64);
        assertThat(n4.latentBytesPerFrame()).isEqualTo(perFrame);
        assertThat(n4.peakLatentFrames()).isEqualTo(94); // WavefrontDenoiser: F=21, O=5, N=4 → bound 94
        assertThat(n4.peakLatentBytes()).isEqualTo(94 * perFrame);
        assertThat(plan(60, 4, 10, "log").peakLatentFrames()).isEqualTo(104);
        // N = 50: the bound (1060) exceeds two buffers for each of the 375 frames
        assertThat(plan(60, 50, 5, "log").peakLatentFrames()).isEqualTo(750);
        assertThat(plan(600, 50, 5, "log").peakLatentFrames()).isEqualTo(1060);
        assertThat(plan(600, 50, 10, "log").peakLatentFrames()).isEqualTo(1070);
        // a single 19-latent window: at most 2·19
        assertThat(plan(3.0, 4, 5, "log").peakLatentFrames()).isEqualTo(38);
        StableAvatarPlan small = StableAvatarPlan.create(config(TailMode.REFERENCE), 80_000, 4, 5, "log", 256, 128);
        assertThat(small.latentBytesPerFrame()).isEqualTo(16L * 16 * 32 * 4);
        assertThat(small.width()).isEqualTo(256);
        assertThat(small.height()).isEqualTo(128);
    }

    @Test
    void firstFrameLatencyIsTheWavefrontBoundCappedAtAllPasses() {
        // m = ⌊20/16⌋ = 1: N(N−1)/2 + N
        assertThat(plan(60, 4, 5, "log").forwardPassesBeforeFirstFrame()).isEqualTo(10);
        assertThat(plan(600, 50, 5, "log").forwardPassesBeforeFirstFrame()).isEqualTo(1275);
        assertThat(plan(60, 50, 5, "log").forwardPassesBeforeFirstFrame()).isEqualTo(1200); // all 24 × 50
        // O = 15: m = ⌊20/6⌋ = 3
        assertThat(plan(600, 10, 15, "log").forwardPassesBeforeFirstFrame()).isEqualTo(3 * 45 + 10);
    }

    // --- validation -------------------------------------------------------------------------------------

    @Test
    void rejectsOutOfRangeArguments() {
        assertThatThrownBy(() -> plan(5, 4, 1, "log")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("overlap").hasMessageContaining("[2, 20]").hasMessageContaining("got 1");
        assertThatThrownBy(() -> plan(5, 4, 21, "log")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("[2, 20]");
        assertThatThrownBy(() -> plan(5, 4, 5, "linear")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("'log' or 'uniform'").hasMessageContaining("linear");
        assertThatThrownBy(() -> plan(5, 0, 5, "log")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("steps");
        assertThatThrownBy(() -> StableAvatarPlan.create(config(TailMode.REFERENCE), 80_000, 4, 5, "log", 250, 256))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("250x256");
        assertThatThrownBy(() -> StableAvatarPlan.create(config(TailMode.REFERENCE), 639, 4, 5, "log", 512, 512))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("too short");
        assertThat(StableAvatarPlan.create(config(TailMode.REFERENCE), 640, 4, 5, "log", 512, 512).frames())
                .isEqualTo(1);
    }

    @Test
    void configFromAManifestWithoutGraphs() {
        String json = """
                {"format": 1, "family": "stableavatar", "name": "x",
                 "video": {"fps": 25, "width": 512, "height": 512, "windowFrames": 81, "temporalStride": 4,
                           "spatialStride": 8, "latentChannels": 16, "patch": [1, 2, 2]},
                 "audio": {"sampleRate": 16000, "encoder": "wav2vec2", "sliceFrames": 84},
                 "sampler": {"type": "flow-match-euler", "shift": 5.0, "defaultSteps": 50},
                 "guidance": {"text": 3.0, "audio": 5.0},
                 "window": {"overlap": 10, "weights": "uniform", "tail": "reference"},
                 "graphs": {}}
                """;
        StableAvatarConfig cfg = StableAvatarEngine.configOf(BundleManifest.parse(json.getBytes(StandardCharsets.UTF_8)));
        assertThat(cfg.overlap()).isEqualTo(10);
        assertThat(cfg.tailMode()).isEqualTo(TailMode.REFERENCE);
        byte[] other = json.replace("\"stableavatar\"", "\"latentsync\"").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> StableAvatarEngine.configOf(BundleManifest.parse(other)))
                .isInstanceOf(BundleException.class).hasMessageContaining("latentsync");
    }
}
