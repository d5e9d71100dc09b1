package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.avatar4j.media.RgbImage;
import org.junit.jupiter.api.Test;

class MouthMaskTest {

    /** A 16x16 mask: white on top, black in the lower half, one grey pixel at (9, 12). */
    private static RgbImage mask() {
        byte[] px = new byte[16 * 16 * 3];
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                byte v = (byte) (y < 8 ? 255 : 0);
                if (x == 9 && y == 12) {
                    v = (byte) 51;
                }
                for (int c = 0; c < 3; c++) {
                    px[(y * 16 + x) * 3 + c] = v;
                }
            }
        }
        return RgbImage.of(16, 16, px);
    }

    private static AlignedFaceCrop.FloatImage flat(float v) {
        float[] d = new float[16 * 16 * 3];
        java.util.Arrays.fill(d, v);
        return new AlignedFaceCrop.FloatImage(16, 16, 3, d);
    }

    @Test
    void maskedFaceIsNormalisedAndZeroWhereRegenerated() {
        MouthMask m = MouthMask.of(mask(), 16);
        float[] out = m.masked(flat(255f));
        int plane = 256;
        assertThat(out[0]).isEqualTo(1f);                     // (0,0) kept, 255 -> 1
        assertThat(out[plane + 15 * 16 + 3]).isEqualTo(0f);   // lower half, green channel
        assertThat((double) out[2 * plane + 12 * 16 + 9]).isCloseTo(51 / 255.0, within(1e-6));
        assertThat(m.normalise(flat(0f))[5]).isEqualTo(-1f);
    }

    @Test
    void latentMaskTakesEveryEighthPixel() {
        MouthMask m = MouthMask.of(mask(), 16);
        assertThat(m.latentMask()).containsExactly(1f, 1f, 0f, 0f);
    }

    @Test
    void mixKeepsTheOriginalWhereWhiteAndTheDecodedWhereBlack() {
        MouthMask m = MouthMask.of(mask(), 16);
        AlignedFaceCrop.FloatImage mixed = m.mix(flat(10f), flat(200f));
        assertThat(mixed.get(3, 2, 0)).isEqualTo(200f);
        assertThat(mixed.get(3, 14, 1)).isEqualTo(10f);
        assertThat((double) mixed.get(9, 12, 2)).isCloseTo(10 * (1 - 0.2) + 200 * 0.2, within(1e-4));
    }

    @Test
    void refusesAMaskOfAnotherSize() {
        assertThatThrownBy(() -> MouthMask.of(mask(), 32)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("16x16");
        assertThatThrownBy(() -> MouthMask.of(mask(), 12)).isInstanceOf(IllegalArgumentException.class);
        MouthMask m = MouthMask.of(mask(), 16);
        assertThatThrownBy(() -> m.masked(new AlignedFaceCrop.FloatImage(8, 8, 3, new float[192])))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
