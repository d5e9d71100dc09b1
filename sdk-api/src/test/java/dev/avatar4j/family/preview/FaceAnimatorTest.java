package dev.avatar4j.family.preview;

import dev.avatar4j.face.FaceDetection;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The warp on a synthetic face: identity at rest, untouched outside the region, continuous. */
class FaceAnimatorTest {
    private static final int W = 256;
    private static final int H = 256;

    private static byte[] noise() {
        byte[] b = new byte[W * H * 3];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return b;
    }

    /** An upright face: eyes at (108, 100) and (148, 100), mouth at (128, 144). */
    private static FaceRig rig() {
        double[] k = {108, 100, 148, 100, 128, 122, 128, 144, 88, 108, 168, 108};
        return new FaceRig(new FaceDetection(0.9, 128, 118, 90, 90, k));
    }

    private static byte[] render(byte[] src, MouthShape m, double blink, double[] pose) {
        byte[] dst = src.clone();
        FaceAnimator.render(src, dst, W, H, rig(), m, blink, pose);
        return dst;
    }

    @Test
    void restPoseIsTheIdentity() {
        byte[] src = noise();
        assertThat(render(src, MouthShape.CLOSED, 0, new double[3])).isEqualTo(src);
    }

    @Test
    void pixelsOutsideTheRegionAreUntouchedAndTheMouthOpens() {
        byte[] src = noise();
        FaceRig rig = rig();
        byte[] dst = render(src, new MouthShape(1, 0.5, 0.5), 1, new double[] {0.02, 0.02, 0.02});
        int changedInside = 0;
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                int o = (y * W + x) * 3;
                boolean same = dst[o] == src[o] && dst[o + 1] == src[o + 1] && dst[o + 2] == src[o + 2];
                if (rig.rho(x, y) >= FaceRig.REGION) {
                    assertThat(same).as("pixel (%d, %d) outside the region", x, y).isTrue();
                } else if (!same) {
                    changedInside++;
                }
            }
        }
        assertThat(changedInside).isGreaterThan(1000);
        // the centre of the open mouth is the dark interior
        int o = ((int) Math.round(rig.mouthY + 0.4 * FaceAnimator.MAX_GAP * rig.l) * W + 128) * 3;
        assertThat((dst[o] & 0xFF) + (dst[o + 1] & 0xFF) + (dst[o + 2] & 0xFF)).isLessThan(3 * 120);
    }

    @Test
    void theWarpIsContinuousAcrossTheRegionBorder() {
        // a smooth gradient image stays smooth: no neighbouring pixels jump apart except in the mouth
        byte[] src = new byte[W * H * 3];
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                int o = (y * W + x) * 3;
                src[o] = (byte) x;
                src[o + 1] = (byte) y;
                src[o + 2] = (byte) 128;
            }
        }
        FaceRig rig = rig();
        byte[] dst = render(src, new MouthShape(0.6, 0, 0), 0, new double[] {0.017, 0.02, 0.02});
        for (int y = 0; y < H; y++) {
            for (int x = 1; x < W; x++) {
                double mu = ((x - rig.mouthX) / rig.mouthHalfWidth);
                double mv = ((y - rig.mouthY) / rig.l);
                if (Math.abs(mu) < 1.3 && Math.abs(mv) < 0.3) {
                    continue; // the mouth opening is a deliberate cut
                }
                int o = (y * W + x) * 3;
                assertThat(Math.abs((dst[o] & 0xFF) - (dst[o - 3] & 0xFF))).as("step at (%d, %d)", x, y).isLessThanOrEqualTo(3);
            }
        }
    }

    @Test
    void aGreyPhotoGetsAGreyMouth() {
        byte[] grey = new byte[W * H * 3];
        java.util.Arrays.fill(grey, (byte) 150);
        FaceRig rig = rig();
        assertThat(rig.colourfulness(grey, W, H)).isZero();
        byte[] dst = grey.clone();
        FaceAnimator.render(grey, dst, W, H, rig, new MouthShape(1, 0, 0), 0, new double[3], rig.colourfulness(grey, W, H));
        int changed = 0;
        for (int i = 0; i < dst.length; i += 3) {
            assertThat(dst[i]).isEqualTo(dst[i + 1]).isEqualTo(dst[i + 2]);
            changed += dst[i] != grey[i] ? 1 : 0;
        }
        assertThat(changed).as("the painted interior").isGreaterThan(50);
    }
}
