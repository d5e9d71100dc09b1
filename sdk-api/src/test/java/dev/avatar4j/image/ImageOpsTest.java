package dev.avatar4j.image;

import dev.avatar4j.media.RgbImage;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/**
 * Golden values produced by {@code tools/golden/image_ops_golden.py} with Pillow 9.4.0 and torch
 * 1.13 (Debian python3-pil / python3-torch). The test images and tensors are defined by the same
 * integer formulas here and in the script.
 */
class ImageOpsTest {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private static RgbImage imageA(int w, int h) {
        byte[] px = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    px[(y * w + x) * 3 + c] = (byte) ((x * 37 + y * 91 + c * 53 + x * y * 13) % 256);
                }
            }
        }
        return RgbImage.of(w, h, px);
    }

    private static RgbImage imageB(int w, int h) {
        byte[] px = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    px[(y * w + x) * 3 + c] = (byte) ((x * 29 + y * 71 + c * 101 + ((x * y) % 23) * 11) % 256);
                }
            }
        }
        return RgbImage.of(w, h, px);
    }

    private static long crc(RgbImage img) {
        CRC32 crc = new CRC32();
        crc.update(img.toRgbArray());
        return crc.getValue();
    }

    private static void assertResize(RgbImage src, int w, int h, String hex, long crc32) {
        RgbImage out = ImageOps.resize(src, w, h);
        assertThat(out.width()).isEqualTo(w);
        assertThat(out.height()).isEqualTo(h);
        if (hex != null) {
            assertThat(HexFormat.of().formatHex(out.toRgbArray())).isEqualTo(hex);
        }
        assertThat(crc(out)).isEqualTo(crc32);
    }

    @Test
    void pillowBicubicDownscaleBothAxes() {
        assertResize(imageA(7, 5), 4, 3,
            "3972a48396947e97afa28e7e9b907494877f948e748b629867a08e7f95708f548e8277ac",
            0x7d6823d3L);
    }

    @Test
    void pillowBicubicUpscale() {
        assertResize(imageA(7, 5), 11, 9,
            "002b60053a6e1f548b376ab14c89cd64aee38ac7ffa8e3d2befd23d86b1fe8003d154786245d9b4280b0629f91819892"
            + "977db27c93dc75b7c494d858b78461cd3b7d4c80c1619be486c7ecacf65ad9b02dec2a5f663e87206ba55091b47caad5"
            + "96b5ec8dcb7baca79cc783b492b26d969c68bd5c917c836167865796508f727fc34eade1b2f91cda9837ec26655d518d"
            + "3880c073a8dd9be35acabe1bf52f5483418322699e52903f76716d9d599b7d9e5d909661bf5e93869a797fb37fc487b5"
            + "ac47838d1c510c40822e68a765a6b890da39c9a221f12f647e488f4586c47ac3f9b76397e00b40477cc776af96a0de58"
            + "5996595e7c849e84b9ad3b7a8c2f6b4479af7388bda686bb6da2eba3d88ac5fa21396d6d1f66bf6db7ecc8386cb70035"
            + "294c814b9cd181ccff",
            0x43b14383L);
    }

    @Test
    void pillowBicubicMixedDirections() {
        assertResize(imageA(7, 5), 3, 8,
            "1348826bb0ddcb9753447ea08792a496958d8dbeb9a7705e5a8dcbb590718990848a707e9c775c8a978ba5646f548482"
            + "ab7e6c9b6ca668a8848e6c7f7f6da982c1817363926c6da3",
            0xd7f688afL);
    }

    @Test
    void pillowBicubicWideAntialiasSupport() {
        // 40x30 -> 9x7: scale 4.4 / 4.3, so the kernel spans about 18 source pixels
        assertResize(imageB(40, 30), 9, 7,
            "7890777f857881867f947b7a80897a87778e847f898c8181748a8673788874827e787d7d6f788686837f84777a7c7383"
            + "82767c837a788685736d8c8f7b837c79938d7186887e8a7e686e918b777f738696877e7185797e7a827d8a8088857986"
            + "8185778189799176806a9380828e8788887b7c818059a6486480887d7e8e6d8a8c8b7b7f8f6ba18c7a7c828e837d7485"
            + "5c87867c945e89847f74898c7f7a7aa26875797c867d787f7a788077767f7b7f7f717b7b738079737878797b6f",
            0x792c2567L);
        // 40x30 -> 64x13: upscale in x, downscale in y (whole output checked through its CRC-32)
        assertResize(imageB(40, 30), 64, 13, null, 0x2f442416L);
    }

    @Test
    void resizeToTheSameSizeIsTheIdentity() {
        RgbImage a = imageA(7, 5);
        assertThat(ImageOps.resize(a, 7, 5)).isSameAs(a);
        // one axis unchanged: only the other axis is filtered, rows stay independent
        RgbImage b = ImageOps.resize(a, 7, 3);
        assertThat(b.width()).isEqualTo(7);
        assertThatThrownBy(() -> ImageOps.resize(a, 0, 3)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void uniformImageStaysUniform() {
        byte[] px = new byte[13 * 11 * 3];
        for (int i = 0; i < px.length; i += 3) {
            px[i] = (byte) 200;
            px[i + 1] = 7;
            px[i + 2] = (byte) 255;
        }
        RgbImage out = ImageOps.resize(RgbImage.of(13, 11, px), 5, 17);
        for (int y = 0; y < 17; y++) {
            for (int x = 0; x < 5; x++) {
                assertThat(out.rgb(x, y)).isEqualTo(0xC807FF);
            }
        }
    }

    private static MemorySegment tensorSmall(Arena arena) {
        MemorySegment t = arena.allocate(3 * 5 * 6 * Float.BYTES);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 5; y++) {
                for (int x = 0; x < 6; x++) {
                    t.setAtIndex(F, (c * 5 + y) * 6 + x, (float) ((c * 31 + y * 7 + x * 13) % 17) / 8f - 1f);
                }
            }
        }
        return t;
    }

    private static MemorySegment tensorLarge(Arena arena) {
        int h = 300;
        int w = 260;
        MemorySegment t = arena.allocate(3L * h * w * Float.BYTES);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int k = (c * 7 + y * 3 + x * 5 + (x * y) % 11) % 255;
                    t.setAtIndex(F, ((long) c * h + y) * w + x, (float) k / 127.5f - 1f);
                }
            }
        }
        return t;
    }

    private static final int[] POS = {0, 1, 57, 111, 112, 200, 223};

    private static void assertClip(MemorySegment out, double[] sums, float[] samples) {
        int n = 0;
        for (int c = 0; c < 3; c++) {
            for (int y : POS) {
                for (int x : POS) {
                    float got = out.getAtIndex(F, (c * 224L + y) * 224 + x);
                    // torch CPU itself rounds differently (vectorised, FMA): agreement is a few 1e-6
                    assertThat(got).as("c=%d y=%d x=%d", c, y, x).isCloseTo(samples[n++], within(1e-5f));
                }
            }
            double sum = 0;
            for (long i = c * 224L * 224; i < (c + 1) * 224L * 224; i++) {
                sum += out.getAtIndex(F, i);
            }
            assertThat(sum).as("sum of channel %d", c).isCloseTo(sums[c], within(1e-3));
        }
    }

    @Test
    void clipPreprocessUpscalesLikeTorchBicubic() {
        double[] sums = {2945.6752852449026, 5564.987356188973, 19100.64324682786};
        float[] samples = {
            -2.2756690979003906f, -2.2907698154449463f, 1.5097888708114624f, -0.3467373847961426f,
            -0.3635350167751312f, 1.308139681816101f, 2.0152804851531982f, -2.2832725048065186f,
            -2.2984397411346436f, 1.518540382385254f, -0.35434025526046753f, -0.37106266617774963f,
            1.3153191804885864f, 2.0255253314971924f, -0.6231468319892883f, -0.6223950982093811f,
            -0.7292119860649109f, 1.7739206552505493f, 1.7391899824142456f, -0.5722528100013733f,
            -0.5924366116523743f, 1.5599781274795532f, 1.5641087293624878f, 0.4855460226535797f,
            -1.2061243057250977f, -1.2446770668029785f, 0.9062483906745911f, 0.6825112700462341f,
            1.5480213165283203f, 1.5521503686904907f, 0.4740011692047119f, -1.2178568840026855f,
            -1.2564208507537842f, 0.8946529626846313f, 0.6709908246994019f, 0.8248042464256287f,
            0.8289332985877991f, -0.2513812184333801f, 0.3837178349494934f, 0.4815727472305298f,
            0.12814542651176453f, -0.05222620815038681f, 1.0125610828399658f, 1.0166898965835571f,
            -0.07840520888566971f, 0.2922047972679138f, 0.4060003161430359f, 0.3159217834472656f,
            0.13553084433078766f, 1.9176713228225708f, 1.9219160079956055f, 0.8012908697128296f,
            -1.3898377418518066f, -1.4294697046279907f, 1.2502573728561401f, 1.0160486698150635f,
            1.9267228841781616f, 1.9309676885604858f, 0.809860348701477f, -1.3990569114685059f,
            -1.43868887424469f, 1.2594770193099976f, 1.0251001119613647f, -0.4098478853702545f,
            -0.40560272336006165f, -1.3980532884597778f, 0.8916611075401306f, 0.8377809524536133f,
            -1.1174564361572266f, -1.311469316482544f, 0.9793707728385925f, 0.9837632179260254f,
            -0.16585209965705872f, 0.47805121541023254f, 0.5811386108398438f, 0.23032553493976593f,
            0.03806561604142189f, 0.9609435200691223f, 0.9650338888168335f, -0.10990367084741592f,
            0.4594072103500366f, 0.5628232955932617f, 0.2791280746459961f, 0.10080315917730331f,
            0.21324405074119568f, 0.2171407788991928f, -0.8073649406433105f, -0.24124233424663544f,
            -0.1403130292892456f, -0.4254213571548462f, -0.5947991609573364f, 0.45128390192985535f,
            0.45725730061531067f, -1.095878005027771f, -0.28927069902420044f, -0.1742401272058487f,
            -0.6495815515518188f, -0.9147942662239075f, 1.3525410890579224f, 1.3582007884979248f,
            -0.11341481655836105f, 0.6508556008338928f, 0.7598490715026855f, 0.30945679545402527f,
            0.058163877576589584f, 1.3625198602676392f, 1.3682442903518677f, -0.11983992159366608f,
            0.6519224643707275f, 0.7613553404808044f, 0.30503663420677185f, 0.05075806751847267f,
            -1.2245330810546875f, -1.2360190153121948f, 1.6573156118392944f, 0.4358774423599243f,
            0.4284348785877228f, 1.5488169193267822f, 2.0888442993164062f, 0.3902488648891449f,
            0.3941247761249542f, -0.6234064698219299f, -0.047521576285362244f, 0.050466179847717285f,
            -0.2561257481575012f, -0.4247457981109619f, 0.4496935307979584f, 0.45385563373565674f,
            -0.6364643573760986f, -0.06487578898668289f, 0.03280073031783104f, -0.25967252254486084f,
            -0.4422056972980499f, -0.21641503274440765f, -0.2123926728963852f, -1.1442790031433105f,
            1.5752668380737305f, 1.5376543998718262f, -0.8941855430603027f, -1.0707141160964966f,
            -0.47695985436439514f, -0.4729374051094055f, -1.3909932374954224f, 1.840203881263733f,
            1.802651047706604f, -1.1595823764801025f, -1.3312582969665527f};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = ImageOps.clipPreprocess(tensorSmall(arena), 5, 6, arena);
            assertClip(out, sums, samples);
        }
    }

    @Test
    void clipPreprocessDownscalesWithoutAntialias() {
        double[] sums = {3042.649596200383, 7649.367532679957, 16206.713828318057};
        float[] samples = {
            -1.7821147441864014f, -1.6901739835739136f, -0.6726073622703552f, 0.19369223713874817f,
            0.28534016013145447f, 0.2793219983577728f, -1.4852474927902222f, -1.7205392122268677f,
            -1.6038901805877686f, -0.6222577095031738f, 0.3423164486885071f, 0.46023592352867126f,
            0.36525973677635193f, -1.3836714029312134f, 1.5674461126327515f, 1.7300093173980713f,
            -1.0316716432571411f, -0.19448302686214447f, -0.11410637199878693f, -0.023182347416877747f,
            2.5205230712890625f, 1.0112863779067993f, 1.1749820709228516f, -1.5933278799057007f,
            -0.6902815103530884f, -0.5407003164291382f, -0.5771472454071045f, 1.3415549993515015f,
            1.075384497642517f, 1.259544849395752f, -1.5237890481948853f, -0.6700147390365601f,
            -0.49548110365867615f, -0.49251851439476013f, 1.4719301462173462f, -1.2132412195205688f,
            -1.0457574129104614f, -0.10499181598424911f, 0.89033442735672f, 0.8722100257873535f,
            0.922090470790863f, -0.8971828818321228f, 0.13516318798065186f, 0.258353054523468f,
            1.2358981370925903f, -1.5520858764648438f, -1.4289973974227905f, -1.4951870441436768f,
            0.45075613260269165f, -1.6366102695465088f, -1.542091965675354f, -0.49599242210388184f,
            0.39459845423698425f, 0.48881620168685913f, 0.48262929916381836f, -1.3314189910888672f,
            -1.5733082294464111f, -1.4533884525299072f, -0.444230854511261f, 0.5473901033401489f,
            0.6686160564422607f, 0.5709764957427979f, -1.2269949913024902f, 1.8068726062774658f,
            2.035595178604126f, -0.8651248812675476f, -0.004461294040083885f, 0.07816912978887558f,
            0.17164279520511627f, -1.5936123132705688f, 1.23511803150177f, 1.4034039974212646f,
            -1.4425300359725952f, -0.5141620635986328f, -0.36038658022880554f, -0.3978554606437683f,
            1.5746474266052246f, 1.301013708114624f, 1.49033784866333f, -1.371041178703308f,
            -0.49332699179649353f, -0.31389927864074707f, -0.3108537197113037f, 1.7086784839630127f,
            -1.0517858266830444f, -0.8796056509017944f, 0.08753937482833862f, 1.1107747554779053f,
            1.0921417474746704f, 1.1434212923049927f, -0.7268649339675903f, 0.33442825078964233f,
            0.4610723853111267f, 1.4660279750823975f, -1.4004368782043457f, -1.2735918760299683f,
            -1.341637134552002f, 0.6588704586029053f, -1.271254062652588f, -1.1816966533660889f,
            -0.19050301611423492f, 0.6533441543579102f, 0.7426165342330933f, 0.7367545962333679f,
            -0.9820810556411743f, -1.21127450466156f, -1.0976487398147583f, -0.14145812392234802f,
            0.7981163859367371f, 0.9129796028137207f, 0.8204650282859802f, -0.8831377625465393f,
            1.861379861831665f, -0.5098266005516052f, -0.5402607917785645f, 0.2752295732498169f,
            0.35352325439453125f, 0.44209063053131104f, -1.3403620719909668f, 1.4497480392456055f,
            1.6092010736465454f, -1.0873602628707886f, -0.20771901309490204f, -0.06201450899243355f,
            -0.09751690924167633f, 1.7714567184448242f, 1.5121850967407227f, 1.6915720701217651f,
            -1.0196237564086914f, -0.1879773885011673f, -0.017967170104384422f, -0.015081465244293213f,
            1.8984527587890625f, -0.7171247005462646f, -0.553981602191925f, 0.3624015748500824f,
            1.3319308757781982f, 1.3142762184143066f, 1.3628641366958618f, -0.4092576801776886f,
            0.5963320732116699f, 0.7163290977478027f, 1.6685383319854736f, -1.0474766492843628f,
            -0.9272890686988831f, -0.9917629361152649f, 0.9037455320358276f};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(3L * 224 * 224 * Float.BYTES);
            ImageOps.clipPreprocess(tensorLarge(arena), 300, 260, out);
            assertClip(out, sums, samples);
        }
    }

    @Test
    void signedUnitMapping() {
        byte[] px = {0, (byte) 255, (byte) 128, 1, 2, 3};
        RgbImage img = RgbImage.of(2, 1, px);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment t = arena.allocate(6 * Float.BYTES);
            ImageOps.toSignedUnit(img, t);
            // [3, H, W] = R plane (0, 1), G plane (255, 2), B plane (128, 3)
            float[] v = t.toArray(F);
            assertThat(v[0]).isEqualTo(-1f);
            assertThat(v[2]).isEqualTo(1f);
            assertThat(v[4]).isEqualTo((128 / 255f - 0.5f) * 2f); // the reference's own expression
            assertThat(v[1]).isEqualTo((1 / 255f - 0.5f) * 2f);
            assertThat(v[3]).isEqualTo((2 / 255f - 0.5f) * 2f);
            assertThat(v[5]).isEqualTo((3 / 255f - 0.5f) * 2f);
        }
    }

    @Test
    void signedUnitEqualsTheReferenceExpressionForEveryByte() {
        for (int b = 0; b < 256; b++) {
            RgbImage img = RgbImage.of(1, 1, new byte[] {(byte) b, (byte) b, (byte) b});
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment t = arena.allocate(3 * Float.BYTES);
                ImageOps.toSignedUnit(img, t);
                assertThat(t.getAtIndex(F, 0)).isEqualTo((b / 255f - 0.5f) * 2f);
            }
        }
    }

    @Test
    void uint8MappingTruncates() {
        assertThat(ImageOps.toUint8(1.0f)).isEqualTo((byte) 255);
        assertThat(ImageOps.toUint8(0.999f)).isEqualTo((byte) 254);
        assertThat(ImageOps.toUint8(-1.0f)).isEqualTo((byte) 0);
        assertThat(ImageOps.toUint8(0.0f)).isEqualTo((byte) 127);
        assertThat(ImageOps.toUint8(1.7f)).isEqualTo((byte) 255);
        assertThat(ImageOps.toUint8(-3f)).isEqualTo((byte) 0);
        assertThat(ImageOps.toUint8(Float.NaN)).isEqualTo((byte) 0);
    }

    /** The reference's mapping written as torch does it: ((x / 2 + 0.5).clamp(0, 1) · 255).to(uint8). */
    private static byte referenceUint8(float x) {
        float u = Math.min(Math.max(x / 2f + 0.5f, 0f), 1f);
        return (byte) (int) (u * 255f);
    }

    @Test
    void uint8MappingEqualsTheClampFormulaOnEveryFloatPattern() {
        // a stride through all 2^32 bit patterns (every exponent, both signs, NaNs, infinities, subnormals)
        for (long bits = 0; bits <= 0xFFFF_FFFFL; bits += 65_537) {
            float x = Float.intBitsToFloat((int) bits);
            assertThat(ImageOps.toUint8(x)).as("x = %s", x).isEqualTo(referenceUint8(x));
        }
        // and densely across the range that decoders produce
        for (float x = -1.25f; x <= 1.25f; x = Math.nextUp(x + 1e-5f)) {
            if (ImageOps.toUint8(x) != referenceUint8(x)) {
                assertThat(ImageOps.toUint8(x)).as("x = %s", x).isEqualTo(referenceUint8(x));
            }
        }
        for (float x : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 0f,
                Float.MIN_VALUE, -Float.MIN_VALUE, 1f, -1f, Math.nextDown(1f), Math.nextUp(-1f)}) {
            assertThat(ImageOps.toUint8(x)).as("x = %s", x).isEqualTo(referenceUint8(x));
        }
    }

    @Test
    void fromSignedUnitAppliesTheUint8MappingPerPixel() {
        try (Arena arena = Arena.ofConfined()) {
            // [3, 1, 2]: R = (1, -1), G = (0, 0.999), B = (-0.5, 0.5)
            MemorySegment t = arena.allocateFrom(F, 1f, -1f, 0f, 0.999f, -0.5f, 0.5f);
            RgbImage img = ImageOps.fromSignedUnit(t, 2, 1);
            assertThat(img.rgb(0, 0)).isEqualTo(255 << 16 | 127 << 8 | 63);
            assertThat(img.rgb(1, 0)).isEqualTo(0 << 16 | 254 << 8 | 191);
        }
    }
}
