package dev.avatar4j.face;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Golden numbers of MediaPipe's SSD anchors for the 128×128 short-range BlazeFace model. */
class BlazeFaceAnchorsTest {
    private static final float[] A = BlazeFaceAnchors.centres();

    private static void assertAnchor(int i, double x, double y) {
        assertThat(A[2 * i]).as("anchor %d x", i).isCloseTo((float) x, within(1e-7f));
        assertThat(A[2 * i + 1]).as("anchor %d y", i).isCloseTo((float) y, within(1e-7f));
    }

    @Test
    void countMatchesTheModelHeads() {
        assertThat(A).hasSize(2 * (512 + 384));
    }

    @Test
    void sixteenBySixteenMapHasTwoAnchorsPerCellRowMajor() {
        assertAnchor(0, 0.03125, 0.03125);
        assertAnchor(1, 0.03125, 0.03125);
        assertAnchor(2, 0.09375, 0.03125);
        assertAnchor(31, 0.96875, 0.03125);
        assertAnchor(32, 0.03125, 0.09375);
        assertAnchor(511, 0.96875, 0.96875);
    }

    @Test
    void eightByEightMapHasSixAnchorsPerCell() {
        for (int i = 512; i < 518; i++) {
            assertAnchor(i, 0.0625, 0.0625);
        }
        assertAnchor(518, 0.1875, 0.0625);
        assertAnchor(512 + 6 * 8, 0.0625, 0.1875);
        assertAnchor(895, 0.9375, 0.9375);
    }
}
