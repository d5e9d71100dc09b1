package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.sampling.SigmaSchedule;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The open-ended wavefront (a live session's): windows added one by one between random amounts of
 * work give the lock-step reference's latents bit for bit, frames come out while windows are still
 * being added, and nothing runs on a window whose inputs are not all known.
 */
class OpenWavefrontTest {

    @Property(tries = 200)
    void windowsAddedAsTheyComeGiveTheLockstepBits(
            @ForAll @IntRange(min = 1, max = 160) int total,
            @ForAll @IntRange(min = 3, max = 25) int f,
            @ForAll @IntRange(min = 0, max = 1 << 20) int overlapPick,
            @ForAll @IntRange(min = 1, max = 5) int steps,
            @ForAll @IntRange(min = 1, max = 2) int channels,
            @ForAll long seed) {
        int o = 2 + overlapPick % (f - 2);
        int hw = 2;
        WindowPlan plan = WindowPlan.create(total, f, o);
        float[] w = OverlapWeights.log(o);
        SigmaSchedule s = WavefrontDenoiserTest.schedule(steps);
        InitialLatents init = WavefrontDenoiserTest.noise(seed);
        WindowVelocity model = WavefrontDenoiserTest.mixingModel(channels, hw);
        int[][] expected = WavefrontDenoiserTest.lockstep(plan, w, s, channels, hw, init, model);

        List<Window> windows = plan.windows();
        int stride = f - o;
        int m = (f - 1) / stride;
        int[][] finals = new int[total][];
        int[] next = {0};
        int[] known = {0};
        SplittableRandom rnd = new SplittableRandom(seed);
        WavefrontDenoiser d = new WavefrontDenoiser(f, o, w, s, channels, hw);
        try (WavefrontDenoiser.Open run = d.open(init, (win, step, t, x, v) -> {
            if (step > 0) { // every window that overlaps it is known: the fused inputs are complete
                for (Window later : windows) {
                    if (later.index() > win.index() && later.start() < win.end()) {
                        assertThat(later.index()).as("(%d,%d) ran before window %d was known", win.index(), step,
                                later.index()).isLessThan(known[0]);
                    }
                }
            }
            model.velocity(win, step, t, x, v);
        }, (win, step) -> { }, (frame, latents) -> {
            assertThat(frame).as("finals in order, once").isEqualTo(next[0]++);
            finals[frame] = WavefrontDenoiserTest.bits(latents);
        })) {
            for (Window win : windows) {
                if (win.index() == windows.size() - 1) {
                    break; // the last window comes with the end of the speech
                }
                run.add(win);
                known[0]++;
                int work = rnd.nextInt(4) == 0 ? Integer.MAX_VALUE : rnd.nextInt(3);
                while (work-- > 0 && run.step()) {
                    // some of the work that is ready
                }
                if (work >= 0) { // ran out of ready work: what is final must have come out
                    int k = known[0] - 1; // the last window known; its successor exists
                    long finished = k + 2L - (long) m * steps; // windows 0.. finished-1 are final
                    assertThat((long) next[0]).as("frames out with windows 0..%d known (%s, N=%d)", k, plan, steps)
                            .isGreaterThanOrEqualTo(Math.max(0, finished) * stride);
                }
            }
            run.add(windows.getLast());
            known[0]++;
            run.finish(total);
            while (run.step()) {
                // the rest
            }
            assertThat(run.isDone()).isTrue();
        }
        for (int t = 0; t < total; t++) {
            assertThat(finals[t]).as("frame %d bits (%s)", t, plan).containsExactly(expected[t]);
        }
    }

    @Test
    void aWindowOutOfTheLayoutOrAWrongEndIsRejected() {
        WavefrontDenoiser d = new WavefrontDenoiser(21, 5, OverlapWeights.log(5), WavefrontDenoiserTest.schedule(2), 1,
                1);
        try (WavefrontDenoiser.Open run = d.open((f, dst) -> { }, (w, i, t, x, v) -> { }, (w, i) -> { },
                (f, l) -> { })) {
            assertThatThrownBy(() -> run.add(new Window(0, 1, 22))).isInstanceOf(IllegalArgumentException.class);
            run.add(new Window(0, 0, 21));
            assertThatThrownBy(() -> run.add(new Window(1, 17, 38))).isInstanceOf(IllegalArgumentException.class);
            assertThat(run.step()).as("(0, 0) is ready").isTrue();
            assertThat(run.step()).as("(0, 1) waits for window 1").isFalse();
            assertThatThrownBy(() -> run.finish(30)).isInstanceOf(IllegalArgumentException.class);
            assertThat(run.isDone()).isFalse();
        }
    }

    /**
     * The low-latency order: each window's N steps before the next window starts, its first O frames
     * blended at every step with the previous window's value of that step. Checked against a direct
     * implementation (windows one after the other, no shared timeline), with windows added as they
     * come; a window's own frames come out as soon as it has run, without waiting for the next one.
     */
    @Property(tries = 150)
    void sequentialModeFinishesEachWindowBeforeTheNext(
            @ForAll @IntRange(min = 1, max = 120) int total,
            @ForAll @IntRange(min = 3, max = 25) int f,
            @ForAll @IntRange(min = 0, max = 1 << 20) int overlapPick,
            @ForAll @IntRange(min = 1, max = 5) int steps,
            @ForAll long seed) {
        int o = 2 + overlapPick % (f - 2);
        int channels = 2;
        int hw = 2;
        WindowPlan plan = WindowPlan.create(total, f, o);
        float[] w = OverlapWeights.log(o);
        SigmaSchedule s = WavefrontDenoiserTest.schedule(steps);
        InitialLatents init = WavefrontDenoiserTest.noise(seed);
        WindowVelocity model = WavefrontDenoiserTest.mixingModel(channels, hw);
        int[][] expected = sequentialOracle(plan, w, s, channels, hw, init, model);

        List<Window> windows = plan.windows();
        int stride = f - o;
        int[][] finals = new int[total][];
        int[] next = {0};
        int[] running = {-1};
        SplittableRandom rnd = new SplittableRandom(seed);
        WavefrontDenoiser d = new WavefrontDenoiser(f, o, w, s, channels, hw);
        try (WavefrontDenoiser.Open run = d.open(init, (win, step, t, x, v) -> {
            if (step == 0) {
                assertThat(running[0]).as("window %d starts after window %d has finished", win.index(), running[0])
                        .isEqualTo(win.index() - 1);
                running[0] = win.index();
            } else {
                assertThat(running[0]).as("one window at a time").isEqualTo(win.index());
            }
            model.velocity(win, step, t, x, v);
        }, (win, step) -> { }, (frame, latents) -> {
            assertThat(frame).as("finals in order, once").isEqualTo(next[0]++);
            finals[frame] = WavefrontDenoiserTest.bits(latents);
        }, true)) {
            for (Window win : windows) {
                if (win.index() == windows.size() - 1) {
                    break;
                }
                run.add(win);
                int work = rnd.nextInt(3) == 0 ? Integer.MAX_VALUE : rnd.nextInt(2 * steps);
                while (work-- > 0 && run.step()) {
                    // some of the ready work
                }
                if (work >= 0 && m(f, o) == 1) { // out of work: every window known has run, its own frames are out
                    assertThat(next[0]).as("frames out with windows 0..%d known", win.index())
                            .isEqualTo((win.index() + 1) * stride);
                }
            }
            run.add(windows.getLast());
            run.finish(total);
            while (run.step()) {
                // the rest
            }
            assertThat(run.isDone()).isTrue();
        }
        for (int t = 0; t < total; t++) {
            assertThat(finals[t]).as("frame %d bits (%s, N=%d)", t, plan, steps).containsExactly(expected[t]);
        }
    }

    private static int m(int f, int o) {
        return (f - 1) / (f - o);
    }

    /** Windows one after the other, each from its own noise, its first O frames blended per step. */
    private static int[][] sequentialOracle(WindowPlan plan, float[] w, SigmaSchedule s, int channels, int hw,
                                            InitialLatents init, WindowVelocity model) {
        java.lang.foreign.ValueLayout.OfFloat F = java.lang.foreign.ValueLayout.JAVA_FLOAT;
        int total = plan.latentFrames();
        int o = plan.overlap();
        int stride = plan.stride();
        int steps = s.steps();
        long ff = (long) channels * hw;
        int[][] out = new int[total][];
        float[][][] prev = null; // [step][j][c·hw + p]: the previous window's values at the next window's first O frames
        List<Window> windows = plan.windows();
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            for (Window win : windows) {
                int len = win.length();
                java.lang.foreign.MemorySegment x = arena.allocate(len * ff * 4);
                java.lang.foreign.MemorySegment v = arena.allocate(len * ff * 4);
                java.lang.foreign.MemorySegment noise = arena.allocate(ff * 4);
                for (int j = 0; j < len; j++) {
                    noise.fill((byte) 0);
                    init.fill(win.start() + j, noise);
                    for (int c = 0; c < channels; c++) {
                        for (int p = 0; p < hw; p++) {
                            x.setAtIndex(F, ((long) c * len + j) * hw + p, noise.getAtIndex(F, (long) c * hw + p));
                        }
                    }
                }
                float[][][] mine = new float[steps][o][];
                for (int i = 0; i < steps; i++) {
                    model.velocity(win, i, s.timestep(i), x.asReadOnly(), v);
                    dev.avatar4j.sampling.EulerStep.apply(x, v, s.dt(i), len * ff);
                    if (win.index() > 0 && i > 0) {
                        for (int j = 0; j < o; j++) {
                            float wNew = w[j];
                            float wOld = 1f - wNew;
                            for (int c = 0; c < channels; c++) {
                                for (int p = 0; p < hw; p++) {
                                    long e = ((long) c * len + j) * hw + p;
                                    x.setAtIndex(F, e, x.getAtIndex(F, e) * wNew + prev[i][j][c * hw + p] * wOld);
                                }
                            }
                        }
                    }
                    for (int j = 0; j < o && stride + j < len; j++) {
                        float[] frame = new float[(int) ff];
                        for (int c = 0; c < channels; c++) {
                            for (int p = 0; p < hw; p++) {
                                frame[c * hw + p] = x.getAtIndex(F, ((long) c * len + stride + j) * hw + p);
                            }
                        }
                        mine[i][j] = frame;
                    }
                }
                boolean last = win.index() == windows.size() - 1;
                int owned = last ? len : stride;
                for (int j = 0; j < owned; j++) {
                    int[] bits = new int[(int) ff];
                    for (int c = 0; c < channels; c++) {
                        for (int p = 0; p < hw; p++) {
                            bits[c * hw + p] = Float.floatToRawIntBits(x.getAtIndex(F, ((long) c * len + j) * hw + p));
                        }
                    }
                    out[win.start() + j] = bits;
                }
                prev = mine;
            }
        }
        return out;
    }
}
