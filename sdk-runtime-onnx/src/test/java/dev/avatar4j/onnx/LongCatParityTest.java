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
import dev.avatar4j.family.longcat.LongCatEngine;
import dev.avatar4j.io.AudioSource;
import dev.avatar4j.io.Speaker;
import dev.avatar4j.media.AudioStream;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * End-to-end parity of the {@code longcat-avatar} engine on ONNX Runtime with an independent
 * PyTorch reference run on the committed tiny bundle ({@code models/longcat-avatar-tiny}).
 *
 * <p><b>How the goldens were produced.</b> {@code /usr/bin/python3 tools/reference_run_longcat.py}
 * (Debian's PyTorch 1.13, onnx 1.12, numpy, Pillow) rebuilds the graphs as PyTorch modules with
 * exactly the exported weights (the DiT is the real architecture of
 * {@code tools/export/a4jexport/longcat/dit.py}, which {@code tools/export/tests/test_longcat_dit.py}
 * checks against LongCat-Video's own modules in both segment layouts and with 1, 2 and 3 persons) and
 * runs the pipeline written from docs/REFERENCE.md §3/§4.1 and docs/BUNDLE-FORMAT.md with the numpy
 * front end of {@code tools/longcat_golden.py}:
 * loudness normalisation, Whisper log-mel per 30 s chunk, encoder, 50 Hz → 25 fps align_corners,
 * per-frame windows and per-latent unions, segments of 93 frames with 13 context frames re-encoded
 * from the previous segment's uint8 frames, segment 0 on the segment-0 graph and later segments on
 * the continuation graph (reference latent at RoPE position 10, its ±3 mask), the distilled 8-step schedule (shift 7) or the full schedule with enhance_hf and
 * 3-branch guidance, the negated Euler step, per-segment decoding and uint8 truncation.
 *
 * <p><b>Cases</b> (64×64; speech from {@code examples/media/hello.wav}, stored as float32 tracks;
 * initial noise of global latent index 24·s + j from numpy, stored in {@code noise.f32} and
 * injected): {@code a-one-segment} 2.0 s (50 frames, one segment); {@code b-three-segments} 7.0 s
 * (175 frames, 3 segments: two continuations); {@code c-full-guidance} 4.5 s with the manifest
 * switched to {@code "schedule": "full"}, 3 steps (+ enhance_hf: 11 steps in segment 1), text and
 * audio guidance 4/4; {@code d-two-speakers} 4.5 s, two tracks in the reference's default person
 * boxes (the P = 2 graphs, masks [person 1, person 2, background]); {@code e-three-persons} 2.0 s, the
 * two speakers and a silent person (an all-zero track: the P = 3 graphs with the features of silence
 * as the third track, masks [person 1, person 2, background, person 3]).
 * Checked: every denoised latent of every segment within {@value #LATENT_TOLERANCE}, the
 * re-encoded context latents within {@value #CONTEXT_TOLERANCE} (they come from uint8 frames), the
 * frame count and the stored frames within ±{@value #PIXEL_TOLERANCE}.
 */
class LongCatParityTest {
    private static final Logger LOG = LoggerFactory.getLogger(LongCatParityTest.class);
    private static final Path BUNDLE = Path.of("..", "models", "longcat-avatar-tiny");
    private static final Path PORTRAIT = Path.of("..", "examples", "media", "portrait.png");
    private static final ParityGoldens GOLDEN = new ParityGoldens("/parity/longcat/", "tools/reference_run_longcat.py");
    static final double LATENT_TOLERANCE = 1e-4;
    static final int PIXEL_TOLERANCE = 1;
    /**
     * The re-encoded context latents (latents 0..3 of segments after the first) come from uint8
     * frames: one decoded pixel one LSB off (which {@link #PIXEL_TOLERANCE} allows) moves them by up
     * to 4e-4 through the tiny bundle's Wan VAE encoder (the exporter's, at reduced width; measured by
     * perturbing single pixels of 13 random frames by 2/255), so a dozen such pixels in one
     * neighbourhood stay within this bound; a wrong context frame moves them by O(1).
     */
    static final double CONTEXT_TOLERANCE = 5e-3;
    private static final int SEG_LATENTS = 24;
    private static final int CONTEXT_LATENTS = 4;

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

    record Golden(String name, List<float[]> tracks, List<double[]> boxes, int width, int height, boolean distilled,
                  int steps, int segments, float[][] latents, int frameFloats, int frameCount, int[] frameIndices,
                  byte[][] frames) {
    }

    record Result(Map<Integer, float[]> latents, List<byte[]> frames) {
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"a-one-segment", "b-three-segments", "c-full-guidance", "d-two-speakers", "e-three-persons"})
    void engineMatchesTheReferenceRun(String name, @TempDir Path tmp) {
        assumeBundle();
        Golden g = load(name);
        Path bundle = g.distilled() ? BUNDLE : ParityGoldens.patchedBundle(BUNDLE, tmp, m -> replaceOnce(m,
                "\"schedule\": \"distilled\"", "\"schedule\": \"full\""));
        Result r = run(bundle, g, Double.NaN);
        assertThat(r.latents()).as("final latents").hasSize(g.latents().length);
        double worst = 0;
        int worstIndex = -1;
        double worstContext = 0;
        for (int i = 0; i < g.latents().length; i++) {
            float[] got = r.latents().get(i);
            assertThat(got).as("latent %d", i).isNotNull();
            double d = maxAbsDiff(g.latents()[i], got);
            LOG.debug("{} latent {}: {}", name, i, d);
            if (isContext(i)) {
                worstContext = Math.max(worstContext, d);
            } else if (d > worst) {
                worst = d;
                worstIndex = i;
            }
        }
        assertThat(r.frames()).as("frames").hasSize(g.frameCount());
        int worstPixel = 0;
        for (int i = 0; i < g.frameIndices().length; i++) {
            byte[] want = g.frames()[i];
            byte[] got = r.frames().get(g.frameIndices()[i]);
            for (int p = 0; p < want.length; p++) {
                worstPixel = Math.max(worstPixel, Math.abs((want[p] & 0xff) - (got[p] & 0xff)));
            }
        }
        LOG.info("{}: {} segments, denoised latents max |diff| {} (latent {}), re-encoded context latents {}, "
                + "frames max |diff| {}", name, g.segments(), String.format("%.3g", worst), worstIndex,
                String.format("%.3g", worstContext), worstPixel);
        assertThat(worstContext).as("%s: max |context latent − reference|", name)
                .isLessThanOrEqualTo(CONTEXT_TOLERANCE);
        assertThat(worst).as("%s: max |latent − reference| (at latent %d)", name, worstIndex)
                .isLessThanOrEqualTo(LATENT_TOLERANCE);
        assertThat(worstPixel).as("%s: max |pixel − reference|", name).isLessThanOrEqualTo(PIXEL_TOLERANCE);
    }

    /** The goldens can fail: a different shift moves the latents far outside the tolerance. */
    @Test
    void goldensRejectAnotherShift(@TempDir Path tmp) {
        assumeBundle();
        Golden g = load("a-one-segment");
        Path bundle = ParityGoldens.patchedBundle(BUNDLE, tmp,
                m -> replaceOnce(m, "\"shift\": 7.0", "\"shift\": 12.0"));
        Result r = run(bundle, g, Double.NaN);
        double worst = 0;
        for (int i = 0; i < g.latents().length; i++) {
            worst = Math.max(worst, maxAbsDiff(g.latents()[i], r.latents().get(i)));
        }
        assertThat(worst).isGreaterThan(10 * LATENT_TOLERANCE);
    }

    /** The goldens pin the per-person routing: swapping the two speakers' regions moves the latents. */
    @Test
    void goldensRejectSwappedSpeakerRegions() {
        assumeBundle();
        Golden g = load("d-two-speakers");
        Golden swapped = new Golden(g.name(), g.tracks(), List.of(g.boxes().get(1), g.boxes().get(0)), g.width(),
                g.height(), g.distilled(), g.steps(), g.segments(), g.latents(), g.frameFloats(), g.frameCount(),
                g.frameIndices(), g.frames());
        Result r = run(BUNDLE, swapped, Double.NaN);
        double worst = 0;
        for (int i = 0; i < g.latents().length; i++) {
            worst = Math.max(worst, maxAbsDiff(g.latents()[i], r.latents().get(i)));
        }
        assertThat(worst).isGreaterThan(10 * LATENT_TOLERANCE);
    }

    private static Result run(Path bundleDir, Golden g, double guidance) {
        RgbImage image = MediaRegistry.global().readImage(PORTRAIT);
        float[][] noise = noise(g.frameFloats());
        Map<Integer, float[]> latents = new HashMap<>();
        NoiseSource source = (frame, dst, floats) -> {
            assertThat(floats).isEqualTo(g.frameFloats());
            MemorySegment.copy(noise[frame], 0, dst, ValueLayout.JAVA_FLOAT, 0, (int) floats);
        };
        GenerationRequest.LatentTap tap = (index, frame, floats) ->
                latents.put(index, frame.asSlice(0, floats * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT));
        List<Speaker> speakers = new ArrayList<>();
        for (int i = 0; i < g.tracks().size(); i++) {
            double[] b = g.boxes().get(i);
            speakers.add(new Speaker(streamed(g.tracks().get(i)), b[0], b[1], b[2], b[3]));
        }
        GenerationRequest request = new GenerationRequest(image, new AudioClip(g.tracks().get(0), 16000), g.width(),
                g.height(),
                g.steps(), 0L, null, guidance, guidance, source, tap);
        Collector ctx = new Collector();
        try (FamilyEngine<GenerationRequest> engine = FamilyEngines.create(Bundle.open(bundleDir), backend, SessionOptions.defaults())
                .runs(GenerationRequest.class).orElseThrow()) {
            assertThat(engine).isInstanceOf(LongCatEngine.class);
            ((LongCatEngine) engine).generate(request, speakers, ctx);
        }
        for (Speaker sp : speakers) {
            assertThat(sp.audio().inMemory()).as("tracks are read by range, never decoded whole").isFalse();
            sp.audio().close();
        }
        return new Result(latents, ctx.frames);
    }

    /**
     * A track served as a stream through a small window (as a long file is), refusing to be decoded
     * whole: the reference numbers must come out of the engine's streamed reading.
     */
    private static AudioSource streamed(float[] track) {
        return AudioSource.streamed("track", track.length, 16000, () -> AudioStream.of(new AudioClip(track, 16000)),
                () -> {
                    throw new AssertionError("the engine must not decode a speaker's track whole");
                }, 1 << 16);
    }

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

    private static void assumeBundle() {
        Assumptions.assumeTrue(Files.exists(BUNDLE.resolve("dit_p1.onnx")), "tiny longcat bundle absent");
    }

    private static String replaceOnce(String m, String from, String to) {
        assertThat(m).containsOnlyOnce(from);
        return m.replace(from, to);
    }

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
        int frameFloats = shape[1] * shape[2] * shape[3];
        int tracks = Integer.parseInt(p.getProperty("tracks"));
        List<float[]> audio = new ArrayList<>();
        for (int i = 0; i < tracks; i++) {
            audio.add(GOLDEN.floats(name + ".track" + i + ".f32"));
        }
        List<double[]> boxes = new ArrayList<>();
        for (String b : p.getProperty("boxes").split(";")) {
            boxes.add(java.util.Arrays.stream(b.split(",")).mapToDouble(Double::parseDouble).toArray());
        }
        float[] lat = GOLDEN.floats(name + ".latents.f32");
        assertThat(lat).hasSize(shape[0] * frameFloats);
        float[][] latents = new float[shape[0]][];
        for (int i = 0; i < shape[0]; i++) {
            latents[i] = java.util.Arrays.copyOfRange(lat, i * frameFloats, (i + 1) * frameFloats);
        }
        int[] indices = ParityGoldens.ints(p.getProperty("frames.indices"));
        byte[] frameBytes = GOLDEN.bytes(name + ".frames.u8");
        int frameSize = width * height * 3;
        assertThat(frameBytes).hasSize(indices.length * frameSize);
        byte[][] frames = new byte[indices.length][];
        for (int i = 0; i < indices.length; i++) {
            frames[i] = java.util.Arrays.copyOfRange(frameBytes, i * frameSize, (i + 1) * frameSize);
        }
        return new Golden(name, audio, boxes, width, height, Boolean.parseBoolean(p.getProperty("distilled")),
                Integer.parseInt(p.getProperty("steps")), Integer.parseInt(p.getProperty("segments")), latents,
                frameFloats, Integer.parseInt(p.getProperty("frames.count")), indices, frames);
    }

    private static float[][] noise(int frameFloats) {
        float[] all = GOLDEN.floats("noise.f32");
        float[][] out = new float[all.length / frameFloats][];
        for (int i = 0; i < out.length; i++) {
            out[i] = java.util.Arrays.copyOfRange(all, i * frameFloats, (i + 1) * frameFloats);
        }
        return out;
    }

    private static boolean isContext(int latent) {
        return latent >= SEG_LATENTS && latent % SEG_LATENTS < CONTEXT_LATENTS;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }
}
