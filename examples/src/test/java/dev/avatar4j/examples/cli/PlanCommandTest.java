package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.io.MediaRegistry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.sound.sampled.AudioFileFormat;
import javax.sound.sampled.AudioFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code avatar4j plan}: the JSON is internally consistent and agrees with the reference formulas
 * (docs/REFERENCE.md §1.1, §1.3, §1.5) re-implemented here in double precision, for a step
 * count, overlap and audio length the design documents do not list.
 */
class PlanCommandTest {
    @TempDir
    static Path inputs;

    static Path tinyBundle;
    static Path speech;       // 7.3 s, 16 kHz mono
    static Path speech44k;    // 2.5 s, 44.1 kHz stereo: resampled like generate does
    private static String previousModelProperty;

    // the tiny bundle's manifest: 128x128, F = 81 frames / 4 + 1 = 21 latents, 16 channels, stride 8,
    // 84-frame audio slices, corrected tail (the manifest has no "tail"), shift 5, 4 default steps, ov 5 log
    private static final int SR = 16_000;
    private static final int FPS = 25;
    private static final int F = 21;

    @BeforeAll
    static void setUp() throws IOException {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("models/stableavatar-tiny/avatar-bundle.json"))) {
            dir = dir.getParent();
        }
        assertThat(dir).as("repository root with models/stableavatar-tiny").isNotNull();
        tinyBundle = dir.resolve("models/stableavatar-tiny");
        previousModelProperty = System.getProperty(AvatarModel.MODEL_PROPERTY);
        System.setProperty(AvatarModel.MODEL_PROPERTY, tinyBundle.toString());
        speech = writeWav(inputs.resolve("speech-7.3s.wav"), 16_000, 1, 116_800);
        speech44k = writeWav(inputs.resolve("speech-44k.wav"), 44_100, 2, 110_250);
    }

    @AfterAll
    static void restore() {
        if (previousModelProperty == null) {
            System.clearProperty(AvatarModel.MODEL_PROPERTY);
        } else {
            System.setProperty(AvatarModel.MODEL_PROPERTY, previousModelProperty);
        }
    }

    /** A 16-bit PCM WAV of a 220 Hz tone. */
    static Path writeWav(Path file, int rate, int channels, int frames) throws IOException {
        ByteBuffer pcm = ByteBuffer.allocate(frames * channels * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < frames; i++) {
            short s = (short) Math.round(8000 * Math.sin(2 * Math.PI * 220 * i / rate));
            for (int c = 0; c < channels; c++) {
                pcm.putShort(s);
            }
        }
        AudioFormat format = new AudioFormat(rate, 16, channels, true, false);
        try (AudioInputStream in = new AudioInputStream(new ByteArrayInputStream(pcm.array()), format, frames)) {
            AudioSystem.write(in, AudioFileFormat.Type.WAVE, file.toFile());
        }
        return file;
    }

    static Avatar4jCliTest.Result cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Avatar4jCli.run(args, o, e);
        }
        return new Avatar4jCliTest.Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Map<String, Object> json(Avatar4jCliTest.Result r) throws IOException {
        assertThat(r.code()).as("exit code; stderr: %s", r.err()).isZero();
        assertThat(r.err()).isEmpty();
        return JSON.std.mapFrom(r.out());
    }

    private static long num(Map<String, Object> m, String key) {
        Object v = m.get(key);
        assertThat(v).as(key).isInstanceOf(Number.class);
        return ((Number) v).longValue();
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Map<String, Object> m, String key) {
        assertThat(m.get(key)).as(key).isInstanceOf(List.class);
        return (List<Object>) m.get(key);
    }

    private static double[] doubles(Map<String, Object> m, String key) {
        return list(m, key).stream().mapToDouble(o -> ((Number) o).doubleValue()).toArray();
    }

    // --- the independent re-implementation of the reference formulas ---------------------------------------

    /** §1.5's while-loop (T > F), as [start, end) pairs. */
    static List<List<Integer>> referenceWindows(int t, int f, int o) {
        List<List<Integer>> out = new ArrayList<>();
        int start = 0;
        int end = f;
        boolean last = false;
        while (end <= t) {
            out.add(List.of(start, end));
            if (last) {
                break;
            }
            if (end != t) {
                start += f - o;
                if (start + f < t) {
                    end = start + f;
                } else {
                    end = t;
                    last = true;
                }
            }
        }
        return out;
    }

    /** §1.3 in double precision: σ_i = shift·u/(1 + (shift−1)·u), u = linspace(σmax, σmin, N), σ_N = 0. */
    static double[] referenceSigmas(int n, double shift) {
        double sigmaMax = 1.0;
        double sigmaMin = shift * 0.001 / (1 + (shift - 1) * 0.001); // σ(1/1000) of the training table
        double[] s = new double[n + 1];
        for (int i = 0; i < n; i++) {
            double u = n == 1 ? sigmaMax : sigmaMax + i * (sigmaMin - sigmaMax) / (n - 1);
            s[i] = shift * u / (1 + (shift - 1) * u);
        }
        s[n] = 0;
        return s;
    }

    /** wav2vec2's conv stack: L ← ⌊(L − k)/s⌋ + 1. */
    static long referenceTokens(long samples) {
        int[] k = {10, 3, 3, 3, 3, 2, 2};
        int[] s = {5, 2, 2, 2, 2, 2, 2};
        long len = samples;
        for (int i = 0; i < k.length; i++) {
            len = (len - k[i]) / s[i] + 1;
        }
        return len;
    }

    // --- tests --------------------------------------------------------------------------------------------

    @Test
    void jsonAgreesWithTheReferenceFormulas() throws IOException {
        int steps = 7;
        int ov = 6;
        Map<String, Object> m = json(cli("plan", "--audio", speech.toString(), "--model", tinyBundle.toString(),
                "--steps", "7", "--overlap", "6", "--weights", "uniform", "--json"));

        // audio → frames → latents (§1.1 step 3)
        long samples = 116_800;
        assertThat(num(m, "audioSamples")).isEqualTo(samples);
        assertThat(num(m, "sampleRate")).isEqualTo(SR);
        assertThat(num(m, "fps")).isEqualTo(FPS);
        long totalFrames = samples / (SR / FPS);
        int t = (int) Math.floorDiv(totalFrames - 1, 4) + 1;
        assertThat(t).isEqualTo(46);
        assertThat(num(m, "latentFrames")).isEqualTo(t);
        assertThat(num(m, "frames")).isEqualTo((t - 1) * 4L + 1).isLessThanOrEqualTo(totalFrames);
        assertThat(m.get("family")).isEqualTo("stableavatar");

        // windows (§1.5)
        assertThat(num(m, "windowLatents")).isEqualTo(F);
        assertThat(num(m, "overlap")).isEqualTo(ov);
        assertThat(num(m, "stride")).isEqualTo(F - ov);
        List<List<Integer>> expected = referenceWindows(t, F, ov);
        assertThat(expected).hasSize(3);
        assertThat(m.get("windows")).isEqualTo(expected);
        // they cover [0, T) and overlap by exactly O
        assertThat(expected.getFirst().get(0)).isZero();
        assertThat(expected.getLast().get(1)).isEqualTo(t);
        for (int k = 1; k < expected.size(); k++) {
            assertThat(expected.get(k - 1).get(1) - expected.get(k).get(0)).isEqualTo(ov);
        }

        // each window's audio: 84 frames from s·4·640; the last one too (corrected tail)
        assertThat(m.get("tailMode")).isEqualTo("corrected");
        List<Object> audio = list(m, "windowAudio");
        assertThat(audio).hasSize(expected.size());
        for (int k = 0; k < expected.size(); k++) {
            long from = expected.get(k).get(0) * 4L * 640;
            long to = from + 84L * 640;
            List<Long> got = ((List<?>) audio.get(k)).stream().map(o -> ((Number) o).longValue()).toList();
            assertThat(got).as("window %d", k).isEqualTo(List.of(from, to, referenceTokens(to - from)));
        }
        assertThat(referenceTokens(84L * 640)).isEqualTo(167);

        // schedule (§1.3)
        assertThat(num(m, "steps")).isEqualTo(steps);
        assertThat(((Number) m.get("shift")).doubleValue()).isEqualTo(5.0);
        assertThat(m.get("shiftMode")).isEqualTo("diffusers-0.30.1");
        double[] sigmas = doubles(m, "sigmas");
        double[] timesteps = doubles(m, "timesteps");
        double[] refSigmas = referenceSigmas(steps, 5.0);
        assertThat(sigmas).hasSize(steps + 1);
        assertThat(sigmas[steps]).isZero();
        assertThat(timesteps).hasSize(steps);
        for (int i = 0; i <= steps; i++) {
            assertThat(sigmas[i]).as("sigma %d", i).isCloseTo(refSigmas[i], within(1e-6));
        }
        for (int i = 0; i < steps; i++) {
            assertThat(timesteps[i] / 1000).as("timestep %d", i).isCloseTo(refSigmas[i], within(1e-6));
            // float32 product σ·1000, as torch
            assertThat((float) timesteps[i]).isEqualTo((float) sigmas[i] * 1000f);
            if (i > 0) {
                assertThat(sigmas[i]).isLessThan(sigmas[i - 1]);
            }
        }

        // weights: uniform j/(O−1)
        assertThat(m.get("weightsScheme")).isEqualTo("uniform");
        double[] w = doubles(m, "overlapWeights");
        assertThat(w).hasSize(ov);
        for (int j = 0; j < ov; j++) {
            assertThat(w[j]).isCloseTo((double) j / (ov - 1), within(1e-6));
        }

        // costs
        assertThat(num(m, "branches")).isEqualTo(3);
        assertThat(num(m, "forwardPasses")).isEqualTo((long) steps * expected.size());
        assertThat(num(m, "batchRows")).isEqualTo(3L * steps * expected.size());
        assertThat(num(m, "decoderCalls")).isEqualTo(t);

        // memory: the wavefront bound 2·(D·S + F) − (D+1)·max(0, S−O), D = m(N−1), m = ⌊(F−1)/S⌋, ≤ 2T
        assertThat(num(m, "width")).isEqualTo(128);
        assertThat(num(m, "height")).isEqualTo(128);
        long perFrame = 16L * (128 / 8) * (128 / 8) * 4;
        assertThat(num(m, "latentBytesPerFrame")).isEqualTo(perFrame);
        long stride = F - ov;
        long mLater = (F - 1) / stride;
        long depth = mLater * (steps - 1);
        long bound = 2 * (depth * stride + F) - (depth + 1) * Math.max(0, stride - ov);
        assertThat(bound).isEqualTo(159);
        assertThat(num(m, "peakLatentFrames")).isEqualTo(Math.min(bound, 2L * t)).isEqualTo(92);
        assertThat(num(m, "peakLatentBytes")).isEqualTo(92 * perFrame);
        long firstFinal = mLater * steps * (steps - 1) / 2 + steps;
        assertThat(num(m, "forwardPassesBeforeFirstFrame"))
                .isEqualTo(Math.min(firstFinal, (long) steps * expected.size())).isEqualTo(21);

        assertThat(m.keySet()).contains("family", "audioSamples", "sampleRate", "fps", "frames", "latentFrames",
                "windowLatents", "overlap", "stride", "weightsScheme", "overlapWeights", "windows", "windowAudio",
                "steps", "shift", "shiftMode", "sigmas", "timesteps", "branches", "forwardPasses", "decoderCalls",
                "width", "height", "latentBytesPerFrame", "peakLatentFrames", "peakLatentBytes",
                "forwardPassesBeforeFirstFrame", "tailMode");
    }

    @Test
    void floatsRoundTripAsFloat32() {
        Avatar4jCliTest.Result r = cli("plan", "--audio", speech.toString(), "--steps", "7", "--json");
        assertThat(r.code()).as("stderr: %s", r.err()).isZero();
        // every number in "sigmas" is the shortest float32 decimal: parsing it as a float gives it back
        String sigmas = r.out().substring(r.out().indexOf("\"sigmas\""));
        sigmas = sigmas.substring(sigmas.indexOf('[') + 1, sigmas.indexOf(']'));
        for (String token : sigmas.split(",")) {
            String s = token.strip();
            assertThat(Float.toString(Float.parseFloat(s))).as(s).isEqualTo(s);
        }
    }

    @Test
    void defaultsComeFromTheManifest() throws IOException {
        // no --model: -Davatar4j.model (the tiny bundle); 4 steps, overlap 5, log weights, 128x128
        Map<String, Object> m = json(cli("plan", "--audio", speech.toString(), "--json"));
        assertThat(num(m, "steps")).isEqualTo(4);
        assertThat(num(m, "overlap")).isEqualTo(5);
        assertThat(m.get("weightsScheme")).isEqualTo("log");
        assertThat(num(m, "width")).isEqualTo(128);
        assertThat(referenceWindows(46, F, 5)).isEqualTo(m.get("windows"));
        double[] w = doubles(m, "overlapWeights");
        double[] log = {0, 0.357374, 0.620115, 0.827989, 1}; // Appendix A block D
        for (int j = 0; j < 5; j++) {
            assertThat(w[j]).isCloseTo(log[j], within(1e-6));
        }
        Map<String, Object> sized = json(cli("plan", "--audio", speech.toString(), "--width", "512", "--height",
                "384", "--json"));
        assertThat(num(sized, "latentBytesPerFrame")).isEqualTo(16L * 64 * 48 * 4);
    }

    @Test
    void resampledAudioCountsTheSamplesTheEngineSees() throws IOException {
        long engineSamples = MediaRegistry.global().readAudio(speech44k, SR).length();
        Map<String, Object> m = json(cli("plan", "--audio", speech44k.toString(), "--json"));
        assertThat(num(m, "audioSamples")).isEqualTo(engineSamples);
        assertThat(num(m, "latentFrames")).isEqualTo(Math.floorDiv(engineSamples / 640 - 1, 4) + 1);
    }

    @Test
    void textSummary() {
        Avatar4jCliTest.Result r = cli("plan", "--audio", speech.toString(), "--steps", "7", "--overlap", "6",
                "--weights", "uniform");
        assertThat(r.code()).as("stderr: %s", r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).contains("181 frames", "46 latent frames", "3 windows", "overlap 6",
                "[0,21) [15,36) [30,46)", "7 steps", "21 DiT forward passes", "63 batch rows", "46 decoder calls",
                "92 frames");
    }

    @Test
    void badInputExits2AndBadBundleExits3() throws IOException {
        Avatar4jCliTest.Result overlap = cli("plan", "--audio", speech.toString(), "--overlap", "21");
        assertOneLineError(overlap, 2, "overlap", "[2, 20]", "21");
        assertOneLineError(cli("plan", "--audio", speech.toString(), "--overlap", "1"), 2, "overlap");
        assertOneLineError(cli("plan", "--audio", speech.toString(), "--weights", "linear"), 2, "linear", "log",
                "uniform");
        assertOneLineError(cli("plan", "--audio", speech.toString(), "--steps", "0"), 2, "steps");
        Path missing = inputs.resolve("none.wav");
        assertOneLineError(cli("plan", "--audio", missing.toString()), 2, missing.toString());
        Path garbage = Files.write(inputs.resolve("garbage.wav"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        assertOneLineError(cli("plan", "--audio", garbage.toString()), 2, garbage.toString());
        assertOneLineError(cli("plan"), 2, "--audio");

        Path notBundle = Files.createDirectories(inputs.resolve("not-a-bundle"));
        assertOneLineError(cli("plan", "--audio", speech.toString(), "--model", notBundle.toString()), 3,
                notBundle.toString());
        Path broken = Files.createDirectories(inputs.resolve("broken-bundle"));
        Files.writeString(broken.resolve("avatar-bundle.json"), "{\"format\": 1,");
        assertOneLineError(cli("plan", "--audio", speech.toString(), "--model", broken.toString()), 3,
                broken.toString());
        Path bad = Files.createDirectories(inputs.resolve("bad-overlap-bundle"));
        Files.writeString(bad.resolve("avatar-bundle.json"), Files.readString(tinyBundle.resolve("avatar-bundle.json"))
                .replace("\"overlap\": 5", "\"overlap\": 30"));
        assertOneLineError(cli("plan", "--audio", speech.toString(), "--model", bad.toString()), 3, "overlap");
    }

    @Test
    void aZipBundleIsAcceptedAndAHostileOneExits3() throws IOException {
        Path zip = inputs.resolve("stableavatar-tiny.zip");
        try (java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(Files.newOutputStream(zip));
             java.util.stream.Stream<Path> files = Files.list(tinyBundle)) {
            for (Path f : files.sorted().toList()) {
                out.putNextEntry(new java.util.zip.ZipEntry("stableavatar-tiny/" + f.getFileName()));
                out.write(Files.readAllBytes(f));
                out.closeEntry();
            }
        }
        Map<String, Object> fromZip = json(cli("plan", "--audio", speech.toString(), "--model", zip.toString(), "--json"));
        Map<String, Object> fromDir = json(cli("plan", "--audio", speech.toString(), "--model", tinyBundle.toString(),
                "--json"));
        assertThat(fromZip).isEqualTo(fromDir);

        Path evil = inputs.resolve("evil.zip");
        try (java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(Files.newOutputStream(evil))) {
            out.putNextEntry(new java.util.zip.ZipEntry("../escaped.txt"));
            out.write(1);
            out.closeEntry();
        }
        assertOneLineError(cli("plan", "--audio", speech.toString(), "--model", evil.toString()), 3, evil.toString(),
                "../escaped.txt");
        assertThat(inputs.resolve("../escaped.txt").normalize()).doesNotExist();
    }

    @Test
    void listedInHelp() {
        Avatar4jCliTest.Result help = cli("--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("plan");
        Avatar4jCliTest.Result planHelp = cli("plan", "--help");
        assertThat(planHelp.code()).isZero();
        assertThat(planHelp.out()).contains("--audio", "--model", "--steps", "--overlap", "--weights", "--width",
                "--height", "--json");
    }

    private static void assertOneLineError(Avatar4jCliTest.Result r, int code, String... mentions) {
        assertThat(r.code()).as("exit code; stderr: %s", r.err()).isEqualTo(code);
        assertThat(r.errLines()).as("stderr").hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("avatar4j: ").contains(mentions);
        assertThat(r.out()).isEmpty();
    }
}
