package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Frame;
import dev.avatar4j.Generation;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.PartFiles;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoSpec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.sound.sampled.AudioFileFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 22 item 1: no exit path of the CLI leaves a {@code .part} file or folder. Ctrl-C (SIGINT) on a
 * forked {@code generate} (MP4 and {@code --png-dir}) and {@code dub} exits with 130 and leaves no
 * partial output; the shutdown cancels generate's and dub's generations the same way, and deletes the
 * parts itself when the work does not end in time; and the next run sweeps the parts of dead processes
 * but not those of live ones.
 */
class ShutdownCleanupTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path PREVIEW = REPO.resolve("models/preview");
    private static final Path HELLO = REPO.resolve("examples/media/hello.wav");

    @TempDir
    Path tmp;

    /** {@code hello.wav} repeated {@code times} (the repro: 101 times, about 10 minutes). */
    private Path longSpeech(int times) throws Exception {
        byte[] pcm;
        AudioInputStream in = AudioSystem.getAudioInputStream(HELLO.toFile());
        try (in) {
            pcm = in.readAllBytes();
        }
        byte[] all = new byte[pcm.length * times];
        for (int i = 0; i < times; i++) {
            System.arraycopy(pcm, 0, all, i * pcm.length, pcm.length);
        }
        Path wav = tmp.resolve("long.wav");
        AudioInputStream repeated = new AudioInputStream(new ByteArrayInputStream(all), in.getFormat(),
                all.length / in.getFormat().getFrameSize());
        AudioSystem.write(repeated, AudioFileFormat.Type.WAVE, wav.toFile());
        return wav;
    }

    /** Starts the CLI in its own JVM. */
    private static Process fork(Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Avatar4jCli.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** The partial outputs under {@code dir} (any depth), by name. */
    private static List<Path> parts(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".part")).toList();
        }
    }

    /** Waits until the forked run has a partial output in {@code dir}, then sends it SIGINT (Ctrl-C). */
    private static void interruptOnceWriting(Process p, Path dir, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (parts(dir).isEmpty()) {
            assertThat(p.isAlive()).as("the run ended before writing: %s", Files.readString(log)).isTrue();
            assertThat(System.nanoTime()).as("no partial output appeared").isLessThan(deadline);
            Thread.sleep(20);
        }
        Process kill = new ProcessBuilder("/bin/sh", "-c", "kill -INT " + p.pid()).inheritIO().start();
        assertThat(kill.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
    }

    private static void assertCancelledCleanly(Process p, Path dir, Path log) throws Exception {
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).as("the run ended after Ctrl-C").isTrue();
        assertThat(p.exitValue()).as("exit code; output: %s", Files.readString(log)).isEqualTo(130);
        assertThat(parts(dir)).as("partial outputs left").isEmpty();
    }

    @Test
    @EnabledOnOs({OS.LINUX, OS.MAC})
    void ctrlCDuringGenerateExits130AndLeavesNoPartialMp4OrPngFolder() throws Exception {
        Path out = Files.createDirectory(tmp.resolve("out"));
        Path log = tmp.resolve("generate.log");
        Process p = fork(log, "generate", "--image", REPO.resolve("examples/media/portrait.png").toString(),
                "--audio", longSpeech(101).toString(), "--out", out.resolve("o.mp4").toString(),
                "--png-dir", out.resolve("png").toString(), "--model", PREVIEW.toString(), "-q");
        try {
            interruptOnceWriting(p, out, log);
            assertCancelledCleanly(p, out, log);
            assertThat(out.resolve("o.mp4")).doesNotExist();
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    @EnabledOnOs({OS.LINUX, OS.MAC})
    void ctrlCDuringDubExits130AndLeavesNoPartialMp4() throws Exception {
        MediaRegistry media = MediaRegistry.global();
        RgbImage portrait = media.readImage(REPO.resolve("examples/media/portrait.png"));
        Path clip = tmp.resolve("clip.mp4");
        FrameSink sink = media.openVideoWriter(clip, new VideoSpec(320, 240, 25, new AudioClip(new float[25 * 640], 16_000),
                null));
        for (int f = 0; f < 25; f++) {
            sink.accept(new Frame(f, 25, RgbImage.of(320, 240, DubEndToEndTest.crop(portrait, 20 + 2 * f, 0))));
        }
        sink.complete();
        Path out = Files.createDirectory(tmp.resolve("out"));
        Path log = tmp.resolve("dub.log");
        Process p = fork(log, "dub", "--model", REPO.resolve("models/latentsync-tiny").toString(), "--video",
                clip.toString(), "--audio", longSpeech(20).toString(), "--out", out.resolve("d.mp4").toString(),
                "--steps", "2", "-q");
        try {
            interruptOnceWriting(p, out, log);
            assertCancelledCleanly(p, out, log);
            assertThat(out.resolve("d.mp4")).doesNotExist();
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void whenTheWorkDoesNotEndInTimeTheShutdownDeletesItsPartsItself() throws Exception {
        Path part = PartFiles.createFile(tmp, "o.mp4");
        Path folder = PartFiles.createDirectory(tmp, "avatar4j-frames");
        Files.writeString(folder.resolve("frame_000000.png"), "png");
        Duration[] waited = {null};
        int deleted = ShutdownCleanup.onShutdown(wait -> waited[0] = wait); // a cancel that does not clean up
        assertThat(waited[0]).isEqualTo(ShutdownCleanup.WAIT);
        assertThat(deleted).isGreaterThanOrEqualTo(2);
        assertThat(part).doesNotExist();
        assertThat(folder).doesNotExist();
    }

    @Test
    void aShutdownCancelsTheTrackedGenerationAndNoWorkStartsAfterIt() throws Exception {
        ShutdownCleanup shutdown = new ShutdownCleanup();
        CountDownLatch finished = new CountDownLatch(1);
        CompletableFuture<Void> firstFrame = new CompletableFuture<>();
        Path speech = longSpeech(20);
        try (AvatarModel preview = AvatarModel.load(PREVIEW)) {
            Generation g = shutdown.start(() -> Avatar.from(REPO.resolve("examples/media/portrait.png")).speak(speech)
                    .model(preview).onFrame(f -> firstFrame.complete(null)).start(), finished);
            assertThat(shutdown.running()).isTrue();
            firstFrame.get(1, TimeUnit.MINUTES);
            CompletableFuture<Object> awaited = CompletableFuture.supplyAsync(() -> {
                try {
                    return g.await();
                } catch (RuntimeException e) {
                    return e;
                } finally { // the command's clean-up after the work
                    shutdown.ended();
                    finished.countDown();
                }
            }, r -> new Thread(r).start());
            assertThat(shutdown.cancelAndWait(Duration.ofMinutes(1))).as("the cancel was requested").isTrue();
            assertThat(finished.getCount()).as("cancelAndWait waited for the clean-up").isZero();
            assertThat(awaited.get(1, TimeUnit.MINUTES)).isInstanceOf(GenerationCancelledException.class);
            assertThat(g.progress().framesDone()).isLessThan(g.progress().framesTotal());
            assertThat(shutdown.running()).isFalse();
        }
        assertThatThrownBy(() -> shutdown.start(() -> {
            throw new AssertionError("started after the shutdown");
        }, new CountDownLatch(1))).isInstanceOf(GenerationCancelledException.class);
    }

    @Test
    void theNextRunSweepsThePartsOfDeadProcessesButNotThoseOfLiveOnes() throws Exception {
        Process ended = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-version")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(ended.waitFor(1, TimeUnit.MINUTES)).isTrue();
        ProcessHandle alive = ProcessHandle.current().parent().orElse(ProcessHandle.current());
        long aliveStart = alive.info().startInstant().orElseThrow().toEpochMilli();
        Path out = Files.createDirectory(tmp.resolve("out"));
        Path png = out.resolve("png");
        Files.createDirectory(png);
        Path stale = Files.writeString(out.resolve(part("o.mp4", ended.pid(), aliveStart)), "x");
        Path staleOther = Files.writeString(out.resolve(part("older.mp4", ended.pid(), aliveStart)), "x");
        Path staleFrames = Files.createDirectory(png.resolve(part("avatar4j-frames", ended.pid(), aliveStart)));
        Files.writeString(staleFrames.resolve("frame_000003.png"), "png");
        Path live = Files.writeString(out.resolve(part("o.mp4", alive.pid(), aliveStart)), "x");
        Path liveFrames = Files.createDirectory(png.resolve(part("avatar4j-frames", alive.pid(), aliveStart)));

        Avatar4jCliTest.Result r = Avatar4jCliTest.cli("generate", "--image",
                REPO.resolve("examples/media/portrait.png").toString(), "--audio", HELLO.toString(), "--out",
                out.resolve("o.mp4").toString(), "--png-dir", png.toString(), "--model", PREVIEW.toString(), "-q");

        assertThat(r.code()).as("exit code; err: %s", r.err()).isZero();
        assertThat(out.resolve("o.mp4")).exists();
        assertThat(stale).doesNotExist();
        assertThat(staleOther).doesNotExist();
        assertThat(staleFrames).doesNotExist();
        assertThat(live).exists();
        assertThat(liveFrames).exists();
        assertThat(parts(out)).containsExactlyInAnyOrder(live, liveFrames);
    }

    /** A part name as a process {@code pid} started at {@code start} (epoch ms) writes it. */
    private static String part(String base, long pid, long start) {
        return "." + base + ".a4j-" + pid + "-" + Long.toString(start, 36) + "-" + Long.toString(pid * 31, 36)
                + ".part";
    }
}
