package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.avatar4j.family.latentsync.AlignedFaceCrop.FloatImage;
import dev.avatar4j.media.RgbImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Against OpenCV 4.6 ({@code tools/golden/paste_back_golden.py}, same synthetic images), plus the
 * property that pixels away from the face come back untouched.
 */
class AlignedFaceCropTest {
    private static final int FW = 96;
    private static final int FH = 72;
    private static final int CW = 42;
    private static final int CH = 56;
    private static final Affine M = new Affine(0.61, -0.12, -12.5, 0.12, 0.61, -9.25);

    static RgbImage frame(int w, int h, int seed) {
        byte[] px = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int o = (y * w + x) * 3;
                px[o] = (byte) ((x * 3 + y + seed) % 256);
                px[o + 1] = (byte) ((y * 5 + 17 + seed) % 256);
                px[o + 2] = (byte) ((x * y + seed) % 256);
            }
        }
        return RgbImage.ofOwned(w, h, px);
    }

    static FloatImage face(int w, int h) {
        float[] d = new float[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int o = (y * w + x) * 3;
                d[o] = Math.floorMod(200 - x, 256);
                d[o + 1] = (y * 4) % 256;
                d[o + 2] = (x + y * 2 + 60) % 256;
            }
        }
        return new FloatImage(w, h, 3, d);
    }

    private static ByteBuffer resource(String name) throws IOException {
        try (InputStream in = AlignedFaceCropTest.class.getResourceAsStream("/golden/latentsync/" + name)) {
            assertThat(in).as(name).isNotNull();
            return ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private static float[] floats(String name) throws IOException {
        ByteBuffer b = resource(name);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }

    @Test
    void warpMatchesOpenCv() throws IOException {
        float[] expected = floats("warp_f32.bin");
        float[] actual = AlignedFaceCrop.warp(FloatImage.of(frame(FW, FH, 0)), M, CW, CH, 127f).data();
        assertThat(actual).hasSameSizeAs(expected);
        // same fixed-point positions and float32 weights; only the summation order may differ
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("value %d", i).isCloseTo(expected[i], within(1e-3));
        }
    }

    @Test
    void integerTranslationIsExact() {
        RgbImage f = frame(20, 10, 3);
        FloatImage out = AlignedFaceCrop.warp(FloatImage.of(f), new Affine(1, 0, -4, 0, 1, -2), 8, 5, 127f);
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 8; x++) {
                for (int c = 0; c < 3; c++) {
                    assertThat(out.get(x, y, c)).isEqualTo((float) f.channel(x + 4, y + 2, c));
                }
            }
        }
        FloatImage outside = AlignedFaceCrop.warp(FloatImage.of(f), new Affine(1, 0, 100, 0, 1, 0), 4, 4, 127f);
        for (float v : outside.data()) {
            assertThat(v).isEqualTo(127f);
        }
    }

    @Test
    void pasteBackMatchesOpenCv() throws IOException {
        RgbImage f = frame(FW, FH, 0);
        RgbImage out = AlignedFaceCrop.pasteBack(f, face(CW, CH), M);
        byte[] expected = resource("paste_u8.bin").array();
        byte[] actual = out.toRgbArray();
        assertThat(actual).hasSameSizeAs(expected);
        int changed = 0;
        double sum = 0;
        for (int i = 0; i < expected.length; i++) {
            int d = Math.abs((actual[i] & 0xFF) - (expected[i] & 0xFF));
            assertThat(d).as("byte %d", i).isLessThanOrEqualTo(1); // truncation of a float32 sum
            sum += d;
            if (actual[i] != f.toRgbArray()[i]) {
                changed++;
            }
        }
        assertThat(sum / expected.length).isLessThan(0.01);
        assertThat(changed).isGreaterThan(3000); // the face really went in
    }

    @Test
    void softMaskMatchesOpenCv() throws IOException {
        float[] expected = floats("soft_f32.bin");
        // the same steps pasteBack takes, on the mask alone
        Affine inv = M.inverse();
        float[] mask = AlignedFaceCrop.warp(FloatImage.filled(CW, CH, 1f), inv, FW, FH, 0f).data();
        float[] eroded = AlignedFaceCrop.erode(mask, FW, FH, 2);
        double area = 0;
        for (float v : eroded) {
            area += v;
        }
        int wEdge = (int) Math.sqrt(area) / 20;
        assertThat(wEdge).isEqualTo(3); // the script prints area 4403.2, w_edge 3
        float[] soft = AlignedFaceCrop.gaussianBlur(AlignedFaceCrop.erode(eroded, FW, FH, 2 * wEdge), FW, FH, 7,
                0.3 * (3 - 1) + 0.8);
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) soft[i]).as("pixel %d", i).isCloseTo(expected[i], within(1e-5));
        }
    }

    @Test
    void erosionAndBlurBasics() {
        // 2x2 erosion anchors at (1, 1): a single zero spreads right and down
        float[] m = {1, 1, 1, 1, 0, 1, 1, 1, 1};
        assertThat(AlignedFaceCrop.erode(m, 3, 3, 2)).containsExactly(1, 1, 1, 1, 0, 0, 1, 0, 0);
        // blur keeps a constant image and the total of an interior impulse
        float[] flat = new float[25];
        java.util.Arrays.fill(flat, 0.5f);
        for (float v : AlignedFaceCrop.gaussianBlur(flat, 5, 5, 3, 0.8)) {
            assertThat((double) v).isCloseTo(0.5, within(1e-6));
        }
        float[] impulse = new float[49];
        impulse[24] = 1;
        double total = 0;
        for (float v : AlignedFaceCrop.gaussianBlur(impulse, 7, 7, 3, 0.8)) {
            total += v;
        }
        assertThat(total).isCloseTo(1, within(1e-6));
    }

    /** Every pixel more than one pixel away from the warped crop keeps its exact bytes. */
    @Property(tries = 60)
    void pixelsOutsideTheFaceAreUntouched(@ForAll @DoubleRange(min = 0.8, max = 3.0) double scale,
                                          @ForAll @DoubleRange(min = -0.6, max = 0.6) double angle,
                                          @ForAll @DoubleRange(min = 10, max = 110) double cx,
                                          @ForAll @DoubleRange(min = 10, max = 70) double cy,
                                          @ForAll @IntRange(min = 0, max = 255) int seed) {
        int w = 120;
        int h = 80;
        // frame -> crop: crop centre (CW/2, CH/2) sits at frame point (cx, cy)
        double c = Math.cos(angle) / scale;
        double s = Math.sin(angle) / scale;
        Affine m = new Affine(c, -s, CW / 2.0 - (c * cx - s * cy), s, c, CH / 2.0 - (s * cx + c * cy));
        RgbImage f = frame(w, h, seed);
        RgbImage out = AlignedFaceCrop.pasteBack(f, face(CW, CH), m);
        Affine inv = m.inverse();
        float[] support = AlignedFaceCrop.warp(FloatImage.filled(CW, CH, 1f), inv, w, h, 0f).data();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (!nearSupport(support, w, h, x, y)) {
                    for (int ch = 0; ch < 3; ch++) {
                        assertThat(out.channel(x, y, ch)).as("(%d,%d,%d)", x, y, ch).isEqualTo(f.channel(x, y, ch));
                    }
                }
            }
        }
    }

    /** The paste-back computed on the whole frame, as the reference does (pasteBack works on a window). */
    static RgbImage wholeFramePasteBack(RgbImage frame, FloatImage face, Affine frameToCrop) {
        int w = frame.width();
        int h = frame.height();
        Affine inv = frameToCrop.inverse();
        float[] rf = AlignedFaceCrop.warp(face, inv, w, h, 0f).data();
        float[] eroded = AlignedFaceCrop.erode(AlignedFaceCrop.warp(FloatImage.filled(face.width(), face.height(), 1f), inv, w, h, 0f)
                .data(), w, h, 2);
        double area = 0;
        for (float v : eroded) {
            area += v;
        }
        int wEdge = (int) Math.sqrt(area) / 20;
        float[] centre = wEdge > 0 ? AlignedFaceCrop.erode(eroded, w, h, 2 * wEdge) : eroded;
        int k = 2 * wEdge + 1;
        float[] soft = AlignedFaceCrop.gaussianBlur(centre, w, h, k, 0.3 * ((k - 1) / 2.0 - 1) + 0.8);
        byte[] px = frame.toRgbArray();
        for (int i = 0; i < w * h; i++) {
            if (soft[i] != 0f) {
                for (int c = 0; c < 3; c++) {
                    float v = soft[i] * (eroded[i] * rf[3 * i + c]) + (1 - soft[i]) * (px[3 * i + c] & 0xFF);
                    px[3 * i + c] = (byte) Math.max(0, Math.min(255, (int) v));
                }
            }
        }
        return RgbImage.of(w, h, px);
    }

    /** Working on the crop's window gives the whole-frame numbers, also for crops cut by the frame's edges. */
    @Property(tries = 80)
    void theWindowedPasteBackEqualsTheWholeFrameOne(@ForAll @DoubleRange(min = 0.15, max = 3.0) double scale,
                                                    @ForAll @DoubleRange(min = -3.2, max = 3.2) double angle,
                                                    @ForAll @DoubleRange(min = -60, max = 260) double cx,
                                                    @ForAll @DoubleRange(min = -60, max = 180) double cy,
                                                    @ForAll @IntRange(min = 0, max = 255) int seed) {
        int w = 201;
        int h = 121;
        double c = Math.cos(angle) / scale;
        double s = Math.sin(angle) / scale;
        Affine m = new Affine(c, -s, CW / 2.0 - (c * cx - s * cy), s, c, CH / 2.0 - (s * cx + c * cy));
        RgbImage f = frame(w, h, seed);
        FloatImage face = face(CW, CH);
        assertThat(AlignedFaceCrop.pasteBack(f, face, m).toRgbArray()).isEqualTo(wholeFramePasteBack(f, face, m).toRgbArray());
    }

    @Test
    void theWindowedWarpEqualsTheWholeWarp() {
        FloatImage face = face(CW, CH);
        Affine inv = M.inverse();
        FloatImage whole = AlignedFaceCrop.warp(face, inv, FW, FH, 0f);
        FloatImage part = AlignedFaceCrop.warp(face, inv, 7, 5, 30, 20, 0f);
        for (int y = 0; y < 20; y++) {
            for (int x = 0; x < 30; x++) {
                for (int ch = 0; ch < 3; ch++) {
                    assertThat(part.get(x, y, ch)).isEqualTo(whole.get(x + 7, y + 5, ch));
                }
            }
        }
    }

    private static boolean nearSupport(float[] support, int w, int h, int x, int y) {
        for (int dy = -1; dy <= 1; dy++) {
            for (int dx = -1; dx <= 1; dx++) {
                int xx = x + dx;
                int yy = y + dy;
                if (xx >= 0 && yy >= 0 && xx < w && yy < h && support[yy * w + xx] > 0) {
                    return true;
                }
            }
        }
        return false;
    }
}
