package dev.avatar4j.examples.cli;

import static dev.avatar4j.examples.cli.InputMatrix.cut;
import static dev.avatar4j.examples.cli.InputMatrix.damage;
import static dev.avatar4j.examples.cli.InputMatrix.encode;
import static dev.avatar4j.examples.cli.InputMatrix.image;
import static dev.avatar4j.examples.cli.InputMatrix.speech;
import static dev.avatar4j.examples.cli.InputMatrix.wav;
import static dev.avatar4j.examples.cli.InputMatrix.wav16;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarException;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.BackendException;
import dev.avatar4j.Frame;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.examples.cli.Avatar4jCliTest.Result;
import dev.avatar4j.tensor.TensorLeaks;
import dev.avatar4j.testing.TestMedia.RecordingSink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bad-input matrix of issue #8 in one place, every input made at test time and sent both
 * through the public API and through the CLI:
 *
 * <ul>
 *   <li>API: exactly one typed exception ({@link InvalidInputException}, or {@link BackendException}
 *       for an unknown backend) whose message names the problem; no output file; no tensor left
 *       open, no FFmpeg buffer left allocated; and the same {@link AvatarModel} then renders
 *       frames identical to a fresh model's.</li>
 *   <li>CLI: the exit code of the problem's kind (2 bad input or usage), exactly one line on
 *       standard error naming it, nothing on standard output, no output file, no tensor or FFmpeg
 *       buffer left open.</li>
 * </ul>
 *
 * <p>The valid-but-unusual matrix (mono/stereo, 8–96 kHz, 8–64-bit and companded WAV, ADPCM, MP3,
 * AAC, silence) renders through both paths with the same number of frames as the reference.
 */
class InputMatrixTest {
    private static final Logger LOG = LoggerFactory.getLogger(InputMatrixTest.class);
    static final double SECONDS = 0.6; // 15 video frames of audio: mid-way between two latent-frame counts
    static final int SIZE = 64;
    static final long SEED = 5;

    @TempDir
    static Path dir;

    @TempDir
    Path work;

    static Path tiny;
    static Path goodImage;
    static Path goodAudio;
    static AvatarModel model;
    static List<byte[]> reference;
    private static String previousModelProperty;

    @BeforeAll
    static void load() throws IOException {
        Path root = Path.of("").toAbsolutePath();
        while (root != null && !Files.isRegularFile(root.resolve("models/stableavatar-tiny/avatar-bundle.json"))) {
            root = root.getParent();
        }
        assertThat(root).as("repository root with models/stableavatar-tiny").isNotNull();
        tiny = root.resolve("models/stableavatar-tiny");
        goodImage = image(dir.resolve("face.png"), "png", 96, 96);
        goodAudio = wav16(dir.resolve("speech.wav"), speech(SECONDS, 16000), 16000, 1);
        try (AvatarModel fresh = AvatarModel.builder(tiny).backend("onnx").load()) {
            reference = render(fresh, request(goodImage, goodAudio));
        }
        model = AvatarModel.builder(tiny).backend("onnx").load();
        // the CLI runs on the default model, the tiny bundle, loaded once per JVM
        previousModelProperty = System.getProperty(AvatarModel.MODEL_PROPERTY);
        System.setProperty(AvatarModel.MODEL_PROPERTY, tiny.toString());
        // loaded now, so that its resident tensors are not counted as a leak of the first case
        BackendOption.defaultModelOn("onnx");
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
        if (previousModelProperty == null) {
            System.clearProperty(AvatarModel.MODEL_PROPERTY);
        } else {
            System.setProperty(AvatarModel.MODEL_PROPERTY, previousModelProperty);
        }
    }

    static Avatar request(Path image, Path audio) {
        return Avatar.from(image).speak(audio).size(SIZE, SIZE).steps(1).seed(SEED);
    }

    static List<byte[]> render(AvatarModel m, Avatar request) {
        RecordingSink sink = new RecordingSink();
        request.model(m).render(sink);
        assertThat(sink.completed).isTrue();
        List<byte[]> frames = new ArrayList<>();
        for (Frame f : sink.frames) {
            frames.add(f.image().toRgbArray());
        }
        return frames;
    }

    /** Makes an input file in a folder (or returns a path that is not one). */
    @FunctionalInterface
    interface Maker {
        Path make(Path dir) throws IOException;
    }

    /**
     * One bad input.
     *
     * @param name     what is wrong
     * @param image    the image to give, or null for the good one
     * @param audio    the audio to give, or null for the good one
     * @param api      changes to the API request (options)
     * @param cli      CLI options replacing the defaults
     * @param backend  the backend to load the model on, or null for the shared model
     * @param apiType  the exception the API throws
     * @param exit     the CLI's exit code
     * @param mention  what the message says (API and CLI)
     */
    record Bad(String name, Maker image, Maker audio, UnaryOperator<Avatar> api, Map<String, String> cli,
               String backend, Class<? extends AvatarException> apiType, int exit, String mention) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Bad badImage(String name, String mention, Maker image) {
        return new Bad(name, image, null, a -> a, Map.of(), null, InvalidInputException.class, 2, mention);
    }

    static Bad badAudio(String name, String mention, Maker audio) {
        return new Bad(name, null, audio, a -> a, Map.of(), null, InvalidInputException.class, 2, mention);
    }

    static Bad badOption(String name, String mention, UnaryOperator<Avatar> api, Map<String, String> cli) {
        return new Bad(name, null, null, api, cli, null, InvalidInputException.class, 2, mention);
    }

    static Path png(Path d) throws IOException {
        return image(d.resolve("src.png"), "png", 96, 96);
    }

    static Path jpg(Path d) throws IOException {
        return image(d.resolve("src.jpg"), "jpg", 96, 96);
    }

    /** {@code file} with no permissions; the case is skipped where that does not stop reading (root). */
    static Path unreadable(Path file) throws IOException {
        boolean posix = Files.getFileStore(file).supportsFileAttributeView("posix");
        org.junit.jupiter.api.Assumptions.assumeTrue(posix, "no POSIX permissions on this file system");
        Files.setPosixFilePermissions(file, java.util.Set.of());
        org.junit.jupiter.api.Assumptions.assumeFalse(Files.isReadable(file),
                "permissions do not stop this user (root) from reading");
        return file;
    }

    static Path garbage(Path file, int bytes) throws IOException {
        byte[] b = new byte[bytes];
        new Random(bytes).nextBytes(b);
        return Files.write(file, b);
    }

    static Stream<Bad> badInputs() {
        return Stream.of(
                // --- images ---
                badImage("image missing", "not found", d -> d.resolve("no-such-face.png")),
                badImage("image is a directory", "directory", d -> Files.createDirectories(d.resolve("faces"))),
                badImage("image empty", "empty", d -> Files.createFile(d.resolve("empty.png"))),
                badImage("image unreadable", "not readable", d -> unreadable(png(d))),
                badImage("PNG truncated", "bad.png", d -> cut(png(d), d.resolve("bad.png"), 0.5)),
                badImage("PNG damaged", "bad.png", d -> damage(png(d), d.resolve("bad.png"), 200, 40)),
                badImage("JPEG truncated", "bad.jpg", d -> cut(jpg(d), d.resolve("bad.jpg"), 0.5)),
                // damaged Huffman tables; damage inside the entropy-coded data is not always
                // detectable (JPEG has no checksum: random bytes may decode as valid codes)
                badImage("JPEG damaged", "bad.jpg", d -> damage(jpg(d), d.resolve("bad.jpg"),
                        InputMatrix.indexOf(jpg(d), 0xFF, 0xC4) + 4, 40)),
                badImage("image garbage", "bad.jpg", d -> garbage(d.resolve("bad.jpg"), 4096)),
                badImage("image 1x1", "too small", d -> image(d.resolve("dot.png"), "png", 1, 1)),
                badImage("image 15x200", "too small", d -> image(d.resolve("thin.png"), "png", 15, 200)),
                badImage("PNG declaring 20000x20000", "20000x20000",
                        d -> InputMatrix.pngDeclaring(d.resolve("huge.png"), 20000)),
                badImage("JPEG declaring 20000x20000", "20000x20000",
                        d -> InputMatrix.jpegDeclaring(d.resolve("huge.jpg"), 20000)),
                badImage("image is audio", "not an image", d -> wav16(d.resolve("face.wav"),
                        speech(0.5, 16000), 16000, 1)),
                // --- audio ---
                badAudio("audio missing", "not found", d -> d.resolve("no-such-speech.wav")),
                badAudio("audio is a directory", "directory", d -> Files.createDirectories(d.resolve("speech"))),
                badAudio("audio empty", "empty", d -> Files.createFile(d.resolve("empty.wav"))),
                badAudio("audio unreadable", "not readable", d -> unreadable(wav16(d.resolve("locked.wav"),
                        speech(0.5, 16000), 16000, 1))),
                badAudio("WAV of 0 samples", "no audio samples", d -> wav(d.resolve("bad.wav"), InputMatrix.PCM, 1,
                        16000, 16, new byte[0])),
                badAudio("audio shorter than a video frame", "too short", d -> wav16(d.resolve("bad.wav"),
                        speech(0.02, 16000), 16000, 1)),
                badAudio("WAV truncated", "truncated", d -> cut(wav16(d.resolve("src.wav"), speech(1, 16000), 16000, 1),
                        d.resolve("bad.wav"), 0.5)),
                badAudio("WAV header damaged", "bad.wav", d -> damage(wav16(d.resolve("src.wav"), speech(1, 16000),
                        16000, 1), d.resolve("bad.wav"), 12, 24)),
                badAudio("WAV unknown codec 0x1234", "bad.wav", d -> wav(d.resolve("bad.wav"), 0x1234, 1, 16000, 16,
                        new byte[32000])),
                badAudio("WAV 16-bit float", "bad.wav", d -> wav(d.resolve("bad.wav"), InputMatrix.IEEE_FLOAT, 1,
                        16000, 16, new byte[32000])),
                badAudio("WAV of 0 channels", "bad.wav", d -> wav(d.resolve("bad.wav"), InputMatrix.PCM, 0, 16000,
                        16, new byte[32000])),
                badAudio("float WAV with NaN", "non-finite", d -> InputMatrix.wavFloatWith(d.resolve("bad.wav"),
                        Float.NaN)),
                badAudio("float WAV with +Inf", "non-finite", d -> InputMatrix.wavFloatWith(d.resolve("bad.wav"),
                        Float.POSITIVE_INFINITY)),
                badAudio("float WAV with -Inf", "non-finite", d -> InputMatrix.wavFloatWith(d.resolve("bad.wav"),
                        Float.NEGATIVE_INFINITY)),
                badAudio("MP3 truncated", "truncated", d -> cut(InputMatrix.mp3(d.resolve("src.mp3"), 2),
                        d.resolve("bad.mp3"), 0.5)),
                badAudio("MP3 garbage", "bad.mp3", d -> garbage(d.resolve("bad.mp3"), 8192)),
                badAudio("MP4 truncated (index at the end)", "bad.m4a", d -> cut(InputMatrix.m4a(d.resolve("src.m4a"),
                        2, false), d.resolve("bad.m4a"), 0.5)),
                badAudio("MP4 truncated (index first)", "truncated", d -> cut(InputMatrix.m4a(d.resolve("src.m4a"),
                        2, true), d.resolve("bad.m4a"), 0.5)),
                badAudio("MP4 header damaged", "bad.m4a", d -> damage(InputMatrix.m4a(d.resolve("src.m4a"), 2, true),
                        d.resolve("bad.m4a"), 0, 64)),
                badAudio("audio is an image", "no audio", d -> png(d)),
                // --- options ---
                badOption("size 250x256", "multiples of 16", a -> a.size(250, 256),
                        Map.of("--width", "250", "--height", "256")),
                badOption("size 0x0", "multiples of 16", a -> a.size(0, 0), Map.of("--width", "0", "--height", "0")),
                badOption("size -16x64", "multiples of 16", a -> a.size(-16, 64),
                        Map.of("--width", "-16", "--height", "64")),
                badOption("steps 0", "steps", a -> a.steps(0), Map.of("--steps", "0")),
                badOption("steps -1", "steps", a -> a.steps(-1), Map.of("--steps", "-1")),
                new Bad("unknown backend", null, null, a -> a, Map.of("--backend", "cuda"), "cuda",
                        BackendException.class, 2, "unknown backend 'cuda'"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badInputs")
    void apiThrowsOneTypedExceptionAndTheModelStaysSound(Bad bad) throws IOException {
        Path image = bad.image() == null ? goodImage : bad.image().make(Files.createDirectories(dir.resolve("api")));
        Path audio = bad.audio() == null ? goodAudio : bad.audio().make(Files.createDirectories(dir.resolve("api")));
        Path out = work.resolve("out.mp4");
        long live = TensorLeaks.live();
        long liveBytes = TensorLeaks.liveBytes();
        long nativeBefore = Pointer.totalBytes();
        Throwable thrown = catchThrowable(() -> {
            AvatarModel m = bad.backend() == null ? model : AvatarModel.builder(tiny).backend(bad.backend()).load();
            bad.api().apply(request(image, audio)).model(m).render(out);
        });
        assertThat(thrown).as("%s", bad).isExactlyInstanceOf(bad.apiType()).hasMessageContaining(bad.mention());
        assertThat(thrown.getMessage()).as("one line").doesNotContain("\n");
        assertThat(listAll(work)).as("no output").isEmpty();
        assertThat(TensorLeaks.live()).as("live tensors").isEqualTo(live);
        assertThat(TensorLeaks.liveBytes()).as("live tensor bytes").isEqualTo(liveBytes);
        assertNoNativeGrowth(nativeBefore);
        assertSameFrames(render(model, request(goodImage, goodAudio)), reference);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badInputs")
    void cliExitsWithOneLineAndNoOutput(Bad bad) throws IOException {
        Path image = bad.image() == null ? goodImage : bad.image().make(Files.createDirectories(dir.resolve("cli")));
        Path audio = bad.audio() == null ? goodAudio : bad.audio().make(Files.createDirectories(dir.resolve("cli")));
        Path out = work.resolve("out.mp4");
        long live = TensorLeaks.live();
        long liveBytes = TensorLeaks.liveBytes();
        long nativeBefore = Pointer.totalBytes();
        Result r = Avatar4jCliTest.cli(cliArgs(image, audio, out, bad.cli()));
        LOG.info("{}: exit {}, {}", bad, r.code(), r.err().strip());
        assertThat(r.code()).as("exit code; stderr: %s", r.err()).isEqualTo(bad.exit());
        assertThat(r.errLines()).as("stderr").hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("avatar4j: ").contains(bad.mention());
        assertThat(r.out()).as("stdout").isEmpty();
        assertThat(listAll(work)).as("no output").isEmpty();
        assertThat(TensorLeaks.live()).as("live tensors").isEqualTo(live);
        assertThat(TensorLeaks.liveBytes()).as("live tensor bytes").isEqualTo(liveBytes);
        assertNoNativeGrowth(nativeBefore);
    }

    static String[] cliArgs(Path image, Path audio, Path out, Map<String, String> overrides) {
        Map<String, String> opts = new LinkedHashMap<>();
        opts.put("--image", image.toString());
        opts.put("--audio", audio.toString());
        opts.put("--out", out.toString());
        opts.put("--backend", "onnx");
        opts.put("--width", Integer.toString(SIZE));
        opts.put("--height", Integer.toString(SIZE));
        opts.put("--steps", "1");
        opts.put("--seed", Long.toString(SEED));
        opts.putAll(overrides);
        List<String> args = new ArrayList<>(List.of("generate", "--quiet"));
        opts.forEach((k, v) -> {
            args.add(k);
            args.add(v);
        });
        return args.toArray(String[]::new);
    }

    // --- refused from the header ------------------------------------------------------------------

    /**
     * A header declaring 20000 x 20000 pixels (1.2 GB of RGB) is refused from the header: the
     * refusal allocates next to nothing on the Java heap, where the decoded picture would go.
     */
    @Test
    void hugeDeclaredImagesAreRefusedBeforeTheirPixelsAreDecoded() throws IOException {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (Path huge : List.of(InputMatrix.pngDeclaring(dir.resolve("huge-h.png"), 20000),
                InputMatrix.jpegDeclaring(dir.resolve("huge-h.jpg"), 20000))) {
            MediaRegistry.global().readImage(goodImage); // warm up: class loading, natives
            long before = threads.getCurrentThreadAllocatedBytes();
            Throwable thrown = catchThrowable(() -> MediaRegistry.global().readImage(huge));
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertThat(thrown).isExactlyInstanceOf(InvalidInputException.class).hasMessageContaining("too large")
                    .hasMessageContaining("20000x20000");
            assertThat(allocated).as("bytes allocated refusing %s", huge).isLessThan(4L << 20);
        }
    }

    // --- valid but unusual --------------------------------------------------------------------------

    /** A valid input: a name and how to make it. */
    record Valid(String name, Maker audio) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Path wav24(Path file, int rate) throws IOException {
        float[] s = speech(SECONDS, rate);
        ByteBuffer d = ByteBuffer.allocate(s.length * 3).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : s) {
            int q = Math.round(v * 8388607f);
            d.put((byte) q).put((byte) (q >> 8)).put((byte) (q >> 16));
        }
        return wav(file, InputMatrix.PCM, 1, rate, 24, d.array());
    }

    static Stream<Valid> validInputs() {
        List<Valid> v = new ArrayList<>();
        for (int rate : new int[] {8000, 11025, 16000, 22050, 44100, 48000, 96000}) {
            v.add(new Valid("mono " + rate + " Hz", d -> wav16(d.resolve("mono-" + rate + ".wav"),
                    speech(SECONDS, rate), rate, 1)));
            v.add(new Valid("stereo " + rate + " Hz", d -> wav16(d.resolve("stereo-" + rate + ".wav"),
                    speech(SECONDS, rate), rate, 2)));
        }
        v.add(new Valid("24-bit 48 kHz", d -> wav24(d.resolve("s24.wav"), 48000)));
        v.add(new Valid("float32 48 kHz", d -> InputMatrix.wavFloat(d.resolve("f32.wav"), speech(SECONDS, 48000),
                48000)));
        v.add(new Valid("float64 WAV", d -> encode(d.resolve("f64.wav"), "wav", avcodec.AV_CODEC_ID_PCM_F64LE,
                avutil.AV_SAMPLE_FMT_DBL, speech(SECONDS, 16000), 16000, false)));
        v.add(new Valid("mu-law 8 kHz", d -> encode(d.resolve("ulaw.wav"), "wav", avcodec.AV_CODEC_ID_PCM_MULAW, -1,
                speech(SECONDS, 8000), 8000, false)));
        v.add(new Valid("A-law 8 kHz", d -> encode(d.resolve("alaw.wav"), "wav", avcodec.AV_CODEC_ID_PCM_ALAW, -1,
                speech(SECONDS, 8000), 8000, false)));
        v.add(new Valid("IMA ADPCM WAV", d -> encode(d.resolve("adpcm.wav"), "wav",
                avcodec.AV_CODEC_ID_ADPCM_IMA_WAV, avutil.AV_SAMPLE_FMT_S16P, speech(SECONDS, 16000), 16000, false)));
        v.add(new Valid("MP3", d -> InputMatrix.mp3(d.resolve("speech.mp3"), SECONDS)));
        // decodes ~0.2 s shorter than its LAME header declares (delay and padding): not truncated
        v.add(new Valid("MP3 8 kHz", d -> InputMatrix.mp3(d.resolve("speech-8k.mp3"), SECONDS, 8000)));
        v.add(new Valid("AAC in MP4", d -> InputMatrix.m4a(d.resolve("speech.m4a"), SECONDS, false)));
        v.add(new Valid("silence", d -> wav16(d.resolve("silence.wav"), new float[(int) (SECONDS * 16000)], 16000,
                1)));
        return v.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("validInputs")
    void validButUnusualAudioRendersThroughTheApiAndTheCli(Valid valid) throws IOException {
        Path audio = valid.audio().make(Files.createDirectories(dir.resolve("valid")));
        List<byte[]> frames = render(model, request(goodImage, audio));
        assertThat(frames).as("frames of %s", valid).hasSameSizeAs(reference);

        // plan measures it without holding the samples (WAV header or a streaming count): the same length
        assertThat(MediaRegistry.global().countAudio(audio, 16000)).as("counted samples of %s", valid)
                .isEqualTo(MediaRegistry.global().readAudio(audio, 16000).length());

        Path out = work.resolve("out.mp4");
        Result r = Avatar4jCliTest.cli(cliArgs(goodImage, audio, out, Map.of()));
        assertThat(r.code()).as("exit code; stderr: %s", r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(out).isRegularFile();
    }

    // --- a 10-hour file ---------------------------------------------------------------------------------

    /**
     * {@code avatar4j plan} on a 10-hour 16 kHz WAV (a sparse file: a real header over 1.15 GB
     * of zeros the disk never stores) measures it from the header: the 576 million samples, as
     * floats, would need 2.3 GB of heap; planning allocates a small fraction of that.
     */
    @Test
    void aTenHourWavIsPlannedWithoutDecodingIt() throws IOException {
        long samples = 10L * 3600 * 16000;
        Path tenHours = dir.resolve("ten-hours.wav");
        ByteBuffer h = ByteBuffer.allocate(44).order(ByteOrder.LITTLE_ENDIAN);
        h.put("RIFF".getBytes()).putInt((int) (36 + samples * 2)).put("WAVE".getBytes());
        h.put("fmt ".getBytes()).putInt(16).putShort((short) 1).putShort((short) 1).putInt(16000).putInt(32000)
                .putShort((short) 2).putShort((short) 16);
        h.put("data".getBytes()).putInt((int) (samples * 2));
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(tenHours.toFile(), "rw")) {
            f.write(h.array());
            f.setLength(44 + samples * 2);
        }
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        Result r = Avatar4jCliTest.cli("plan", "--audio", tenHours.toString(), "--model", tiny.toString(), "--json");
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(r.code()).as("exit code; stderr: %s", r.err()).isZero();
        assertThat(r.out()).containsPattern("\"audioSamples\"\\s*:\\s*" + samples)
                .containsPattern("\"frames\"\\s*:\\s*" + (4 * ((samples / 640 - 1) / 4) + 1)); // 4(T-1)+1
        LOG.info("plan of a 10-hour WAV: {} MB allocated, {} KB of JSON", allocated >> 20, r.out().length() >> 10);
        assertThat(allocated).as("bytes allocated planning 10 hours (the samples: %d)", samples * 4)
                .isLessThan(64L << 20);
    }

    /**
     * FFmpeg's native memory (JavaCPP's count of the bytes its pointers hold) has not grown by
     * more than a few small structs: a decoded frame or sample buffer left open would be kilobytes.
     * Not exactly zero: when FFmpeg fails to open a file, JavaCV leaves three small structs
     * (56 bytes) to the garbage collector, which frees them later.
     */
    static void assertNoNativeGrowth(long before) {
        assertThat(Pointer.totalBytes() - before).as("FFmpeg native bytes still held").isLessThan(1024);
    }

    // --- helpers ----------------------------------------------------------------------------------------

    static void assertSameFrames(List<byte[]> actual, List<byte[]> expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            assertThat(actual.get(i)).as("frame %d", i).isEqualTo(expected.get(i));
        }
    }

    static List<Path> listAll(Path d) {
        try (Stream<Path> s = Files.walk(d)) {
            return s.filter(p -> !p.equals(d)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
