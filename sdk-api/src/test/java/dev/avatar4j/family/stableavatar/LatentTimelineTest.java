package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class LatentTimelineTest {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    /** frame t, channel c, pixel p holds t·100 + c·10 + p. */
    private static LatentTimeline numbered(int frames, int channels, int hw) {
        LatentTimeline tl = new LatentTimeline(frames, (long) channels * hw);
        for (int t = 0; t < frames; t++) {
            for (int c = 0; c < channels; c++) {
                for (int p = 0; p < hw; p++) {
                    tl.frame(t).setAtIndex(F, (long) c * hw + p, t * 100 + c * 10 + p);
                }
            }
        }
        return tl;
    }

    @Test
    void startsZeroed() {
        try (LatentTimeline tl = new LatentTimeline(3, 8)) {
            assertThat(tl.frames()).isEqualTo(3);
            assertThat(tl.frameFloats()).isEqualTo(8);
            for (int t = 0; t < 3; t++) {
                assertThat(tl.frame(t).toArray(F)).containsOnly(0f).hasSize(8);
            }
        }
    }

    @Test
    void gatherIsChannelMajor() {
        int channels = 2;
        int hw = 3;
        try (LatentTimeline tl = numbered(6, channels, hw); Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(3L * channels * hw * Float.BYTES);
            tl.gather(2, 5, channels, dst); // k = 3
            float[] got = dst.toArray(F);
            // [C, k, hw]: c = 0 block holds frames 2, 3, 4 channel 0, then the c = 1 block
            assertThat(got).containsExactly(
                    200, 201, 202, 300, 301, 302, 400, 401, 402,
                    210, 211, 212, 310, 311, 312, 410, 411, 412);
        }
    }

    @Test
    void scatterInvertsGather() {
        int channels = 3;
        int hw = 4;
        try (LatentTimeline src = numbered(7, channels, hw);
             LatentTimeline dst = new LatentTimeline(7, (long) channels * hw);
             Arena arena = Arena.ofConfined()) {
            MemorySegment window = arena.allocate(5L * channels * hw * Float.BYTES);
            src.gather(1, 6, channels, window);
            dst.scatter(1, 6, channels, window);
            for (int t = 0; t < 7; t++) {
                float[] expected = (t >= 1 && t < 6) ? src.frame(t).toArray(F) : new float[channels * hw];
                assertThat(dst.frame(t).toArray(F)).as("frame %d", t).containsExactly(expected);
            }
        }
    }

    @Test
    void copyFromCopiesEverything() {
        try (LatentTimeline a = numbered(4, 2, 2); LatentTimeline b = new LatentTimeline(4, 4)) {
            b.copyFrom(a);
            for (int t = 0; t < 4; t++) {
                assertThat(b.frame(t).toArray(F)).containsExactly(a.frame(t).toArray(F));
            }
            try (LatentTimeline c = new LatentTimeline(5, 4)) {
                assertThatThrownBy(() -> c.copyFrom(a)).isInstanceOf(IllegalArgumentException.class);
            }
        }
    }

    @Test
    void checksRangesAndClosesOnce() {
        LatentTimeline tl = new LatentTimeline(4, 6);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment small = arena.allocate(6 * Float.BYTES);
            assertThatThrownBy(() -> tl.frame(4)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> tl.gather(3, 5, 2, small)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> tl.gather(0, 2, 2, small)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> tl.gather(0, 1, 4, small)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("does not divide");
        }
        MemorySegment f = tl.frame(0);
        tl.close();
        tl.close();
        assertThatThrownBy(() -> f.get(F, 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new LatentTimeline(0, 4)).isInstanceOf(IllegalArgumentException.class);
    }
}
