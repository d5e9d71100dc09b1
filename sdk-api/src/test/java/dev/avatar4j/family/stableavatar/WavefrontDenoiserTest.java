package dev.avatar4j.family.stableavatar;

import dev.avatar4j.sampling.SigmaSchedule;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The wavefront order against the lock-step oracle: same bits, bounded memory, early output. */
class WavefrontDenoiserTest {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    static SigmaSchedule schedule(int steps) {
        return FlowMatchSchedule.create(steps, 5.0, ShiftMode.DIFFUSERS_0_30_1, 1000);
    }

    /** Per-frame reproducible noise: frame t's values depend only on (seed, t). */
    static InitialLatents noise(long seed) {
        return (frame, dst) -> {
            SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + frame);
            for (long e = 0; e < dst.byteSize() / Float.BYTES; e++) {
                dst.setAtIndex(F, e, (float) (rnd.nextDouble() * 2 - 1));
            }
        };
    }

    /**
     * A deterministic fake DiT that depends on the window, the step, the timestep, the position in
     * the window and the exact input values of the element and of its neighbouring frames, so any
     * wrong value source in an overlap changes the result. StrictMath keeps it bit-reproducible.
     */
    static WindowVelocity mixingModel(int channels, long hw) {
        return (w, step, t, x, v) -> {
            int k = w.length();
            for (int c = 0; c < channels; c++) {
                for (int j = 0; j < k; j++) {
                    for (long p = 0; p < hw; p++) {
                        long e = ((long) c * k + j) * hw + p;
                        float self = x.getAtIndex(F, e);
                        float next = x.getAtIndex(F, ((long) c * k + (j + 1) % k) * hw + p);
                        float prev = x.getAtIndex(F, ((long) c * k + (j + k - 1) % k) * hw + p);
                        double arg = 1.7 * self - 0.9 * next + 0.6 * prev + t * 3.1e-3
                                + 0.37 * w.index() + 0.11 * step + 0.05 * (w.start() + j) + 0.2 * c + 0.03 * p;
                        v.setAtIndex(F, e, (float) (StrictMath.sin(arg) - 0.5 * self));
                    }
                }
            }
        };
    }

    /** The oracle: LockstepDenoiser over a materialised timeline filled with the same noise. */
    static int[][] lockstep(WindowPlan plan, float[] w, SigmaSchedule s, int channels, int hw,
                                    InitialLatents init, WindowVelocity model) {
        try (LatentTimeline tl = new LatentTimeline(plan.latentFrames(), (long) channels * hw)) {
            for (int t = 0; t < tl.frames(); t++) {
                init.fill(t, tl.frame(t));
            }
            new LockstepDenoiser(plan, w, s, channels, hw).denoise(tl, model);
            int[][] out = new int[tl.frames()][];
            for (int t = 0; t < tl.frames(); t++) {
                out[t] = bits(tl.frame(t));
            }
            return out;
        }
    }

    static int[] bits(MemorySegment frame) {
        float[] f = frame.toArray(F);
        int[] b = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            b[i] = Float.floatToRawIntBits(f[i]);
        }
        return b;
    }

    /** What one wavefront run observed. */
    private record Observed(int[][] finals, int peak, int callsBeforeFirstFinal, int calls,
                            int maxNoiseFrameBeforeFirstFinal) {
    }

    /**
     * Runs the wavefront and checks the callback contracts on the way: noise once per frame in
     * increasing order, every (window, step) once respecting the dependency rules, finals in
     * order exactly once.
     */
    private static Observed wavefront(WindowPlan plan, float[] w, SigmaSchedule s, int channels, int hw,
                                      InitialLatents init, WindowVelocity model) {
        int total = plan.latentFrames();
        int steps = s.steps();
        List<Window> windows = plan.windows();
        int[][] finals = new int[total][];
        int[] nextNoise = {0};
        int[] nextFinal = {0};
        int[] calls = {0};
        int[] callsBeforeFirst = {-1};
        int[] maxNoiseBeforeFirst = {-1};
        int[] done = new int[windows.size()];
        InitialLatents checkedInit = (frame, dst) -> {
            assertThat(frame).as("noise requested once, in order").isEqualTo(nextNoise[0]++);
            assertThat(dst.byteSize()).isEqualTo((long) channels * hw * Float.BYTES);
            if (callsBeforeFirst[0] < 0) {
                maxNoiseBeforeFirst[0] = frame;
            }
            init.fill(frame, dst);
        };
        WindowVelocity countingModel = (win, step, t, x, v) -> {
            calls[0]++;
            assertThat(x.isReadOnly()).isTrue();
            assertThat(x.byteSize()).isEqualTo((long) win.length() * channels * hw * Float.BYTES);
            assertThat(t).isEqualTo(s.timestep(step));
            model.velocity(win, step, t, x, v);
        };
        StepListener checkedListener = (win, step) -> {
            int k = win.index();
            assertThat(done[k]).as("window %d steps in order", k).isEqualTo(step);
            if (k > 0) {
                assertThat(done[k - 1]).as("(%d,%d) after (%d,%d)", k, step, k - 1, step).isGreaterThan(step);
            }
            for (Window later : windows.subList(k + 1, windows.size())) {
                if (later.start() < win.end()) {
                    assertThat(done[later.index()]).as("(%d,%d) after (%d,%d)", k, step, later.index(), step - 1)
                            .isGreaterThanOrEqualTo(step);
                }
            }
            done[k]++;
        };
        WavefrontDenoiser denoiser = new WavefrontDenoiser(plan, w, s, channels, hw);
        denoiser.denoise(checkedInit, countingModel, checkedListener, (frame, latents) -> {
            assertThat(frame).as("finals in order, once").isEqualTo(nextFinal[0]++);
            assertThat(latents.isReadOnly()).isTrue();
            if (callsBeforeFirst[0] < 0) {
                callsBeforeFirst[0] = calls[0];
            }
            finals[frame] = bits(latents);
        });
        assertThat(nextFinal[0]).isEqualTo(total);
        assertThat(nextNoise[0]).isEqualTo(total);
        assertThat(done).containsOnly(steps);
        assertThat(calls[0]).isEqualTo(windows.size() * steps);
        return new Observed(finals, denoiser.peakLiveFrames(), callsBeforeFirst[0], calls[0],
                maxNoiseBeforeFirst[0]);
    }

    // ---------------------------------------------------------------- (1)-(3) property

    @Property(tries = 250)
    void bitIdenticalToLockstepWithBoundedStateAndEarlyOutput(
            @ForAll @IntRange(min = 1, max = 200) int total,
            @ForAll @IntRange(min = 3, max = 25) int f,
            @ForAll @IntRange(min = 0, max = 1 << 20) int overlapPick,
            @ForAll @IntRange(min = 1, max = 6) int steps,
            @ForAll @IntRange(min = 1, max = 2) int channels,
            @ForAll @IntRange(min = 1, max = 3) int hw,
            @ForAll boolean log,
            @ForAll long seed) {
        int o = 2 + overlapPick % (f - 2); // O in [2, F−1]
        WindowPlan plan = WindowPlan.create(total, f, o);
        float[] w = log ? OverlapWeights.log(o) : OverlapWeights.uniform(o);
        SigmaSchedule s = schedule(steps);
        InitialLatents init = noise(seed);
        WindowVelocity model = mixingModel(channels, hw);

        int[][] expected = lockstep(plan, w, s, channels, hw, init, model);
        Observed got = wavefront(plan, w, s, channels, hw, init, model);

        for (int t = 0; t < total; t++) {
            assertThat(got.finals()[t]).as("frame %d bits (%s)", t, plan).containsExactly(expected[t]);
        }
        assertThat((long) got.peak()).as("peak live frames of %s, N=%d", plan, steps)
                .isLessThanOrEqualTo(WavefrontDenoiser.liveFrameBound(f, o, steps))
                .isLessThanOrEqualTo(2L * total);
        assertThat((long) got.callsBeforeFirstFinal()).as("calls before the first final frame")
                .isLessThanOrEqualTo(WavefrontDenoiser.firstFinalCallBound(f, o, steps));
    }

    // ---------------------------------------------------------------- (2) bound independent of T

    /** Cheap elementwise model for long timelines. */
    private static final WindowVelocity CHEAP = (w, step, t, x, v) -> {
        for (long e = 0; e < x.byteSize() / Float.BYTES; e++) {
            v.setAtIndex(F, e, -0.5f * x.getAtIndex(F, e) + 0.01f * w.index());
        }
    };

    private static Observed longRun(int total, int f, int o, int steps) {
        WindowPlan plan = WindowPlan.create(total, f, o);
        return wavefront(plan, OverlapWeights.log(o), schedule(steps), 1, 1, noise(3), CHEAP);
    }

    @Test
    void peakLiveFramesDoesNotGrowWithTheTimeline() {
        Observed shortRun = longRun(500, 21, 5, 4);
        Observed longRun = longRun(5000, 21, 5, 4);
        assertThat(longRun.peak()).isEqualTo(shortRun.peak());
        assertThat((long) longRun.peak()).isLessThanOrEqualTo(WavefrontDenoiser.liveFrameBound(21, 5, 4));
        assertThat(longRun.peak()).isLessThan(5000 / 30);
        // D = 3 windows deep, span 3·16 + 21 frames, 4 windows with 11 singly covered frames each.
        assertThat(WavefrontDenoiser.liveFrameBound(21, 5, 4)).isEqualTo(2 * (3 * 16 + 21) - 4 * 11);
    }

    @Test
    void peakStaysFlatForManyStepsAndSmallStrides() {
        // N = 50 (the reference default) and a stride of 2 (m = 5 later windows overlap each one).
        assertThat(longRun(3000, 21, 5, 50).peak()).isEqualTo(longRun(1500, 21, 5, 50).peak());
        Observed small = longRun(1200, 12, 10, 5);
        assertThat(small.peak()).isEqualTo(longRun(600, 12, 10, 5).peak());
        assertThat((long) small.peak()).isLessThanOrEqualTo(WavefrontDenoiser.liveFrameBound(12, 10, 5));
        assertThat((long) longRun(3000, 21, 5, 50).peak())
                .isLessThanOrEqualTo(WavefrontDenoiser.liveFrameBound(21, 5, 50));
    }

    // ---------------------------------------------------------------- (3) early first frame

    @Test
    void firstFinalFrameArrivesAfterAFewWindowsOfWork() {
        Observed shortRun = longRun(500, 21, 5, 4);
        Observed longRun = longRun(5000, 21, 5, 4);
        // Diagonal (0,0) (1,0) (0,1) (2,0) (1,1) (0,2) (3,0) (2,1) (1,2) (0,3): 10 calls.
        assertThat(longRun.callsBeforeFirstFinal()).isEqualTo(10).isEqualTo(shortRun.callsBeforeFirstFinal());
        assertThat(WavefrontDenoiser.firstFinalCallBound(21, 5, 4)).isEqualTo(10);
        assertThat(longRun.calls()).isEqualTo(313 * 4); // 1 + ceil((5000 − 21)/16) windows
        // Noise was only requested for the 4 windows the first frame depends on.
        assertThat(longRun.maxNoiseFrameBeforeFirstFinal()).isEqualTo(3 * 16 + 20);
    }

    // ---------------------------------------------------------------- (4) failures

    private static final class Boom extends RuntimeException {
        Boom() {
            super("cancelled");
        }
    }

    private enum FailAt { MODEL, NOISE, SINK }

    private static void assertFailureStopsEverything(FailAt where) {
        WindowPlan plan = WindowPlan.create(300, 21, 5);
        SigmaSchedule s = schedule(4);
        List<String> events = new ArrayList<>();
        List<MemorySegment> seen = new ArrayList<>();
        Boom boom = new Boom();
        boolean[] thrown = {false};
        InitialLatents init = (frame, dst) -> {
            events.add("noise " + frame);
            seen.add(dst);
            if (where == FailAt.NOISE && frame == 150) {
                thrown[0] = true;
                throw boom;
            }
        };
        WindowVelocity model = (w, step, t, x, v) -> {
            events.add("model " + w.index() + "," + step);
            seen.add(x);
            if (where == FailAt.MODEL && w.index() == 5 && step == 2) {
                thrown[0] = true;
                throw boom;
            }
            CHEAP.velocity(w, step, t, x, v);
        };
        StepListener listener = (w, step) -> events.add("done " + w.index() + "," + step);
        FinalFrameSink sink = (frame, latents) -> {
            events.add("final " + frame);
            seen.add(latents);
            if (where == FailAt.SINK && frame == 40) {
                thrown[0] = true;
                throw boom;
            }
        };
        WavefrontDenoiser denoiser = new WavefrontDenoiser(plan, OverlapWeights.uniform(5), s, 1, 4);
        assertThatThrownBy(() -> denoiser.denoise(init, model, listener, sink)).isSameAs(boom);
        assertThat(thrown[0]).isTrue();
        String last = events.get(events.size() - 1);
        assertThat(last).startsWith(switch (where) {
            case MODEL -> "model 5,2";
            case NOISE -> "noise 150";
            case SINK -> "final 40";
        });
        // Every buffer the run handed out has been freed with the run's arena.
        assertThat(seen).isNotEmpty().allSatisfy(seg -> assertThat(seg.scope().isAlive()).isFalse());
    }

    @Test
    void modelExceptionPropagatesAndStopsTheRun() {
        assertFailureStopsEverything(FailAt.MODEL);
    }

    @Test
    void noiseExceptionPropagatesAndStopsTheRun() {
        assertFailureStopsEverything(FailAt.NOISE);
    }

    @Test
    void sinkExceptionPropagatesAndStopsTheRun() {
        assertFailureStopsEverything(FailAt.SINK);
    }

    // ---------------------------------------------------------------- (5) block M toy test

    /** Appendix A block M: the post-Euler result of window k is the constant k + 1; frames 14..22. */
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
        int[][] expected = lockstep(plan, weights, sched, channels, hw, noise(7), model);
        Observed got = wavefront(plan, weights, sched, channels, hw, noise(7), model);
        float[] out = new float[9];
        for (int t = 14; t <= 22; t++) {
            assertThat(got.finals()[t]).containsExactly(expected[t]);
            out[t - 14] = Float.intBitsToFloat(got.finals()[t][hw + 2]);
        }
        return out;
    }

    private static void assertFrames(float[] actual, double... expected) {
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("frame %d", 14 + i).isCloseTo(expected[i], within(1e-5));
        }
    }

    @Test
    void toyBlockM() {
        assertFrames(toy(1, OverlapWeights.uniform(5)), 1, 1, 2, 2, 2, 2, 2, 2, 2);
        assertFrames(toy(1, OverlapWeights.log(5)), 1, 1, 2, 2, 2, 2, 2, 2, 2);
        assertFrames(toy(3, OverlapWeights.uniform(5)), 1, 1, 1, 1.25, 1.5, 1.75, 2, 2, 2);
        assertFrames(toy(2, OverlapWeights.log(5)), 1, 1, 1, 1.357374, 1.620115, 1.827989, 2, 2, 2);
    }

    // ---------------------------------------------------------------- plumbing

    @Test
    void diagonalExecutionOrder() {
        WindowPlan plan = WindowPlan.create(60, 21, 5); // windows at 0, 16, 32, 48 (the last short)
        List<String> order = new ArrayList<>();
        new WavefrontDenoiser(plan, OverlapWeights.uniform(5), schedule(3), 1, 1)
                .denoise(noise(1), CHEAP, (w, step) -> order.add(w.index() + ":" + step), (frame, x) -> { });
        assertThat(order).containsExactly("0:0", "1:0", "0:1", "2:0", "1:1", "0:2", "3:0", "2:1", "1:2",
                "3:1", "2:2", "3:2");
    }

    @Test
    void singleWindowTimelines() {
        for (int total : new int[] {1, 7, 21}) {
            Set<Integer> finals = new HashSet<>();
            WavefrontDenoiser d = new WavefrontDenoiser(WindowPlan.create(total, 21, 5),
                    OverlapWeights.log(5), schedule(3), 2, 2);
            d.denoise(noise(2), CHEAP, StepListener.NONE, (frame, x) -> assertThat(finals.add(frame)).isTrue());
            assertThat(finals).hasSize(total);
            assertThat(d.peakLiveFrames()).isEqualTo(total); // the owner frees each value as it reads it
        }
    }

    @Test
    void rejectsBadArguments() {
        WindowPlan plan = WindowPlan.create(30, 21, 5);
        SigmaSchedule s = schedule(2);
        assertThatThrownBy(() -> new WavefrontDenoiser(plan, OverlapWeights.uniform(4), s, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overlap");
        assertThatThrownBy(() -> new WavefrontDenoiser(plan, OverlapWeights.uniform(5), s, 0, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> WavefrontDenoiser.liveFrameBound(21, 21, 4))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> WavefrontDenoiser.firstFinalCallBound(21, 5, 0))
                .isInstanceOf(IllegalArgumentException.class);
        WavefrontDenoiser d = new WavefrontDenoiser(plan, OverlapWeights.uniform(5), s, 1, 1);
        assertThatThrownBy(() -> d.denoise(null, CHEAP, StepListener.NONE, (f, x) -> { }))
                .isInstanceOf(NullPointerException.class);
    }
}
