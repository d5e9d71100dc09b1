package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.avatar4j.AvatarException;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.BackendException;
import dev.avatar4j.BundleException;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.InvalidInputException;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.sound.sampled.AudioFileFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI run in-process through {@link Avatar4jCli#run(String[], PrintStream, PrintStream)}: exit
 * codes, one-line errors, no partial output, {@code doctor}, and a real generation on the demo
 * media with the tiny model.
 */
class Avatar4jCliTest {
    @TempDir
    static Path inputs;

    @TempDir
    Path work;

    static Path repo;
    static Path tinyBundle;
    static Path portrait;
    static Path speech2s;
    static Path speechFull;
    private static String previousModelProperty;

    /** What one CLI run printed and returned. */
    record Result(int code, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }
    }

    static Result cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Avatar4jCli.run(args, o, e);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @BeforeAll
    static void inputs() throws Exception {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("models/stableavatar-tiny/avatar-bundle.json"))) {
            dir = dir.getParent();
        }
        assertThat(dir).as("repository root with models/stableavatar-tiny").isNotNull();
        repo = dir;
        tinyBundle = repo.resolve("models/stableavatar-tiny");
        portrait = repo.resolve("examples/media/portrait.png");
        speechFull = repo.resolve("examples/media/hello.wav");
        // the default model: the tiny bundle in the tree (no extraction into ~/.cache by the tests)
        previousModelProperty = System.getProperty(AvatarModel.MODEL_PROPERTY);
        System.setProperty(AvatarModel.MODEL_PROPERTY, tinyBundle.toString());
        speech2s = inputs.resolve("speech-2s.wav");
        sliceWav(speechFull, speech2s, 2.0);
    }

    @AfterAll
    static void restore() {
        if (previousModelProperty == null) {
            System.clearProperty(AvatarModel.MODEL_PROPERTY);
        } else {
            System.setProperty(AvatarModel.MODEL_PROPERTY, previousModelProperty);
        }
    }

    /** Writes the first {@code seconds} of a PCM WAV to {@code to}. */
    static void sliceWav(Path from, Path to, double seconds) throws Exception {
        try (AudioInputStream in = AudioSystem.getAudioInputStream(from.toFile())) {
            long frames = Math.round(in.getFormat().getFrameRate() * seconds);
            assertThat(in.getFrameLength()).isGreaterThanOrEqualTo(frames);
            try (AudioInputStream slice = new AudioInputStream(in, in.getFormat(), frames)) {
                AudioSystem.write(slice, AudioFileFormat.Type.WAVE, to.toFile());
            }
        }
    }

    private String[] generateArgs(Path image, Path audio, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("generate", "--image", image.toString(), "--audio",
                audio.toString(), "--out", out.toString()));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    private static void assertOneLineError(Result r, int code, String... mentions) {
        assertThat(r.code()).as("exit code; stderr: %s", r.err()).isEqualTo(code);
        assertThat(r.errLines()).as("stderr").hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("avatar4j: ").contains(mentions);
        assertThat(r.out()).isEmpty();
    }

    private static List<Path> listAll(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> !p.equals(dir)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // --- bad input: exit 2 or 3, one line, no output ---------------------------------------------

    @Test
    void textFromFilesIsPrintedWithoutControlCharacters() {
        // a bundle name cannot rewrite the terminal or forge lines (issue 22 item 11, defence in depth)
        assertThat(Avatar4jCli.printable("a\u001b[2Jb\nc\u202ed")).isEqualTo("a\\u001b[2Jb\\u000ac\\u202ed");
        assertThat(Avatar4jCli.printable("stableavatar-1.3b")).isEqualTo("stableavatar-1.3b");
    }

    @Test
    void missingImageExits2NamingThePath() {
        Path missing = inputs.resolve("no-such-face.png");
        Path out = work.resolve("out.mp4");
        Result r = cli(generateArgs(missing, speech2s, out));
        assertOneLineError(r, 2, missing.toString(), "not found");
        assertThat(listAll(work)).isEmpty();
    }

    @Test
    void missingAudioExits2() {
        Path missing = inputs.resolve("no-such-speech.wav");
        Result r = cli(generateArgs(portrait, missing, work.resolve("out.mp4")));
        assertOneLineError(r, 2, missing.toString());
        assertThat(listAll(work)).isEmpty();
    }

    @Test
    void corruptImageExits2() throws IOException {
        Path corrupt = inputs.resolve("corrupt.png");
        byte[] noise = new byte[4096];
        new Random(1).nextBytes(noise);
        Files.write(corrupt, noise);
        Result r = cli(generateArgs(corrupt, speech2s, work.resolve("out.mp4")));
        assertOneLineError(r, 2, corrupt.toString());
        assertThat(listAll(work)).isEmpty();
    }

    @Test
    void zeroLengthAudioExits2() throws IOException {
        Path empty = Files.createFile(inputs.resolve("empty.wav"));
        Result r = cli(generateArgs(portrait, empty, work.resolve("out.mp4")));
        assertOneLineError(r, 2, empty.toString(), "empty");
        assertThat(listAll(work)).isEmpty();
    }

    @Test
    void directoryThatIsNotABundleExits3() throws IOException {
        Path notBundle = Files.createDirectories(inputs.resolve("not-a-bundle"));
        Files.writeString(notBundle.resolve("readme.txt"), "hello");
        Result r = cli(generateArgs(portrait, speech2s, work.resolve("out.mp4"), "--model", notBundle.toString()));
        assertOneLineError(r, 3, notBundle.toString());
        assertThat(listAll(work)).isEmpty();
    }

    @Test
    void unknownBackendIsAUsageError() {
        Result r = cli(generateArgs(portrait, speech2s, work.resolve("out.mp4"), "--backend", "cuda"));
        assertOneLineError(r, 2, "cuda", "onnx", "auto");
        assertThat(listAll(work)).isEmpty();
    }

    @Test
    void sizeNotAMultipleOf16Exits2() {
        Result r = cli(generateArgs(portrait, speech2s, work.resolve("out.mp4"), "--width", "250", "--height", "256"));
        assertOneLineError(r, 2, "250x256", "multiples of 16");
        assertThat(listAll(work)).isEmpty();
    }

    @Test
    void widthWithoutHeightExits2() {
        Result r = cli(generateArgs(portrait, speech2s, work.resolve("out.mp4"), "--width", "256"));
        assertOneLineError(r, 2, "--width", "--height");
    }

    @Test
    void zeroStepsExits2() {
        Result r = cli(generateArgs(portrait, speech2s, work.resolve("out.mp4"), "--steps", "0"));
        assertOneLineError(r, 2, "steps");
    }

    @Test
    void missingOutputDirectoryExits2NamingIt() {
        Path parent = work.resolve("no-such-dir");
        Result r = cli(generateArgs(portrait, speech2s, parent.resolve("out.mp4")));
        assertOneLineError(r, 2, parent.toString(), "does not exist");
        assertThat(parent).doesNotExist();
    }

    @Test
    void outputThatIsADirectoryExits2() {
        Result r = cli(generateArgs(portrait, speech2s, work));
        assertOneLineError(r, 2, "is a directory");
        assertThat(listAll(work)).isEmpty();
    }

    @Test
    void usageErrorsExit2InOneLine() {
        assertOneLineError(cli("generate", "--image", "x.png"), 2, "--out");
        // --audio is optional at parse time (multi-person videos use --speaker instead) but still needed
        assertOneLineError(cli("generate", "--image", portrait.toString(), "--out", work.resolve("o.mp4").toString()),
                2, "--audio");
        assertOneLineError(cli(generateArgs(portrait, speech2s, work.resolve("o.mp4"), "--bogus")), 2, "--bogus");
        assertOneLineError(cli("--steps", "1"), 2, "--steps");
        assertOneLineError(cli(), 2, "missing command");
        assertOneLineError(cli("frobnicate"), 2, "frobnicate");
    }

    @Test
    void helpAndVersionExit0() {
        Result help = cli("--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("generate", "doctor", "Exit codes");
        Result genHelp = cli("generate", "--help");
        assertThat(genHelp.code()).isZero();
        assertThat(genHelp.out()).contains("--image", "--audio", "--out", "--model", "--steps", "--seed", "--width",
                "--height", "--prompt", "--backend", "--png-dir");
        Result version = cli("--version");
        assertThat(version.code()).isZero();
        assertThat(version.out()).startsWith("avatar4j ").contains("Java");
    }

    // --- doctor -----------------------------------------------------------------------------------

    @Test
    void doctorListsBackendsWithTheirProbe() {
        Result r = cli("doctor");
        assertThat(r.code()).as("doctor exit code; out:%n%s%nerr:%n%s", r.out(), r.err()).isZero();
        assertThat(r.out()).contains("java", Runtime.version().toString());
        String onnx = line(r.out(), "onnx");
        assertThat(onnx).contains("available").doesNotContain("unavailable");
        String trt = line(r.out(), "tensorrt");
        if (trt.contains("unavailable")) {
            // the reason follows the word, e.g. "unavailable — no NVIDIA GPU driver: ..."
            assertThat(trt.substring(trt.indexOf("unavailable") + "unavailable".length()).replaceAll("[\\s—-]", ""))
                    .as("reason in %s", trt).isNotEmpty();
        }
        // auto picks the first available backend in rank order (onnx here; tensorrt on a TensorRT machine)
        assertThat(line(r.out(), "auto")).doesNotContain("none").containsAnyOf("onnx", "tensorrt");
        assertThat(line(r.out(), "media")).contains("preferred first");
        // available only because it wrote and decoded a clip in this very process
        assertThat(line(r.out(), "ffmpeg")).contains("rank 10", "available", "wrote and decoded")
                .doesNotContain("unavailable");
        assertThat(line(r.out(), "jdk")).contains("WAV only");
        assertThat(line(r.out(), "model")).contains("stableavatar-tiny");
    }

    // --- TensorRT on a machine without it: named reason, exit 4, auto falls back ---------------------

    /** Why TensorRT is unavailable here (the test is skipped on a machine where it is available). */
    private static String tensorRtReason() {
        var probe = dev.avatar4j.backend.BackendRegistry.global().probeAll().get("tensorrt");
        assumeTrue(probe != null && !probe.available(), "TensorRT is available on this machine");
        return probe.detail();
    }

    @Test
    void backendTensorRtWithoutTensorRtExits4WithTheProbesReason() {
        String reason = tensorRtReason();
        Path out = work.resolve("trt.mp4");
        Result r = cli(generateArgs(portrait, speech2s, out, "--backend", "tensorrt", "--steps", "1"));
        assertOneLineError(r, 4, "tensorrt", reason);
        assertThat(out).doesNotExist();
        assertThat(line(cli("doctor").out(), "tensorrt")).contains("unavailable").contains(reason);
    }

    @Test
    void backendAutoWithoutTensorRtCompletesOnOnnxRuntime() {
        tensorRtReason();
        Path out = work.resolve("auto.mp4");
        Result r = cli(generateArgs(portrait, speech2s, out, "--backend", "auto", "--steps", "1", "--width", "128",
                "--height", "128"));
        assertThat(r.code()).as("exit code; stderr: %s", r.err()).isZero();
        assertThat(r.out()).startsWith("wrote " + out);
        assertThat(out).isRegularFile();
    }

    @Test
    void enginesBuildWithoutTensorRtExits4WithTheProbesReason() {
        String reason = tensorRtReason();
        Result r = cli("engines", "build", "--model", tinyBundle.toString());
        assertOneLineError(r, 4, "backend 'tensorrt' is not available", reason);
        // a bad bundle is still a bundle problem (exit 3), and a missing --model a usage error
        assertThat(cli("engines", "build", "--model", work.resolve("nope").toString()).code()).isEqualTo(3);
        assertThat(cli("engines", "build").code()).isEqualTo(2);
        assertThat(cli("engines").code()).isEqualTo(2);
    }

    private static String line(String text, String startsWith) {
        return text.lines().map(String::strip).filter(l -> l.startsWith(startsWith)).findFirst()
                .orElseThrow(() -> new AssertionError("no line starting with '" + startsWith + "' in:\n" + text));
    }

    // --- a real generation ----------------------------------------------------------------------------

    @Test
    void generatesAnMp4AndPngFrames() throws Exception {
        Path out = work.resolve("talk.mp4");
        Path pngs = work.resolve("frames");
        Result r = cli(generateArgs(portrait, speech2s, out, "--steps", "1", "--seed", "7", "--width", "256",
                "--height", "256", "--backend", "onnx", "--png-dir", pngs.toString()));
        assertThat(r.code()).as("exit code; stderr: %s", r.err()).isZero();
        assertThat(r.err()).isEmpty();
        Matcher m = Pattern.compile("^wrote (.+) \\((\\d+) frames, 256x256, ([0-9.]+) s\\) in [0-9.]+ s$")
                .matcher(r.out().strip());
        assertThat(m.matches()).as("success line: %s", r.out()).isTrue();
        assertThat(m.group(1)).isEqualTo(out.toString());
        int frames = Integer.parseInt(m.group(2));
        assertThat(frames).isBetween(45, 55);
        assertThat(out).isRegularFile();

        List<Path> written = listAll(work);
        assertThat(written).as("nothing but the MP4, the PNG folder and its frames")
                .allMatch(p -> p.equals(out) || p.equals(pngs) || p.getParent().equals(pngs));
        try (Stream<Path> s = Files.list(pngs)) {
            List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
            assertThat(names).hasSize(frames).allMatch(n -> n.matches("frame_\\d{6}\\.png"));
            assertThat(names.get(0)).isEqualTo("frame_000000.png");
        }

        Path ffprobe = onPath("ffprobe");
        assumeTrue(ffprobe != null, "ffprobe is not installed: MP4 stream checks skipped");
        Map<String, String> video = probe(ffprobe, out, "v:0", "codec_name,width,height,r_frame_rate");
        Map<String, String> audio = probe(ffprobe, out, "a:0", "codec_name");
        assertThat(video).containsEntry("codec_name", "h264").containsEntry("width", "256")
                .containsEntry("height", "256").containsEntry("r_frame_rate", "25/1");
        assertThat(audio).containsEntry("codec_name", "aac");
        double duration = Double.parseDouble(run(ffprobe.toString(), "-v", "error", "-show_entries",
                "format=duration", "-of", "default=nw=1:nk=1", out.toString()).strip());
        assertThat(duration).isCloseTo(2.0, org.assertj.core.data.Offset.offset(0.2));
    }

    @Test
    void cancellingLeavesNoPartialOutput() throws Exception {
        Path out = work.resolve("cancelled.mp4");
        Path pngs = work.resolve("frames");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        Avatar4jCli cli = new Avatar4jCli(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                errStream);
        CompletableFuture<Integer> code = CompletableFuture.supplyAsync(() -> cli.execute(
                generateArgs(portrait, speechFull, out, "--steps", "8", "--png-dir", pngs.toString())));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!cli.generating() && !code.isDone() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(cli.generating()).as("generation started; stderr: %s", err).isTrue();
        assertThat(cli.cancelForShutdown(Duration.ofSeconds(30))).isTrue();
        assertThat(code.get(60, TimeUnit.SECONDS)).as("stderr: %s", err).isEqualTo(130);
        assertThat(err.toString(StandardCharsets.UTF_8).lines().toList()).hasSize(1)
                .allMatch(l -> l.startsWith("avatar4j: ") && l.contains("cancelled"));
        assertThat(listAll(work)).as("no partial MP4, no staged PNGs, no PNG folder we created").isEmpty();
    }

    // --- exit-code mapping -------------------------------------------------------------------------------

    @Test
    void exitCodesFollowTheExceptionType() {
        assertThat(Avatar4jCli.exitCode(new InvalidInputException("x"))).isEqualTo(2);
        assertThat(Avatar4jCli.exitCode(new IllegalArgumentException("x"))).isEqualTo(2);
        assertThat(Avatar4jCli.exitCode(new BundleException("x"))).isEqualTo(3);
        assertThat(Avatar4jCli.exitCode(new BackendException("x"))).isEqualTo(4);
        assertThat(Avatar4jCli.exitCode(new AvatarException("x"))).isEqualTo(4);
        assertThat(Avatar4jCli.exitCode(new GenerationCancelledException("x"))).isEqualTo(130);
        assertThat(Avatar4jCli.exitCode(new IllegalStateException("x"))).isEqualTo(1);
        assertThat(Avatar4jCli.oneLine("first\n  second\r\nthird ")).isEqualTo("first | second | third");
    }

    // --- helpers ------------------------------------------------------------------------------------------

    static Path onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    private static Map<String, String> probe(Path ffprobe, Path file, String stream, String entries) throws Exception {
        String text = run(ffprobe.toString(), "-v", "error", "-select_streams", stream, "-show_entries",
                "stream=" + entries, "-of", "default=nw=1", file.toString());
        Map<String, String> map = new HashMap<>();
        text.lines().filter(l -> l.contains("=")).forEach(l -> map.put(l.substring(0, l.indexOf('=')),
                l.substring(l.indexOf('=') + 1)));
        return map;
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s: %s", String.join(" ", command), text).isZero();
        return text;
    }
}
