package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.NoFace;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.family.DubRequest;
import dev.avatar4j.family.NoiseSource;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.onnx.OnnxBackendProvider;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The VAE posterior of a bundle whose {@code vae-encoder} also returns {@code std} (as
 * tools/export/latentsync writes them): latents are sampled {@code mean + std · ε} with ε from the
 * request's seed (per output frame, so independent of the chunking), the mean on request, and a
 * bundle without {@code std} keeps the mean. The bundle is the toy bundle {@code src/test/bundles/latentsync-toy} with the
 * encoder of {@code tools/make_latentsync_test_graphs.py} ({@code std = 0.25 + 0.5·sigmoid(mean)}).
 */
class LatentSyncPosteriorTest {
    private static final int R = 64;
    private static final int L = R / 8;
    private static final int PER = 4 * L * L;

    @TempDir
    static Path tmp;
    private static Backend backend;
    private static LatentSyncEngine plain;
    private static LatentSyncEngine withStd;

    @BeforeAll
    static void open() throws IOException {
        backend = new OnnxBackendProvider().create();
        plain = LatentSyncEngine.open(Bundle.open(LatentSyncParityTest.TOY), backend, SessionOptions.defaults());
        withStd = LatentSyncEngine.open(Bundle.open(stdBundle(tmp.resolve("std"))), backend, SessionOptions.defaults());
    }

    @AfterAll
    static void close() {
        withStd.close();
        plain.close();
        backend.close();
    }

    /** The tiny bundle with the std encoder, its manifest's sha256 updated. */
    static Path stdBundle(Path dir) throws IOException {
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(LatentSyncParityTest.TOY)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        byte[] enc;
        try (InputStream in = LatentSyncPosteriorTest.class.getResourceAsStream("/latentsync-std/vae_encoder.onnx")) {
            enc = in.readAllBytes();
        }
        Files.write(dir.resolve("vae_encoder.onnx"), enc);
        Path manifest = dir.resolve("avatar-bundle.json");
        String json = Files.readString(manifest, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("(\"file\": \"vae_encoder.onnx\",\\s*\"sha256\": \")([0-9a-f]{64})").matcher(json);
        assertThat(m.find()).isTrue();
        Files.writeString(manifest, json.substring(0, m.start(2)) + sha256(enc) + json.substring(m.end(2)), StandardCharsets.UTF_8);
        return dir;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static DubRequest job(long seed, boolean mean) {
        return new DubRequest((fps, max) -> {
            throw new AssertionError("not opened");
        }, new AudioClip(new float[16_000], 16_000), 1, 1.0, NoFace.FAIL, seed, mean);
    }

    static float[] images(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * 3 * R * R];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextFloat() * 2 - 1;
        }
        return x;
    }

    static float[] noise(long seed, int frameIndex) {
        try (TensorScope s = TensorScope.open()) {
            Tensor t = s.allocate(DType.FLOAT32, PER);
            NoiseSource.seeded(seed).fill(frameIndex, t.segment(), PER);
            return t.toFloatArray();
        }
    }

    @Test
    void samplingNeedsAStdOutputAndIsTheDefault() {
        assertThat(plain.hasPosteriorStd()).isFalse();
        assertThat(plain.sampling(job(1, false))).isFalse();
        assertThat(withStd.hasPosteriorStd()).isTrue();
        assertThat(withStd.sampling(job(1, false))).isTrue();
        assertThat(withStd.sampling(job(1, true))).isFalse();
        assertThat(new DubRequest((fps, max) -> null, new AudioClip(new float[1], 16_000), 1, 1.0, NoFace.FAIL, 1)
                .posteriorMean()).isFalse();
    }

    @Test
    void sampleIsMeanPlusStdTimesTheSeededNoiseOfItsFrame() {
        float[] x = images(2, 7);
        float[] mean = withStd.encode(x, 2);
        float scaling = (float) withStd.config().scaling();
        double shift = withStd.config().shift();
        int[] frames = {5, 9};
        for (int stream = 0; stream < 2; stream++) {
            float[] sampled = withStd.encode(x, 2, new LatentSyncEngine.Posterior(NoiseSource.seeded(42), frames), stream);
            for (int f = 0; f < 2; f++) {
                float[] eps = noise(42, 1 + 2 * frames[f] + stream);
                for (int i = 0; i < PER; i++) {
                    double m = mean[f * PER + i] / scaling + shift;
                    double std = 0.25 + 0.5 / (1 + Math.exp(-m));
                    double want = (m + std * eps[i] - shift) * scaling;
                    assertThat((double) sampled[f * PER + i]).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-4));
                }
            }
        }
    }

    @Test
    void aFramesNoiseDoesNotDependOnItsPlaceInTheChunk() {
        float[] x = images(2, 8);
        float[] pair = withStd.encode(x, 2, new LatentSyncEngine.Posterior(NoiseSource.seeded(3), new int[] {0, 17}), 1);
        float[] second = new float[3 * R * R];
        System.arraycopy(x, 3 * R * R, second, 0, second.length);
        float[] alone = withStd.encode(second, 1, new LatentSyncEngine.Posterior(NoiseSource.seeded(3), new int[] {17}), 1);
        for (int i = 0; i < PER; i++) {
            assertThat(alone[i]).isEqualTo(pair[PER + i]);
        }
        float[] other = withStd.encode(second, 1, new LatentSyncEngine.Posterior(NoiseSource.seeded(4), new int[] {17}), 1);
        assertThat(other).isNotEqualTo(alone);
    }

    @Test
    void withoutStdThePosteriorIsIgnored() {
        float[] x = images(1, 9);
        assertThat(plain.encode(x, 1, new LatentSyncEngine.Posterior(NoiseSource.seeded(1), new int[] {0}), 0))
                .isEqualTo(plain.encode(x, 1));
    }
}
