package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.audio.WhisperLogMelWholeFile;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.onnx.OnnxBackendProvider;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.SessionOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Java LatentSync loop on ONNX Runtime against {@code tools/reference_run_latentsync.py} (PyTorch
 * in float64 on the exporter's own modules, built from the reduced real-architecture checkpoint that
 * {@code models/latentsync-tiny} is exported from): audio windows, the VAE latents of the masked and
 * the unmasked faces (posterior mean), the final latents of two 16-frame chunks (20 frames, 5 DDIM
 * steps with DeepCache's full UNet at steps 0 and 3 and the shallow one between, guidance 1.5, one
 * shared noise frame) and the decoded, mask-mixed faces. The inputs are the script's closed-form faces
 * and mel.
 *
 * <p>Errors are relative to {@code max(1, |golden|)} (pixels: {@link #PIXEL_TOLERANCE}); measured on
 * Debian 12, x86-64, ONNX Runtime 1.29 CPU: audio windows 2.7e-6, the VAE latents of the faces 1.1e-6
 * and of the masked faces 6.7e-5, the loop on the reference's VAE latents 5.3e-5 (tolerance 1e-4 for
 * these), the final latents of the whole chain 2.4e-4 (tolerance {@link #CHAIN_TOLERANCE}). Why the
 * chain is further off than its parts: ONNX Runtime's float32 {@code InstanceNormalization} (the VAE's
 * GroupNorm) puts 6.7e-5 into the masked faces' latents (the masked half of a face is one constant
 * value, whose float32 sums round the same way every time), and the 5-step loop carries that 3.6-fold
 * into the final latents: its x coefficients multiply to {@code sqrt(ᾱ(0)/ᾱ(801))} = 5.2, and a
 * random-weight UNet, whose noise prediction does not cancel the noise, lets the latents grow from
 * |3.9| to |25|. Measured: the float64 loop fed the SDK's VAE latents ends 2.40e-4 from the golden, and
 * the SDK 4.9e-5 from that run, so all of the chain's excess is the encoder's float32 rounding. The
 * loop and the decoder are therefore also checked on the reference's own latents, where nothing
 * amplifies.
 */
class LatentSyncParityTest {
    static final Path BUNDLE = Path.of("..", "models", "latentsync-tiny");
    /**
     * The toy bundle of {@code tools/make_tiny_latentsync.py} (64 px faces, no {@code std}, no
     * DeepCache), for what the real-architecture bundle cannot show: a bundle without DeepCache and
     * without the posterior's {@code std} next to ones with the closed-form toy graphs of
     * {@code tools/make_latentsync_test_graphs.py} ({@link LatentSyncDeepCacheTest},
     * {@link LatentSyncPosteriorTest}), and a mean-only 64 px bundle for the whole-clip algorithm that
     * {@link LatentSyncStreamingTest} writes out and compares byte for byte.
     */
    static final Path TOY = Path.of("src", "test", "bundles", "latentsync-toy");
    private static final int FRAMES = 20;
    private static final int CHUNK = 16;
    private static final int VALID = 97;
    private static final int R = 256;
    private static final int WIDTH = 32;
    private static final int PLANE = (R / 8) * (R / 8);
    /** The final latents of the whole chain from the faces: measured 2.4e-4, see the class comment. */
    static final double CHAIN_TOLERANCE = 5e-4;
    /**
     * The mixed faces, in levels of 0..255: 1e-4 of the VAE decoder's own output unit (it returns
     * [−1, 1], shown as {@code (x/2 + 0.5)·255}), so 127.5·1e-4 levels. Measured: the decoder on the
     * reference's latents 3.8e-4 levels, the whole chain 2.5e-3.
     */
    static final double PIXEL_TOLERANCE = 127.5e-4;

    private static Backend backend;
    private static LatentSyncEngine engine;

    @BeforeAll
    static void open() {
        backend = new OnnxBackendProvider().create();
        engine = LatentSyncEngine.open(Bundle.open(BUNDLE), backend, SessionOptions.defaults());
    }

    @AfterAll
    static void close() {
        engine.close();
        backend.close();
    }

    static float[] golden(String name) {
        try (InputStream in = LatentSyncParityTest.class.getResourceAsStream("/golden/latentsync-tiny/" + name + ".bin")) {
            byte[] b = in.readAllBytes();
            float[] f = new float[b.length / 4];
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static AlignedFaceCrop.FloatImage face(int f) {
        float[] d = new float[R * R * 3];
        for (int y = 0; y < R; y++) {
            for (int x = 0; x < R; x++) {
                for (int c = 0; c < 3; c++) {
                    d[(y * R + x) * 3 + c] = (float) (int) Math.floor(127.5 + 100 * Math.sin(0.2 * x + 0.13 * (c + 1) * y + 0.3 * f));
                }
            }
        }
        return new AlignedFaceCrop.FloatImage(R, R, 3, d);
    }

    static LatentSyncEngine.Features features() {
        float[][] mel = new float[80][3000];
        for (int m = 0; m < 80; m++) {
            for (int t = 0; t < VALID; t++) {
                mel[m][t] = (float) (0.5 * Math.sin(0.01 * (m + 1) * t));
            }
        }
        return engine.features(List.of(new WhisperLogMelWholeFile.Segment(mel, VALID)));
    }

    private static void assertClose(float[] actual, float[] expected, double tol, String what) {
        assertThat(actual).hasSameSizeAs(expected);
        double worst = 0;
        for (int i = 0; i < actual.length; i++) {
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
        }
        assertThat(worst).as("%s: worst error relative to max(1, |golden|)", what).isLessThanOrEqualTo(tol);
    }

    /** Mixed faces (0..255) within {@link #PIXEL_TOLERANCE} of the golden's. */
    private static void assertPixelsClose(float[] actual, float[] expected, String what) {
        assertThat(actual).hasSameSizeAs(expected);
        double worst = 0;
        for (int i = 0; i < actual.length; i++) {
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertThat(worst).as("%s: max |pixel − golden| (levels)", what).isLessThanOrEqualTo(PIXEL_TOLERANCE);
    }

    @Test
    void audioWindowsMatchTheReference() {
        LatentSyncEngine.Features f = features();
        assertThat(f.rows()).isEqualTo(VALID / 2);
        float[] g = golden("audio_windows_0_19");
        int n = 50 * WIDTH;
        float[] w0 = AudioWindows.window(f.data(), f.rows(), WIDTH, 0);
        float[] w19 = AudioWindows.window(f.data(), f.rows(), WIDTH, FRAMES - 1);
        float[] both = new float[2 * n];
        System.arraycopy(w0, 0, both, 0, n);
        System.arraycopy(w19, 0, both, n, n);
        assertClose(both, g, 1e-4, "audio windows");
    }

    @Test
    void vaeLatentsOfMaskedAndUnmaskedFacesMatchTheReference() {
        float[] masked = new float[FRAMES * 3 * R * R];
        float[] ref = new float[masked.length];
        MouthMask mask = engine.mouthMask();
        for (int f = 0; f < FRAMES; f++) {
            System.arraycopy(mask.masked(face(f)), 0, masked, f * 3 * R * R, 3 * R * R);
            System.arraycopy(mask.normalise(face(f)), 0, ref, f * 3 * R * R, 3 * R * R);
        }
        assertClose(engine.encode(ref, FRAMES), golden("vae_reference"), 1e-4, "VAE latents of the faces");
        assertClose(engine.encode(masked, FRAMES), golden("vae_masked"), 1e-4, "VAE latents of the masked faces");
    }

    @Test
    void theLoopOnTheReferenceVaeLatentsMatchesTheReference() {
        LatentSyncEngine.Features feats = features();
        float[] noise = golden("noise");
        float[] maskedLat = golden("vae_masked"); // [20, 4, 32, 32]
        float[] refLat = golden("vae_reference");
        float[] expected = golden("latents"); // [4, 20, 32, 32]
        float[] latents = new float[expected.length];
        for (int start = 0; start < FRAMES; start += CHUNK) {
            int n = Math.min(CHUNK, FRAMES - start);
            List<float[]> windows = new ArrayList<>();
            for (int i = start; i < start + n; i++) {
                windows.add(AudioWindows.window(feats.data(), feats.rows(), WIDTH, i));
            }
            int per = 4 * PLANE;
            float[] m = Arrays.copyOfRange(maskedLat, start * per, (start + n) * per);
            float[] r = Arrays.copyOfRange(refLat, start * per, (start + n) * per);
            float[] lat = engine.denoiseEncoded(m, r, windows, noise, DdimSchedule.latentSync(5), 1.5, () -> { }, () -> { });
            place(lat, latents, start, n);
        }
        assertClose(latents, expected, 1e-4, "final latents of the loop on the reference's VAE latents");
    }

    @Test
    void latentsAndMixedFacesMatchTheReference() {
        LatentSyncEngine.Features feats = features();
        float[] noise = golden("noise");
        float[] expected = golden("latents"); // [4, 20, 32, 32]
        float[] mixedGolden = golden("mixed_0_17");
        DdimSchedule schedule = DdimSchedule.latentSync(5);
        float[] latents = new float[expected.length];
        List<AlignedFaceCrop.FloatImage> mixed = new ArrayList<>();
        for (int start = 0; start < FRAMES; start += CHUNK) {
            int n = Math.min(CHUNK, FRAMES - start);
            List<AlignedFaceCrop.FloatImage> faces = new ArrayList<>();
            List<float[]> windows = new ArrayList<>();
            for (int i = start; i < start + n; i++) {
                faces.add(face(i));
                windows.add(AudioWindows.window(feats.data(), feats.rows(), WIDTH, i));
            }
            float[] lat = engine.denoise(faces, windows, noise, schedule, 1.5, () -> { });
            place(lat, latents, start, n);
            mixed.addAll(engine.decode(lat, faces));
        }
        assertClose(latents, expected, CHAIN_TOLERANCE, "final latents");
        int px = R * R * 3;
        float[] m = new float[2 * px];
        System.arraycopy(mixed.get(0).data(), 0, m, 0, px);
        System.arraycopy(mixed.get(17).data(), 0, m, px, px);
        assertPixelsClose(m, mixedGolden, "decoded faces mixed with the originals");
    }

    @Test
    void theDecoderOnTheReferenceLatentsMatchesTheReference() {
        float[] all = golden("latents"); // [4, 20, 32, 32]
        float[] mixedGolden = golden("mixed_0_17");
        int px = R * R * 3;
        float[] m = new float[2 * px];
        int[] frames = {0, 17};
        for (int k = 0; k < 2; k++) {
            float[] one = new float[4 * PLANE];
            for (int c = 0; c < 4; c++) {
                System.arraycopy(all, (c * FRAMES + frames[k]) * PLANE, one, c * PLANE, PLANE);
            }
            System.arraycopy(engine.decode(one, List.of(face(frames[k]))).getFirst().data(), 0, m, k * px, px);
        }
        assertPixelsClose(m, mixedGolden, "decoded reference latents mixed with the originals");
    }

    /** Copies a chunk's latents {@code [4, n, h, w]} into the clip's {@code [4, FRAMES, h, w]} at {@code start}. */
    private static void place(float[] chunk, float[] all, int start, int n) {
        for (int c = 0; c < 4; c++) {
            System.arraycopy(chunk, c * n * PLANE, all, (c * FRAMES + start) * PLANE, n * PLANE);
        }
    }
}
