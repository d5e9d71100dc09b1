package dev.avatar4j.family.longcat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Golden tables: tools/longcat_golden.py (numpy replica of the demo's indexing and the DiT's rearranges). */
class LongCatAudioWindowsTest {

    private static final Golden GOLDEN = Golden.load("/golden/longcat-golden.txt");

    @ParameterizedTest
    @CsvSource({"0,2000", "80,2000", "0,60", "160,170"})
    void matchGolden(int start, int length) {
        String key = "win.s" + start + ".len" + length;
        int[][] w = LongCatAudioWindows.frameWindows(start, 93, 1, length);
        assertThat(flat(w)).containsExactly(GOLDEN.ints(key + ".frames"));
        int[][] lat = LongCatAudioWindows.latentWindows(w);
        assertThat(lat).hasNumberOfRows(24);
        assertThat(lat[0]).containsExactly(GOLDEN.ints(key + ".latent0"));
        int[][] rest = java.util.Arrays.copyOfRange(lat, 1, lat.length);
        assertThat(flat(rest)).containsExactly(GOLDEN.ints(key + ".union"));
    }

    @Test
    void firstSegmentByHand() {
        int[][] w = LongCatAudioWindows.frameWindows(0, 93, 1, 1000);
        assertThat(w[0]).containsExactly(0, 0, 0, 1, 2);     // clamped at the start
        assertThat(w[10]).containsExactly(8, 9, 10, 11, 12);
        int[][] lat = LongCatAudioWindows.latentWindows(w);
        // latent 1 = frames 1..4: [−1→0, 0, 1] ∪ {2} ∪ {3} ∪ [4, 5, 6]
        assertThat(lat[1]).containsExactly(0, 0, 1, 2, 3, 4, 5, 6);
        assertThat(lat[23]).containsExactly(87, 88, 89, 90, 91, 92, 93, 94);
    }

    @Test
    void rejectsBadShapes() {
        assertThatThrownBy(() -> LongCatAudioWindows.latentWindows(new int[4][5]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LongCatAudioWindows.frameWindows(0, 0, 1, 10))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static int[] flat(int[][] a) {
        return java.util.Arrays.stream(a).flatMapToInt(java.util.Arrays::stream).toArray();
    }
}
