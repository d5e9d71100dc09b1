package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.AudioClip;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generate --speaker X,Y,W,H:FILE} with the tiny {@code longcat-avatar} bundle: the family
 * comes from the manifest, two speakers render, and the MP4's audio track holds both tracks mixed.
 */
class SpeakerOptionTest {
    @TempDir
    static Path work;
    static Path bundle;
    static Path portrait;
    static Path low;
    static Path high;

    @BeforeAll
    static void setUp() throws IOException {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("models/longcat-avatar-tiny/avatar-bundle.json"))) {
            dir = dir.getParent();
        }
        assertThat(dir).isNotNull();
        bundle = dir.resolve("models/longcat-avatar-tiny");
        portrait = dir.resolve("examples/media/portrait.png");
        low = PlanCommandTest.writeWav(work.resolve("low.wav"), 16_000, 1, 40_000);       // 220 Hz, 2.5 s
        high = writeTone(work.resolve("high.wav"), 880, 32_000);                          // 880 Hz, 2.0 s
    }

    private static Path writeTone(Path file, double hz, int frames) throws IOException {
        java.nio.ByteBuffer pcm = java.nio.ByteBuffer.allocate(frames * 2).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < frames; i++) {
            pcm.putShort((short) Math.round(8000 * Math.sin(2 * Math.PI * hz * i / 16_000)));
        }
        javax.sound.sampled.AudioFormat f = new javax.sound.sampled.AudioFormat(16_000, 16, 1, true, false);
        try (javax.sound.sampled.AudioInputStream in = new javax.sound.sampled.AudioInputStream(
                new java.io.ByteArrayInputStream(pcm.array()), f, frames)) {
            javax.sound.sampled.AudioSystem.write(in, javax.sound.sampled.AudioFileFormat.Type.WAVE, file.toFile());
        }
        return file;
    }

    /** Energy of a frequency over a sample range (Goertzel), normalised by the range length. */
    private static double energy(float[] x, int from, int to, double hz) {
        double w = 2 * Math.PI * hz / 16_000;
        double c = 2 * Math.cos(w);
        double s1 = 0;
        double s2 = 0;
        for (int i = from; i < to; i++) {
            double s0 = x[i] + c * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        return (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double) (to - from) * (to - from));
    }

    /** {@code --speaker FILE} without a region: the default boxes of two persons; the mix is muxed. */
    @Test
    void speakersWithoutRegionsRenderWithTheDefaultBoxes() {
        Path out = work.resolve("defaults.mp4");
        Avatar4jCliTest.Result r = Avatar4jCliTest.cli("generate", "--model", bundle.toString(), "--image",
                portrait.toString(), "--out", out.toString(), "--seed", "7", "-q",
                "--speaker", low.toString(), "--speaker", high.toString());
        assertThat(r.code()).as("stderr: %s", r.err()).isZero();
        AudioClip audio = MediaRegistry.global().readAudio(out, 16_000);
        assertThat(audio.length()).isBetween(38_000, 42_000);
        float[] x = audio.samples();
        assertThat(energy(x, 8_000, 24_000, 880)).isGreaterThan(100 * energy(x, 8_000, 24_000, 1500));
        assertThat(energy(x, 8_000, 24_000, 220)).isGreaterThan(100 * energy(x, 8_000, 24_000, 1500));
    }

    @Test
    void twoSpeakersInParallelAreMixed() {
        Path out = work.resolve("parallel.mp4");
        Avatar4jCliTest.Result r = Avatar4jCliTest.cli("generate", "--model", bundle.toString(), "--image",
                portrait.toString(), "--out", out.toString(), "--seed", "7", "-q",
                "--speaker", "0,0,0.5,1:" + low, "--speaker", "0.5,0,0.5,1:" + high);
        assertThat(r.code()).as("stderr: %s", r.err()).isZero();
        AudioClip audio = MediaRegistry.global().readAudio(out, 16_000);
        assertThat(audio.length()).isBetween(38_000, 42_000); // the longer track, 2.5 s
        float[] x = audio.samples();
        // both tones are present while both speak; only the low one after 2.0 s
        assertThat(energy(x, 8_000, 24_000, 880)).isGreaterThan(100 * energy(x, 8_000, 24_000, 1500));
        assertThat(energy(x, 8_000, 24_000, 220)).isGreaterThan(100 * energy(x, 8_000, 24_000, 1500));
        assertThat(energy(x, 33_600, 38_000, 880)).isLessThan(energy(x, 33_600, 38_000, 220) / 50);
    }

    @Test
    void sequentialSpeakersTakeTurns() {
        Path out = work.resolve("sequential.mp4");
        Avatar4jCliTest.Result r = Avatar4jCliTest.cli("generate", "--model", bundle.toString(), "--image",
                portrait.toString(), "--out", out.toString(), "--seed", "7", "-q", "--audio-mode", "sequential",
                "--speaker", "0,0,0.5,1:" + high, "--speaker", "0.5,0,0.5,1:" + low, "--silent", "0.4,0,0.2,0.3");
        assertThat(r.code()).as("stderr: %s", r.err()).isZero();
        AudioClip audio = MediaRegistry.global().readAudio(out, 16_000);
        assertThat(audio.length()).isBetween(70_000, 74_000); // 2.0 s + 2.5 s
        float[] x = audio.samples();
        assertThat(energy(x, 4_000, 28_000, 880)).isGreaterThan(50 * energy(x, 4_000, 28_000, 220));
        assertThat(energy(x, 36_000, 68_000, 220)).isGreaterThan(50 * energy(x, 36_000, 68_000, 880));
    }

    @Test
    void badSpeakerOptionsAreUsageErrors() {
        Path out = work.resolve("bad.mp4");
        Avatar4jCliTest.Result noAudio = Avatar4jCliTest.cli("generate", "--model", bundle.toString(), "--image",
                portrait.toString(), "--out", out.toString());
        assertThat(noAudio.code()).isEqualTo(Avatar4jCli.EXIT_USAGE);
        assertThat(noAudio.err()).contains("--audio, or --speaker");
        Avatar4jCliTest.Result badRegion = Avatar4jCliTest.cli("generate", "--model", bundle.toString(), "--image",
                portrait.toString(), "--out", out.toString(), "--speaker", "0.7,0,0.5,1:" + low);
        assertThat(badRegion.code()).isEqualTo(Avatar4jCli.EXIT_USAGE);
        assertThat(badRegion.err()).contains("inside the frame");
        Avatar4jCliTest.Result noFile = Avatar4jCliTest.cli("generate", "--model", bundle.toString(), "--image",
                portrait.toString(), "--out", out.toString(), "--speaker", "0,0,1,1");
        assertThat(noFile.code()).isEqualTo(Avatar4jCli.EXIT_USAGE);
        assertThat(noFile.err()).contains("X,Y,W,H:FILE");
        assertThat(out).doesNotExist();
    }
}
