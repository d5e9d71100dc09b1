package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Golden values: docs/REFERENCE.md Appendix A block E (F = 21). */
class WindowPlanTest {

    private static int latentsForSeconds(double seconds) {
        return AudioWindowSlicer.latentFrames((long) (seconds * 16000), 640, 4);
    }

    private static List<int[]> ranges(WindowPlan plan) {
        List<int[]> out = new ArrayList<>();
        for (Window w : plan.windows()) {
            out.add(new int[] {w.start(), w.end()});
        }
        return out;
    }

    @Test
    void fourSeconds() {
        int t = latentsForSeconds(4.0);
        assertThat(t).isEqualTo(25);
        assertThat(ranges(WindowPlan.create(t, 21, 5))).containsExactly(new int[] {0, 21}, new int[] {16, 25});
        assertThat(ranges(WindowPlan.create(t, 21, 10))).containsExactly(new int[] {0, 21}, new int[] {11, 25});
    }

    @Test
    void fiveSeconds() {
        int t = latentsForSeconds(5.0);
        assertThat(t).isEqualTo(32);
        WindowPlan plan = WindowPlan.create(t, 21, 5);
        assertThat(ranges(plan)).containsExactly(new int[] {0, 21}, new int[] {16, 32});
        assertThat(plan.windows().get(1)).isEqualTo(new Window(1, 16, 32));
        assertThat(plan.stride()).isEqualTo(16);
        assertThat(ranges(WindowPlan.create(t, 21, 10))).containsExactly(new int[] {0, 21}, new int[] {11, 32});
    }

    @Test
    void tenSeconds() {
        int t = latentsForSeconds(10.0);
        assertThat(t).isEqualTo(63);
        assertThat(ranges(WindowPlan.create(t, 21, 5))).containsExactly(
                new int[] {0, 21}, new int[] {16, 37}, new int[] {32, 53}, new int[] {48, 63});
        assertThat(WindowPlan.create(t, 21, 10).windows()).hasSize(5);
    }

    @Test
    void sixtySeconds() {
        int t = latentsForSeconds(60.0);
        assertThat(t).isEqualTo(375);
        List<Window> ov5 = WindowPlan.create(t, 21, 5).windows();
        assertThat(ov5).hasSize(24);
        assertThat(ov5.get(23)).isEqualTo(new Window(23, 368, 375));
        List<Window> ov10 = WindowPlan.create(t, 21, 10).windows();
        assertThat(ov10).hasSize(34);
        assertThat(ov10.get(33)).isEqualTo(new Window(33, 363, 375));
    }

    @Test
    void shortAudioGetsOneShortWindowInsteadOfNone() {
        int t = latentsForSeconds(3.0); // the reference runs no window and decodes zeros
        assertThat(t).isEqualTo(19);
        assertThat(WindowPlan.create(t, 21, 5).windows()).containsExactly(new Window(0, 0, 19));
        assertThat(WindowPlan.create(1, 21, 5).windows()).containsExactly(new Window(0, 0, 1));
    }

    @Test
    void exactlyOneWindowDoesNotHang() {
        int t = latentsForSeconds(3.3); // the reference loops forever here
        assertThat(t).isEqualTo(21);
        assertThat(WindowPlan.create(t, 21, 5).windows()).containsExactly(new Window(0, 0, 21));
    }

    @Test
    void rejectsBadOverlapsAndEmptyTimelines() {
        assertThatThrownBy(() -> WindowPlan.create(40, 21, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("overlap");
        assertThatThrownBy(() -> WindowPlan.create(40, 21, 21)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("smaller than the window");
        assertThatThrownBy(() -> WindowPlan.create(0, 21, 5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("latentFrames");
    }

    /** The reference's while-loop, literally, with a step cap so that its T == F hang shows as null. */
    private static List<int[]> referenceLoop(int t, int f, int o) {
        List<int[]> out = new ArrayList<>();
        int start = 0;
        int end = f;
        boolean last = false;
        while (end <= t) {
            if (out.size() > 10_000) {
                return null; // would never terminate
            }
            out.add(new int[] {start, end});
            if (last) {
                break;
            }
            if (end != t) {
                start += f - o;
                if (start + f < t) {
                    end = start + f;
                } else {
                    end = t;
                    last = true;
                }
            }
        }
        return out;
    }

    @Property(tries = 300)
    void equalsTheReferenceLoopWhereItTerminates(@ForAll @IntRange(min = 1, max = 400) int t,
                                                  @ForAll @IntRange(min = 3, max = 40) int f,
                                                  @ForAll @IntRange(min = 2, max = 39) int o) {
        Assume.that(o < f && t > f);
        assertThat(ranges(WindowPlan.create(t, f, o))).containsExactlyElementsOf(referenceLoop(t, f, o));
    }

    @Property(tries = 500)
    void windowsTileTheTimeline(@ForAll @IntRange(min = 1, max = 400) int t,
                                @ForAll @IntRange(min = 3, max = 40) int f,
                                @ForAll @IntRange(min = 2, max = 39) int o) {
        Assume.that(o < f);
        WindowPlan plan = WindowPlan.create(t, f, o);
        List<Window> ws = plan.windows();
        assertThat(ws.get(0).start()).isZero();
        assertThat(ws.get(ws.size() - 1).end()).isEqualTo(t);
        for (int k = 0; k < ws.size(); k++) {
            Window w = ws.get(k);
            assertThat(w.index()).isEqualTo(k);
            assertThat(w.length()).isLessThanOrEqualTo(f).isPositive();
            if (k > 0) {
                Window prev = ws.get(k - 1);
                // Each start is prev.start + F − O and the previous window always has full length
                // F, so the overlap prev.end − start is exactly O, for the last window as well.
                assertThat(w.start()).isEqualTo(prev.start() + f - o);
                assertThat(prev.length()).isEqualTo(f);
                assertThat(prev.end() - w.start()).isEqualTo(o);
            }
        }
        if (t > f) {
            int expected = 1 + Math.ceilDiv(t - f, f - o);
            assertThat(ws).hasSize(expected);
            // the last window is longer than the overlap, so the blend always fits inside it
            assertThat(ws.get(ws.size() - 1).length()).isGreaterThan(o);
        } else {
            assertThat(ws).containsExactly(new Window(0, 0, t));
        }
    }
}
