package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.FamilyEngines;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.family.NoiseSource;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.SessionOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * End-to-end parity of the {@code stableavatar} engine on ONNX Runtime with an independent PyTorch
 * reference run of the whole pipeline on the committed tiny bundle ({@code models/stableavatar-tiny}).
 *
 * <p><b>How the goldens were produced.</b> From the repository root, with Debian's PyTorch 1.13,
 * onnx 1.12, numpy and Pillow 9.4 ({@code python3-torch python3-onnx python3-pil}):
 * <pre>
 * /usr/bin/python3 tools/reference_run_stableavatar.py
 * </pre>
 * which writes {@code sdk-runtime-onnx/src/test/resources/parity/stableavatar/} ({@code --verbose}
 * prints per-window, per-step values; {@code --check-only} re-runs and compares with the stored
 * files). The tiny bundle is a real-architecture export ({@code tools/export_tiny_stableavatar.py}) of
 * the reduced checkpoint {@code tools/export/tests/fixtures/e2e}; the script builds the same modules
 * from that checkpoint with the exporter's PyTorch re-implementations (Wan's DiT with full
 * self-attention and the audio adapter, Wan's VAE, CLIP's ViT, wav2vec2; each checked against the
 * reference modules by {@code tools/export/test}) and runs the pipeline written from
 * docs/REFERENCE.md §1 (not from the Java code): portrait resized to 64×64 with PIL BICUBIC, CLIP
 * preprocessing (torch bicubic to the encoder's 32 px, CLIP mean/std), VAE-encoded {@code [ref, 0 × 80]}
 * (whole clip; the engine uses the streamed encoder pair) with the 4-channel mask as {@code y}, the
 * bundle's negative/default text embeddings zero-padded to {@code text.maxTokens} (128),
 * per-window wav2vec2-normalised audio (84-frame slices), the §1.1 step 7 index table, the 3-branch
 * DiT {@code [neg/gate 0, neg/gate 1, pos/gate 1]} combined as
 * {@code v_u + s_a(v_a − v_u) + s_t(v_c − v_a)} (s_t 3, s_a 5), the diffusers-0.30.1 double-shift
 * schedule (shift 5, 3 steps), Euler, and the §1.5 DWSW lock-step loop with log weights (overlap
 * 5), then the streaming VAE decoder (latent frame 0 through the first-frame path, then one step
 * per latent frame with Wan's 32 causal caches) and truncation to uint8. Everything is float32. The
 * final latents reach about ±18 with these random weights; the engine (ONNX Runtime, fused attention
 * variant) stays within 8.1e-5 of them.
 *
 * <p><b>Cases</b> (speech: the first N samples of {@code examples/media/hello.wav} as int16/32768,
 * zero-padded past its 94 420 samples, stored once as float32 in {@code speech.audio.f32} so that
 * no WAV decoder is involved; the initial noise of latent frame t is numpy's
 * {@code default_rng([1234, t]).standard_normal}, stored once for the longest case in
 * {@code noise.f32} and injected through {@link NoiseSource}; 64×64 output, latents 16×8×8,
 * 3 steps, default guidance):
 * <ul>
 *   <li>{@code a-short}: 2.0 s, T = 13, one short window [0, 13) (the reference runs none);</li>
 *   <li>{@code b-one-window}: 3.3 s, T = 21, one window [0, 21) (the reference hangs);</li>
 *   <li>{@code c-two-windows}: 5.0 s, T = 32, windows [0, 21) and [16, 32) — the engine's default
 *       last-window audio ({@code window.tail = corrected}: a full 84-frame slice, zero-padded);</li>
 *   <li>{@code d-two-windows-reference-tail}: as c, with {@code "tail": "reference"} added to a
 *       copy of the manifest (the last window hears the audio to the end of the file);</li>
 *   <li>{@code e-three-windows}: 6.0 s, T = 38, windows [0, 21), [16, 37), [32, 38) — a middle
 *       window that is blended into and then overwritten, and a last window of 6 latents.</li>
 * </ul>
 * Checked: every final latent within {@value #LATENT_TOLERANCE} (max abs), the frame count, and
 * the stored decoded frames (0, 1, 4, middle, last) within ±{@value #PIXEL_TOLERANCE} per channel.
 * {@link #goldensRejectAPerturbedPipeline} shows that the goldens pin the guidance scales, the
 * shift, the shift mode and the overlap weights: each perturbation moves the latents far outside
 * the tolerance.
 */
class StableAvatarParityTest {
    private static final Logger LOG = LoggerFactory.getLogger(StableAvatarParityTest.class);
    private static final Path BUNDLE = Path.of("..", "models", "stableavatar-tiny");
    private static final Path PORTRAIT = Path.of("..", "examples", "media", "portrait.png");
    private static final ParityGoldens GOLDEN = new ParityGoldens("/parity/stableavatar/",
            "/usr/bin/python3 tools/reference_run_stableavatar.py");
    static final double LATENT_TOLERANCE = 1e-4;
    static final int PIXEL_TOLERANCE = 1;

    private static Backend backend;

    @BeforeAll
    static void createBackend() {
        backend = new OnnxBackendProvider().create();
    }

    @AfterAll
    static void closeBackend() {
        if (backend != null) {
            backend.close();
        }
    }

    /** One stored reference run. */
    record Golden(String name, int width, int height, int steps, String tail, float[] audio, int latentFrames,
                  int frameFloats, float[][] noise, float[][] latents, int frameCount, int[] frameIndices,
                  byte[][] frames) {
    }

    /** What the engine produced. */
    record Result(float[][] latents, List<byte[]> frames) {
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"a-short", "b-one-window", "c-two-windows", "d-two-windows-reference-tail",
        "e-three-windows"})
    void engineMatchesTheReferenceRun(String name, @TempDir Path tmp) {
        assumeBundle();
        Golden g = load(name);
        Path bundle = g.tail().equals("corrected") ? BUNDLE : ParityGoldens.patchedBundle(BUNDLE, tmp, withTail(g.tail()));
        Result r = run(bundle, g, Double.NaN, Double.NaN);

        assertThat(r.latents().length).as("final latent frames").isEqualTo(g.latentFrames());
        double worst = 0;
        int worstFrame = -1;
        for (int t = 0; t < g.latentFrames(); t++) {
            double d = maxAbsDiff(g.latents()[t], r.latents()[t]);
            if (d > worst) {
                worst = d;
                worstFrame = t;
            }
        }
        assertThat(r.frames()).as("decoded frames").hasSize(g.frameCount());
        int worstPixel = 0;
        int offPixels = 0;
        for (int i = 0; i < g.frameIndices().length; i++) {
            byte[] want = g.frames()[i];
            byte[] got = r.frames().get(g.frameIndices()[i]);
            assertThat(got).as("frame %d size", g.frameIndices()[i]).hasSameSizeAs(want);
            for (int p = 0; p < want.length; p++) {
                int d = Math.abs((want[p] & 0xff) - (got[p] & 0xff));
                worstPixel = Math.max(worstPixel, d);
                offPixels += d != 0 ? 1 : 0;
            }
        }
        LOG.info("{}: T={}, latents max |diff| {} (latent frame {}), stored frames {} max |diff| {} ({} of {} values differ)",
                name, g.latentFrames(), String.format("%.3g", worst), worstFrame, Arrays.toString(g.frameIndices()),
                worstPixel, offPixels, g.frameIndices().length * g.width() * g.height() * 3);
        assertThat(worst).as("%s: max |latent − reference| (worst at latent frame %d)", name, worstFrame)
                .isLessThanOrEqualTo(LATENT_TOLERANCE);
        assertThat(worstPixel).as("%s: max |pixel − reference|", name).isLessThanOrEqualTo(PIXEL_TOLERANCE);
    }

    static Stream<Arguments> perturbations() {
        String shift = "\"shift\": 5.0";
        String weights = "\"weights\": \"log\"";
        String mode = "\"shiftMode\": \"diffusers-0.30.1\"";
        return Stream.of(
                Arguments.of("text guidance 3.1", 3.1, Double.NaN, UnaryOperator.<String>identity()),
                Arguments.of("audio guidance 5.1", Double.NaN, 5.1, UnaryOperator.<String>identity()),
                Arguments.of("shift 4.9", Double.NaN, Double.NaN, replace(shift, "\"shift\": 4.9")),
                Arguments.of("single shift", Double.NaN, Double.NaN, replace(mode, "\"shiftMode\": \"single\"")),
                Arguments.of("uniform overlap weights", Double.NaN, Double.NaN,
                        replace(weights, "\"weights\": \"uniform\"")));
    }

    /** The test can fail: perturbing one parameter of the pipeline moves the latents far off the goldens. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("perturbations")
    void goldensRejectAPerturbedPipeline(String what, double textGuidance, double audioGuidance,
                                         UnaryOperator<String> manifest, @TempDir Path tmp) {
        assumeBundle();
        Golden g = load("c-two-windows");
        Path bundle = ParityGoldens.patchedBundle(BUNDLE, tmp, manifest);
        Result r = run(bundle, g, textGuidance, audioGuidance);
        double worst = 0;
        for (int t = 0; t < g.latentFrames(); t++) {
            worst = Math.max(worst, maxAbsDiff(g.latents()[t], r.latents()[t]));
        }
        LOG.info("perturbed ({}): latents max |diff| {}", what, String.format("%.3g", worst));
        assertThat(worst).as("%s must not pass as parity", what).isGreaterThan(10 * LATENT_TOLERANCE);
    }

    // --- running the engine ----------------------------------------------------------------------

    private static Result run(Path bundleDir, Golden g, double textGuidance, double audioGuidance) {
        RgbImage image = MediaRegistry.global().readImage(PORTRAIT);
        float[][] latents = new float[g.latentFrames()][];
        NoiseSource noise = (frame, dst, floats) -> {
            assertThat(floats).as("noise floats per latent frame").isEqualTo(g.frameFloats());
            MemorySegment.copy(g.noise()[frame], 0, dst, ValueLayout.JAVA_FLOAT, 0, (int) floats);
        };
        GenerationRequest.LatentTap tap = (index, frame, floats) -> {
            assertThat(floats).as("latent floats per frame").isEqualTo(g.frameFloats());
            latents[index] = frame.toArray(ValueLayout.JAVA_FLOAT);
        };
        GenerationRequest request = new GenerationRequest(image, new AudioClip(g.audio(), 16000), g.width(),
                g.height(), g.steps(), 0L, null, textGuidance, audioGuidance, noise, tap);
        Collector ctx = new Collector();
        try (FamilyEngine<GenerationRequest> engine = FamilyEngines.create(Bundle.open(bundleDir), backend, SessionOptions.defaults())
                .runs(GenerationRequest.class).orElseThrow()) {
            engine.generate(request, ctx);
        }
        return new Result(latents, ctx.frames);
    }

    /** Collects the emitted frames; no cancellation. */
    private static final class Collector implements GenerationContext {
        final List<byte[]> frames = new ArrayList<>();

        @Override
        public void emitFrame(byte[] rgb) {
            frames.add(rgb);
        }

        @Override
        public void advance(Progress.Stage stage, long units) {
        }

        @Override
        public void checkpoint() {
        }
    }

    // --- bundles ---------------------------------------------------------------------------------

    private static void assumeBundle() {
        Assumptions.assumeTrue(Files.exists(BUNDLE.resolve("dit.onnx")),
                "tiny bundle not generated: " + BUNDLE.toAbsolutePath().normalize() + "/dit.onnx is absent");
    }

    private static UnaryOperator<String> replace(String from, String to) {
        return m -> {
            assertThat(m).as("manifest").containsOnlyOnce(from);
            return m.replace(from, to);
        };
    }

    private static UnaryOperator<String> withTail(String tail) {
        return replace("\"weights\": \"log\"", "\"weights\": \"log\", \"tail\": \"" + tail + "\"");
    }

    // --- goldens ---------------------------------------------------------------------------------

    private static Golden load(String name) {
        Properties p = new Properties();
        try (InputStream in = GOLDEN.open(name + ".properties")) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int width = Integer.parseInt(p.getProperty("width"));
        int height = Integer.parseInt(p.getProperty("height"));
        int[] shape = ParityGoldens.ints(p.getProperty("latentShape"));
        int t = shape[0];
        int frameFloats = shape[1] * shape[2] * shape[3];
        assertThat(Integer.parseInt(p.getProperty("latentFrames"))).isEqualTo(t);
        assertThat(Integer.parseInt(p.getProperty("audio.sampleRate"))).isEqualTo(16000);
        float[] audio = prefix(GOLDEN.floats(p.getProperty("audio.file")), Integer.parseInt(p.getProperty("audio.samples")));
        int[] indices = ParityGoldens.ints(p.getProperty("frames.indices"));
        byte[] frameBytes = GOLDEN.bytes(p.getProperty("frames.file"));
        int frameSize = width * height * 3;
        assertThat(frameBytes).hasSize(indices.length * frameSize);
        byte[][] frames = new byte[indices.length][];
        for (int i = 0; i < indices.length; i++) {
            frames[i] = Arrays.copyOfRange(frameBytes, i * frameSize, (i + 1) * frameSize);
        }
        return new Golden(name, width, height, Integer.parseInt(p.getProperty("steps")), p.getProperty("tail"), audio,
                t, frameFloats, split(prefix(GOLDEN.floats(p.getProperty("noise.file")), t * frameFloats), t, frameFloats),
                split(GOLDEN.floats(p.getProperty("latents.file")), t, frameFloats),
                Integer.parseInt(p.getProperty("frames.count")), indices, frames);
    }

    /** The first n values of a shared file (the speech and the noise are stored once for all cases). */
    private static float[] prefix(float[] all, int n) {
        assertThat(all.length).as("stored values").isGreaterThanOrEqualTo(n);
        return Arrays.copyOf(all, n);
    }

    private static float[][] split(float[] all, int frames, int frameFloats) {
        assertThat(all).hasSize(frames * frameFloats);
        float[][] out = new float[frames][];
        for (int t = 0; t < frames; t++) {
            out[t] = Arrays.copyOfRange(all, t * frameFloats, (t + 1) * frameFloats);
        }
        return out;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        assertThat(b).as("engine latent frame (tapped?)").isNotNull().hasSameSizeAs(a);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }
}
