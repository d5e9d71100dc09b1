package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code avatar4j plan} on the {@code longcat-avatar} tiny bundle: the family is picked from the
 * manifest; segments and the distilled sigmas agree with the formulas of docs/REFERENCE.md §3
 * re-implemented here in double precision and with Appendix A block I.
 */
class LongCatPlanCommandTest {
    @TempDir
    static Path inputs;
    static Path bundle;
    static Path speech10s;
    static Path speech6s;

    @BeforeAll
    static void setUp() throws IOException {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("models/longcat-avatar-tiny/avatar-bundle.json"))) {
            dir = dir.getParent();
        }
        assertThat(dir).isNotNull();
        bundle = dir.resolve("models/longcat-avatar-tiny");
        speech10s = PlanCommandTest.writeWav(inputs.resolve("speech-10s.wav"), 16_000, 1, 160_000);
        speech6s = PlanCommandTest.writeWav(inputs.resolve("speech-6s.wav"), 16_000, 1, 96_000);
    }

    /** σ_k of the distilled schedule in double: raw r = (999 − idx)/999 read in reverse, shifted. */
    static double[] referenceSigmas(double shift) {
        double[] s = new double[9];
        for (int k = 0; k < 8; k++) {
            int idx = 1000 - (8 - k) * 125;       // reversed list: entry k holds index 1000 − (8 − k)·125
            double r = (999.0 - idx) / 999.0;
            s[k] = shift * r / (1 + (shift - 1) * r);
        }
        return s;
    }

    @ParameterizedTest
    @ValueSource(doubles = {7.0, 12.0})
    void distilledSigmasMatchIndependentValues(double shift) throws IOException {
        Map<String, Object> m = PlanCommandTest.json(PlanCommandTest.cli("plan", "--model", bundle.toString(),
                "--audio", speech10s.toString(), "--shift", Double.toString(shift), "--json"));
        assertThat(m.get("family")).isEqualTo("longcat-avatar");
        assertThat(m.get("schedule")).isEqualTo("distilled");
        double[] sigmas = doubles(m, "sigmas");
        double[] want = referenceSigmas(shift);
        assertThat(sigmas).hasSize(9);
        for (int i = 0; i < 9; i++) {
            assertThat(sigmas[i]).as("sigma %d", i).isCloseTo(want[i], within(1.2e-7));
        }
        double[] blockI = shift == 7.0
                ? new double[] {1, 0.97997755, 0.9544875, 0.9209361, 0.8747809, 0.8072772, 0.69915766, 0.49799198, 0}
                : new double[] {1, 0.988222, 0.9729379, 0.9523083, 0.92293465, 0.87776256, 0.79935795, 0.629708, 0};
        for (int i = 0; i < 9; i++) {
            assertThat(sigmas[i]).isCloseTo(blockI[i], within(1e-7));
        }
        double[] ts = doubles(m, "timesteps");
        for (int i = 0; i < 8; i++) {
            assertThat(ts[i]).isCloseTo(sigmas[i] * 1000, within(1e-4));
        }
    }

    @Test
    void segmentsCoverTheAudio() throws IOException {
        Map<String, Object> m = PlanCommandTest.json(PlanCommandTest.cli("plan", "--model", bundle.toString(),
                "--audio", speech10s.toString(), "--json"));
        // 10 s at 25 fps = 250 frames: 93, then 80 new frames per segment -> 1 + ceil(157/80) = 3
        assertThat(((Number) m.get("frames")).intValue()).isEqualTo(250);
        assertThat(((Number) m.get("segments")).intValue()).isEqualTo(3);
        assertThat(((Number) m.get("shift")).doubleValue()).isEqualTo(7.0);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> segs = (List<Map<String, Object>>) m.get("segmentList");
        assertThat(segs).hasSize(3);
        int total = 0;
        for (int s = 0; s < 3; s++) {
            Map<String, Object> seg = segs.get(s);
            assertThat(((Number) seg.get("firstFrame")).intValue()).isEqualTo(total);
            assertThat(((Number) seg.get("audioStart")).intValue()).isEqualTo(80 * s);
            assertThat(((Number) seg.get("noisyLatents")).intValue()).isEqualTo(s == 0 ? 23 : 20);
            assertThat(((Number) seg.get("conditionLatents")).intValue()).isEqualTo(s == 0 ? 1 : 5);
            total += ((Number) seg.get("frames")).intValue();
        }
        assertThat(total).isEqualTo(250);
        assertThat(((Number) segs.get(2).get("frames")).intValue()).isEqualTo(250 - 93 - 80);
        // padded to 93/25 + 2·80/25 = 10.12 s: in float64 (10.12 − 10)·16000 = 1920.000000000016, and the
        // reference's math.ceil makes that 1921 added samples (Python: the same expression gives 1921)
        assertThat(((Number) m.get("paddedSamples")).intValue()).isEqualTo(161_921);
        assertThat(((Number) m.get("forwardPasses")).longValue()).isEqualTo(3 * 8);
        Avatar4jCliTest.Result text = PlanCommandTest.cli("plan", "--model", bundle.toString(), "--audio",
                speech10s.toString());
        assertThat(text.code()).isZero();
        assertThat(text.out()).contains("segments  3 of 93 frames").contains("distilled, 8 steps, shift 7.0");
    }

    /**
     * {@code plan --speaker}: the persons and the segments of the longest track (parallel) or of the
     * turns one after the other (sequential); speakers without regions get the default boxes.
     */
    @Test
    void speakersArePlannedOverTheLongestTrack() throws IOException {
        Map<String, Object> m = PlanCommandTest.json(PlanCommandTest.cli("plan", "--model", bundle.toString(),
                "--speaker", speech6s.toString(), "--speaker", speech10s.toString(), "--json"));
        assertThat(((Number) m.get("audioSamples")).intValue()).isEqualTo(160_000);
        assertThat(((Number) m.get("frames")).intValue()).isEqualTo(250);
        assertThat(((Number) m.get("segments")).intValue()).isEqualTo(3);
        assertThat(((Number) m.get("persons")).intValue()).isEqualTo(2);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> sp = (List<Map<String, Object>>) m.get("speakers");
        assertThat(sp).hasSize(2);
        assertThat(doubles(sp.get(0), "region")).containsExactly(0.05, 0.1, 0.4, 0.8);
        assertThat(doubles(sp.get(1), "region")).containsExactly(0.55, 0.1, 0.4, 0.8);
        assertThat(((Number) sp.get(0).get("samples")).intValue()).isEqualTo(96_000);
        assertThat(((Number) sp.get(1).get("offset")).intValue()).isZero();

        Map<String, Object> turns = PlanCommandTest.json(PlanCommandTest.cli("plan", "--model", bundle.toString(),
                "--speaker", "0,0,0.5,1:" + speech6s, "--speaker", "0.5,0,0.5,1:" + speech10s,
                "--audio-mode", "sequential", "--json"));
        assertThat(((Number) turns.get("frames")).intValue()).isEqualTo(400); // 16 s at 25 fps
        assertThat(((Number) turns.get("segments")).intValue()).isEqualTo(1 + (400 - 93 + 79) / 80);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> tsp = (List<Map<String, Object>>) turns.get("speakers");
        assertThat(doubles(tsp.get(0), "region")).containsExactly(0, 0, 0.5, 1);
        assertThat(((Number) tsp.get(1).get("offset")).intValue()).isEqualTo(96_000);

        Avatar4jCliTest.Result text = PlanCommandTest.cli("plan", "--model", bundle.toString(), "--speaker",
                speech6s.toString(), "--speaker", speech10s.toString());
        assertThat(text.code()).isZero();
        assertThat(text.out()).contains("person 1").contains("region 0.55,0.1,0.4,0.8");

        Avatar4jCliTest.Result none = PlanCommandTest.cli("plan", "--model", bundle.toString());
        assertThat(none.code()).isEqualTo(Avatar4jCli.EXIT_USAGE);
        assertThat(none.err()).contains("--speaker");
        Avatar4jCliTest.Result three = PlanCommandTest.cli("plan", "--model", bundle.toString(), "--speaker",
                speech6s.toString(), "--speaker", speech6s.toString(), "--speaker", speech6s.toString());
        assertThat(three.code()).isEqualTo(Avatar4jCli.EXIT_USAGE);
        assertThat(three.err()).contains("every region must be given");
    }

    @Test
    void distilledModelRejectsOtherStepCounts() {
        Avatar4jCliTest.Result r = PlanCommandTest.cli("plan", "--model", bundle.toString(), "--audio",
                speech10s.toString(), "--steps", "30");
        assertThat(r.code()).isEqualTo(Avatar4jCli.EXIT_USAGE);
        assertThat(r.err()).contains("exactly 8 steps");
    }

    private static double[] doubles(Map<String, Object> m, String key) {
        @SuppressWarnings("unchecked")
        List<Object> l = (List<Object>) m.get(key);
        return l.stream().mapToDouble(o -> ((Number) o).doubleValue()).toArray();
    }
}
