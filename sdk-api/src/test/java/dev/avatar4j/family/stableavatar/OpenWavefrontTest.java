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
}
