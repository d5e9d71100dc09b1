package dev.avatar4j.family.stableavatar;

import dev.avatar4j.sampling.SigmaSchedule;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class LockstepDenoiserTest {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private static SigmaSchedule schedule(int steps) {
        return FlowMatchSchedule.create(steps, 5.0, ShiftMode.DIFFUSERS_0_30_1, 1000);
    }

    private static void fillNoise(LatentTimeline tl, long seed) {
        Random rnd = new Random(seed);
        for (int t = 0; t < tl.frames(); t++) {
            for (long i = 0; i < tl.frameFloats(); i++) {
                tl.frame(t).setAtIndex(F, i, (float) rnd.nextGaussian());
            }
        }
    }

    private static float[][] snapshot(LatentTimeline tl) {
        float[][] out = new float[tl.frames()][];
        for (int t = 0; t < tl.frames(); t++) {
            out[t] = tl.frame(t).toArray(F);
        }
        return out;
    }

    // ---------------------------------------------------------------- block M toy test

    /**
     * Appendix A block M: a model whose post-Euler result is the constant (window index + 1), i.e.
     * window 1 ≡ 1 on [0, 21) and window 2 ≡ 2 on [16, 32), T = 32, O = 5. Returns frames 14..22
     * of channel 1, pixel 2 (every element of a frame is the same).
     */
    private static float[] toy(int steps, float[] weights) {
        int channels = 2;
        int hw = 3;
        SigmaSchedule sched = schedule(steps);
        WindowPlan plan = WindowPlan.create(32, 21, 5);
        WindowVelocity model = (w, step, t, x, v) -> {
            float target = w.index() + 1;
            float dt = sched.dt(step);
            for (long i = 0; i < x.byteSize() / Float.BYTES; i++) {
                v.setAtIndex(F, i, (target - x.getAtIndex(F, i)) / dt);
            }
        };
        try (LatentTimeline tl = new LatentTimeline(32, (long) channels * hw)) {
            fillNoise(tl, 7);
            new LockstepDenoiser(plan, weights, sched, channels, hw).denoise(tl, model);
            float[] out = new float[9];
            for (int t = 14; t <= 22; t++) {
                float[] frame = tl.frame(t).toArray(F);
                for (float value : frame) {
                    assertThat(value).isCloseTo(frame[0], within(1e-5f));
                }
                out[t - 14] = frame[hw + 2];
            }
            return out;
        }
    }

    private static void assertFrames(float[] actual, double... expected) {
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("frame %d", 14 + i).isCloseTo(expected[i], within(1e-5));
        }
    }

    @Test
    void toyStepZeroLetsTheLaterWindowOverwrite() {
        assertFrames(toy(1, OverlapWeights.uniform(5)), 1, 1, 2, 2, 2, 2, 2, 2, 2);
        assertFrames(toy(1, OverlapWeights.log(5)), 1, 1, 2, 2, 2, 2, 2, 2, 2);
    }

    @Test
    void toyLaterStepsBlendUniform() {
        assertFrames(toy(3, OverlapWeights.uniform(5)), 1, 1, 1, 1.25, 1.5, 1.75, 2, 2, 2);
    }

    @Test
    void toyLaterStepsBlendLog() {
        assertFrames(toy(2, OverlapWeights.log(5)), 1, 1, 1, 1.357374, 1.620115, 1.827989, 2, 2, 2);
    }

    // ---------------------------------------------------------------- reference replica

    /** A deterministic model that mixes neighbouring frames (so windows interact through overlaps). */
    private static void mixingModel(Window w, float t, float[] x, float[] v, int channels, int k, int hw) {
        for (int c = 0; c < channels; c++) {
            for (int f = 0; f < k; f++) {
                for (int p = 0; p < hw; p++) {
                    int i = (c * k + f) * hw + p;
                    int next = (c * k + (f + 1) % k) * hw + p;
                    v[i] = 0.5f * x[i] - 0.25f * x[next] + 0.01f * w.index() + t * 1e-3f + 0.1f * c - 0.05f * p;
                }
            }
        }
    }

    private static WindowVelocity segmentModel(int channels, int hw) {
        return (w, step, t, x, v) -> {
            float[] xs = x.toArray(F);
            float[] vs = new float[xs.length];
            mixingModel(w, t, xs, vs, channels, w.length(), hw);
            MemorySegment.copy(vs, 0, v, F, 0, vs.length);
        };
    }

    /** The reference pseudocode of docs/REFERENCE.md §1.5 on plain arrays, with prev_end bookkeeping. */
    private static float[][] referenceDwsw(float[][] latents, int f, int o, float[] w, SigmaSchedule s,
                                           int channels, int hw) {
        int total = latents.length;
        int frame = channels * hw;
        float[][] all = new float[total][];
        for (int t = 0; t < total; t++) {
            all[t] = latents[t].clone();
        }
        for (int i = 0; i < s.steps(); i++) {
            float[][] fused = new float[total][frame];
            int start = 0;
            int end = Math.min(f, total); // our fix for T < F; the reference never runs then
            int prevEnd = end;
            boolean last = total <= f;
            int index = 0;
            while (end <= total) {
                int k = end - start;
                float[] x = new float[k * frame];
                for (int c = 0; c < channels; c++) {
                    for (int j = 0; j < k; j++) {
                        System.arraycopy(all[start + j], c * hw, x, (c * k + j) * hw, hw);
                    }
                }
                float[] v = new float[x.length];
                mixingModel(new Window(index, start, end), s.timestep(i), x, v, channels, k, hw);
                float dt = s.dt(i);
                for (int e = 0; e < x.length; e++) {
                    x[e] = x[e] + dt * v[e];
                }
                if (start != 0 && i != 0) {
                    for (int j = 0; j < o; j++) {
                        float[] prev = fused[prevEnd - o + j];
                        for (int c = 0; c < channels; c++) {
                            for (int p = 0; p < hw; p++) {
                                int e = (c * k + j) * hw + p;
                                x[e] = x[e] * w[j] + prev[c * hw + p] * (1f - w[j]);
                            }
                        }
                    }
                }
                for (int c = 0; c < channels; c++) {
                    for (int j = 0; j < k; j++) {
                        System.arraycopy(x, (c * k + j) * hw, fused[start + j], c * hw, hw);
                    }
                }
                if (last) {
                    break;
                }
                if (end != total) {
                    prevEnd = end;
                    start += f - o;
                    index++;
                    if (start + f < total) {
                        end = start + f;
                    } else {
                        end = total;
                        last = true;
                    }
                }
            }
            all = fused;
        }
        return all;
    }

    @Property(tries = 60)
    void equalsTheReferencePseudocodeExactly(@ForAll @IntRange(min = 1, max = 60) int total,
                                             @ForAll @IntRange(min = 3, max = 12) int f,
                                             @ForAll @IntRange(min = 2, max = 11) int o,
                                             @ForAll @IntRange(min = 1, max = 4) int steps,
                                             @ForAll @IntRange(min = 1, max = 2) int channels,
                                             @ForAll @IntRange(min = 1, max = 3) int hw,
                                             @ForAll boolean log,
                                             @ForAll long seed) {
        Assume.that(o < f);
        float[] w = log ? OverlapWeights.log(o) : OverlapWeights.uniform(o);
        SigmaSchedule s = schedule(steps);
        try (LatentTimeline tl = new LatentTimeline(total, (long) channels * hw)) {
            fillNoise(tl, seed);
            float[][] expected = referenceDwsw(snapshot(tl), f, o, w, s, channels, hw);
            new LockstepDenoiser(WindowPlan.create(total, f, o), w, s, channels, hw)
                    .denoise(tl, segmentModel(channels, hw));
            float[][] actual = snapshot(tl);
            for (int t = 0; t < total; t++) {
                assertThat(actual[t]).as("frame %d", t).containsExactly(expected[t]);
            }
        }
    }

    // ---------------------------------------------------------------- determinism, single coverage

    /** Elementwise model: each element evolves on its own, given its window and position in it. */
    private static float localVelocity(float x, int windowIndex, int relFrame, float t) {
        return -0.3f * x + 0.01f * (windowIndex + 1) * (relFrame + 1) + t * 1e-4f;
    }

    @Property(tries = 40)
    void deterministicAndSingleCoverageFramesArePlainEuler(@ForAll @IntRange(min = 1, max = 70) int total,
                                                           @ForAll @IntRange(min = 3, max = 14) int f,
                                                           @ForAll @IntRange(min = 2, max = 13) int o,
                                                           @ForAll @IntRange(min = 1, max = 5) int steps,
                                                           @ForAll long seed) {
        Assume.that(o < f);
        int channels = 2;
        int hw = 2;
        SigmaSchedule s = schedule(steps);
        WindowPlan plan = WindowPlan.create(total, f, o);
        WindowVelocity model = (w, step, t, x, v) -> {
            int k = w.length();
            for (int c = 0; c < channels; c++) {
                for (int j = 0; j < k; j++) {
                    for (int p = 0; p < hw; p++) {
                        long e = ((long) c * k + j) * hw + p;
                        v.setAtIndex(F, e, localVelocity(x.getAtIndex(F, e), w.index(), j, t));
                    }
                }
            }
        };
        LockstepDenoiser denoiser = new LockstepDenoiser(plan, OverlapWeights.log(o), s, channels, hw);
        try (LatentTimeline a = new LatentTimeline(total, channels * hw);
             LatentTimeline b = new LatentTimeline(total, channels * hw)) {
            fillNoise(a, seed);
            fillNoise(b, seed);
            float[][] initial = snapshot(a);
            denoiser.denoise(a, model);
            denoiser.denoise(b, model);
            float[][] ra = snapshot(a);
            float[][] rb = snapshot(b);
            for (int t = 0; t < total; t++) {
                assertThat(ra[t]).containsExactly(rb[t]);
            }
            for (int t = 0; t < total; t++) {
                List<Window> covering = new ArrayList<>();
                for (Window w : plan.windows()) {
                    if (w.contains(t)) {
                        covering.add(w);
                    }
                }
                if (covering.size() != 1) {
                    continue;
                }
                Window w = covering.get(0);
                float[] expected = initial[t].clone();
                for (int i = 0; i < steps; i++) {
                    for (int e = 0; e < expected.length; e++) {
                        float v = localVelocity(expected[e], w.index(), t - w.start(), s.timestep(i));
                        expected[e] = expected[e] + s.dt(i) * v;
                    }
                }
                assertThat(ra[t]).as("frame %d (only in window %d)", t, w.index()).containsExactly(expected);
            }
        }
    }

    // ---------------------------------------------------------------- plumbing

    @Test
    void listenerSeesEveryWindowOfEveryStepInOrder() {
        WindowPlan plan = WindowPlan.create(40, 21, 5); // windows [0,21) [16,37) [32,40)
        List<String> events = new ArrayList<>();
        List<Float> timesteps = new ArrayList<>();
        SigmaSchedule s = schedule(2);
        try (LatentTimeline tl = new LatentTimeline(40, 4)) {
            new LockstepDenoiser(plan, OverlapWeights.uniform(5), s, 1, 4).denoise(tl,
                    (w, step, t, x, v) -> {
                        assertThat(x.byteSize()).isEqualTo((long) w.length() * 4 * Float.BYTES);
                        assertThat(x.isReadOnly()).isTrue();
                        timesteps.add(t);
                    },
                    (w, step) -> events.add(step + ":" + w.index()));
        }
        assertThat(events).containsExactly("0:0", "0:1", "0:2", "1:0", "1:1", "1:2");
        assertThat(timesteps).containsExactly(1000f, 1000f, 1000f, s.timestep(1), s.timestep(1), s.timestep(1));
    }

    @Test
    void rejectsMismatchedShapes() {
        WindowPlan plan = WindowPlan.create(30, 21, 5);
        SigmaSchedule s = schedule(2);
        assertThatThrownBy(() -> new LockstepDenoiser(plan, OverlapWeights.uniform(4), s, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overlap");
        LockstepDenoiser d = new LockstepDenoiser(plan, OverlapWeights.uniform(5), s, 2, 3);
        try (LatentTimeline wrongFrames = new LatentTimeline(31, 6);
             LatentTimeline wrongSize = new LatentTimeline(30, 5)) {
            assertThatThrownBy(() -> d.denoise(wrongFrames, (w, i, t, x, v) -> { }))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> d.denoise(wrongSize, (w, i, t, x, v) -> { }))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
