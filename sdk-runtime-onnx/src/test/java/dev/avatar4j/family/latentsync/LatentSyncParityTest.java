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
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Java LatentSync loop on ONNX Runtime against {@code tools/reference_run_latentsync.py} (PyTorch
 * on the same seeded modules as the toy bundle {@code src/test/bundles/latentsync-toy}, made by
 * {@code tools/make_tiny_latentsync.py}): audio windows, the final latents
 * of two 16-frame chunks (20 frames, 5 DDIM steps, guidance 1.5, one shared noise frame) and the
 * decoded, mask-mixed faces. The inputs are the script's closed-form faces and mel.
 */
class LatentSyncParityTest {
    static final Path BUNDLE = Path.of("src", "test", "bundles", "latentsync-toy");
    private static final int FRAMES = 20;
    private static final int CHUNK = 16;
    private static final int VALID = 97;
    private static final int R = 64;

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

    @Test
    void audioWindowsMatchTheReference() {
        LatentSyncEngine.Features f = features();
        assertThat(f.rows()).isEqualTo(VALID / 2);
        float[] g = golden("audio_windows_0_19");
        int n = 50 * 384;
        float[] w0 = AudioWindows.window(f.data(), f.rows(), 384, 0);
        float[] w19 = AudioWindows.window(f.data(), f.rows(), 384, FRAMES - 1);
        float[] both = new float[2 * n];
        System.arraycopy(w0, 0, both, 0, n);
        System.arraycopy(w19, 0, both, n, n);
        assertClose(both, g, 1e-4, "audio windows");
    }

    @Test
    void latentsAndMixedFacesMatchTheReference() {
        LatentSyncEngine.Features feats = features();
        float[] noise = golden("noise");
        float[] expected = golden("latents"); // [4, 20, 8, 8]
        float[] mixedGolden = golden("mixed_0_17");
        DdimSchedule schedule = DdimSchedule.latentSync(5);
        int plane = 64;
        float[] latents = new float[expected.length];
        List<AlignedFaceCrop.FloatImage> mixed = new ArrayList<>();
        for (int start = 0; start < FRAMES; start += CHUNK) {
            int n = Math.min(CHUNK, FRAMES - start);
            List<AlignedFaceCrop.FloatImage> faces = new ArrayList<>();
            List<float[]> windows = new ArrayList<>();
            for (int i = start; i < start + n; i++) {
                faces.add(face(i));
                windows.add(AudioWindows.window(feats.data(), feats.rows(), 384, i));
            }
            float[] lat = engine.denoise(faces, windows, noise, schedule, 1.5, () -> { });
            for (int c = 0; c < 4; c++) {
                System.arraycopy(lat, c * n * plane, latents, (c * FRAMES + start) * plane, n * plane);
            }
            mixed.addAll(engine.decode(lat, faces));
        }
        assertClose(latents, expected, 1e-4, "final latents");
        int px = R * R * 3;
        float[] m = new float[2 * px];
        System.arraycopy(mixed.get(0).data(), 0, m, 0, px);
        System.arraycopy(mixed.get(17).data(), 0, m, px, px);
        assertClose(m, mixedGolden, 1e-4, "decoded faces mixed with the originals (0..255)");
    }
}
