package dev.avatar4j.ffmpeg;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class FpsResamplerTest {

    @Test
    void slotsRoundHalfAwayFromZero() {
        FpsResampler r = new FpsResampler(25);
        assertThat(r.slot(100_000)).isEqualTo(3);   // 2.5 -> 3, as av_rescale_q_rnd(NEAR_INF)
        assertThat(r.slot(99_999)).isEqualTo(2);
        assertThat(r.slot(-100_000)).isEqualTo(-3);
        assertThat(r.slot(0)).isZero();
        assertThat(r.slot(1_000_000)).isEqualTo(25);
    }

    @Test
    void thirtyToTwentyFiveMatchesFfmpegsFpsFilter() {
        // 31 frames at 30 fps; `ffmpeg -vf fps=25` (5.1) shows these source frames:
        Integer[] expected = {0, 1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 22, 23, 24, 25, 26,
            28, 29, 30};
        long[] ts = new long[31];
        for (int i = 0; i < ts.length; i++) {
            ts[i] = Math.round(i * 1e6 / 30);
        }
        assertThat(run(25, ts, ts[30] + Math.round(1e6 / 30))).containsExactly(expected);
    }

    @Test
    void singleShortFrameStillGivesOneFrame() {
        assertThat(run(25, new long[] {0}, 10_000)).containsExactly(0);
    }

    /** The streaming form equals the definition: slot k shows the last frame whose slot is at most k. */
    @Property(tries = 300)
    void streamingEqualsDefinition(@ForAll @Size(min = 1, max = 40) List<@IntRange(min = 0, max = 90_000) Integer> gaps,
                                   @ForAll @IntRange(min = 1, max = 60) int fps,
                                   @ForAll @IntRange(min = 1, max = 90_000) int lastDuration) {
        long[] ts = new long[gaps.size()];
        long t = 1_000; // a non-zero start time
        for (int i = 0; i < ts.length; i++) {
            t += gaps.get(i);
            ts[i] = t;
        }
        long end = ts[ts.length - 1] + lastDuration;
        FpsResampler probe = new FpsResampler(fps);
        long first = probe.slot(ts[0]);
        long total = Math.max(0, probe.slot(end) - first);
        List<Integer> expected = new ArrayList<>();
        for (long k = first; k < first + total; k++) {
            int pick = -1;
            for (int i = 0; i < ts.length; i++) {
                if (probe.slot(ts[i]) <= k) {
                    pick = i;
                }
            }
            expected.add(pick);
        }
        if (expected.isEmpty()) {
            expected.add(ts.length - 1);
        }
        assertThat(run(fps, ts, end)).containsExactlyElementsOf(expected);
    }

    private static List<Integer> run(int fps, long[] ts, long end) {
        FpsResampler r = new FpsResampler(fps);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < ts.length; i++) {
            int n = r.push(ts[i]);
            for (int j = 0; j < n; j++) {
                out.add(i - 1);
            }
        }
        int n = r.finish(end);
        for (int j = 0; j < n; j++) {
            out.add(ts.length - 1);
        }
        assertThat(r.emitted()).isEqualTo(out.size());
        return out;
    }
}
