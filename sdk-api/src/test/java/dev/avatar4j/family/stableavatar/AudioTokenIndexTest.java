package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Golden values: docs/REFERENCE.md Appendix A block F. The full range lists were printed by
 * {@code split()} in compute_vectors.py, the design notes' script that printed Appendix A (ranges
 * after the ±4 widening, inclusive).
 */
class AudioTokenIndexTest {

    private static final int[][] RANGES_161 = {{-9, 5}, {-3, 11}, {5, 19}, {13, 27}, {21, 35}, {29, 43},
        {37, 51}, {45, 59}, {53, 67}, {61, 75}, {69, 83}, {77, 91}, {85, 99}, {93, 107}, {101, 115},
        {109, 123}, {117, 131}, {125, 139}, {133, 147}, {141, 155}, {149, 163}};

    private static final int[][] RANGES_167 = {{-11, 5}, {-3, 13}, {5, 21}, {13, 29}, {21, 37}, {30, 46},
        {38, 54}, {46, 62}, {54, 70}, {63, 79}, {71, 87}, {79, 95}, {87, 103}, {96, 112}, {104, 120},
        {112, 128}, {120, 136}, {129, 145}, {137, 153}, {145, 161}, {153, 169}};

    private static final int[][] RANGES_121 = {{-7, 5}, {-3, 9}, {3, 15}, {9, 21}, {15, 27}, {21, 33},
        {27, 39}, {33, 45}, {39, 51}, {45, 57}, {51, 63}, {57, 69}, {63, 75}, {69, 81}, {75, 87}, {81, 93},
        {87, 99}, {93, 105}, {99, 111}, {105, 117}, {111, 123}};

    /** The row the reference builds for an inclusive range: valid tokens, then −1 padding to W. */
    private static long[] row(int a, int b, int tokens, int width) {
        long[] r = new long[width];
        int col = 0;
        for (int t = Math.max(a, 0); t <= Math.min(b, tokens - 1); t++) {
            r[col++] = t;
        }
        while (col < width) {
            r[col++] = -1;
        }
        return r;
    }

    private static void assertTable(int tokens, int width, int[][] ranges) {
        assertThat(AudioTokenIndex.windowTokens(tokens, 81)).isEqualTo(width);
        long[][] table = AudioTokenIndex.build(tokens, 21, 81);
        assertThat(table).hasNumberOfRows(21);
        for (int i = 0; i < 21; i++) {
            assertThat(ranges[i][1] - ranges[i][0] + 1).isEqualTo(width);
            assertThat(table[i]).as("latent %d", i).containsExactly(row(ranges[i][0], ranges[i][1], tokens, width));
        }
    }

    @Test
    void eightyOneFrameAudio161Tokens() {
        assertTable(161, 15, RANGES_161);
        long[][] t = AudioTokenIndex.build(161, 21, 81);
        // lat0: range [-9,5] → 6 valid tokens 0..5, then 9 pads at the END (left-aligned)
        assertThat(t[0]).containsExactly(0, 1, 2, 3, 4, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1);
        // lat1: [-3,11] → 0..11 + 3 pads
        assertThat(t[1]).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -1, -1, -1);
        assertThat(t[2]).containsExactly(5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19);
        assertThat(t[19][0]).isEqualTo(141);
        assertThat(t[19][14]).isEqualTo(155);
        // lat20: [149,163] → 149..160 + 3 pads
        assertThat(t[20]).containsExactly(149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, -1, -1, -1);
    }

    @Test
    void eightyFourFrameAudio167Tokens() {
        assertTable(167, 17, RANGES_167);
        long[][] t = AudioTokenIndex.build(167, 21, 81);
        assertThat(t[0]).startsWith(0, 1, 2, 3, 4, 5, -1).endsWith(-1);
        assertThat(t[20]).startsWith(153).contains(166).endsWith(-1, -1, -1);
    }

    @Test
    void tailWindow121Tokens() {
        assertTable(121, 13, RANGES_121);
    }

    @Property(tries = 200)
    void rowsAreValidRunsFollowedByPadding(@ForAll @IntRange(min = 20, max = 2000) int tokens) {
        long[][] t = AudioTokenIndex.build(tokens, 21, 81);
        int width = AudioTokenIndex.windowTokens(tokens, 81);
        for (long[] r : t) {
            assertThat(r).hasSize(width);
            int col = 0;
            while (col < width && r[col] >= 0) {
                assertThat(r[col]).isLessThan(tokens);
                if (col > 0) {
                    assertThat(r[col]).isEqualTo(r[col - 1] + 1);
                }
                col++;
            }
            assertThat(col).as("at least one valid token").isPositive();
            for (; col < width; col++) {
                assertThat(r[col]).isEqualTo(-1);
            }
        }
    }

    @Test
    void rejectsDegenerateArguments() {
        assertThatThrownBy(() -> AudioTokenIndex.build(0, 21, 81)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AudioTokenIndex.build(161, 1, 81)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AudioTokenIndex.windowTokens(161, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
