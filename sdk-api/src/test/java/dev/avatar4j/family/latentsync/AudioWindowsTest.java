package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Index rules of docs/REFERENCE.md §2 and Appendix A block H. */
class AudioWindowsTest {

    /** Features where every value encodes (row, layer, column). */
    private static float[] features(int rows, int width) {
        float[] f = new float[rows * 5 * width];
        for (int r = 0; r < rows; r++) {
            for (int l = 0; l < 5; l++) {
                for (int c = 0; c < width; c++) {
                    f[(r * 5 + l) * width + c] = r * 1000 + l * 100 + c;
                }
            }
        }
        return f;
    }

    private static int[] rowsOf(float[] window, int width) {
        int[] rows = new int[10];
        for (int s = 0; s < 10; s++) {
            rows[s] = (int) (window[s * 5 * width] / 1000);
            for (int l = 0; l < 5; l++) {
                assertThat(window[(s * 5 + l) * width + 2]).isEqualTo(rows[s] * 1000 + l * 100 + 2);
            }
        }
        return rows;
    }

    @Test
    void blockHIndicesWithClamping() {
        int width = 3;
        float[] f = features(30, width);
        // frame 0: [-4..5] clamped at 0
        assertThat(rowsOf(AudioWindows.window(f, 30, width, 0), width)).containsExactly(0, 0, 0, 0, 0, 1, 2, 3, 4, 5);
        // frame 1: [-2..7]
        assertThat(rowsOf(AudioWindows.window(f, 30, width, 1), width)).containsExactly(0, 0, 0, 1, 2, 3, 4, 5, 6, 7);
        // frame 10: [16..25]
        assertThat(rowsOf(AudioWindows.window(f, 30, width, 10), width))
                .containsExactly(16, 17, 18, 19, 20, 21, 22, 23, 24, 25);
        // frame 14: [24..33] clamped at N_a - 1 = 29
        assertThat(rowsOf(AudioWindows.window(f, 30, width, 14), width))
                .containsExactly(24, 25, 26, 27, 28, 29, 29, 29, 29, 29);
        assertThat(AudioWindows.window(f, 30, width, 0)).hasSize(50 * width);
    }

    @Test
    void countsOfTheReference() {
        assertThat(AudioWindows.keptRows(3000)).isEqualTo(1500);
        assertThat(AudioWindows.keptRows(127)).isEqualTo(63);
        // 1 s of audio: 100 mel frames -> 50 rows -> 27 windows for 25 video frames
        assertThat(AudioWindows.referenceChunkCount(50)).isEqualTo(27);
        assertThat(AudioWindows.referenceChunkCount(51)).isEqualTo(27);
    }

    @Test
    void rejectsMismatchedSizes() {
        assertThatThrownBy(() -> AudioWindows.window(new float[10], 2, 3, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AudioWindows.window(features(2, 3), 2, 3, -1)).isInstanceOf(IllegalArgumentException.class);
    }
}
