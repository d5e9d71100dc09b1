package dev.avatar4j.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.RenderResult;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.sound.sampled.AudioFileFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedding examples run on the tiny model and the demo media (short clips, few steps). */
class ExamplesTest {
    @TempDir
    static Path dir;

    static Path repo;
    static Path speech;

    @BeforeAll
    static void inputs() throws Exception {
        Path d = Path.of("").toAbsolutePath();
        while (d != null && !Files.isRegularFile(d.resolve("models/stableavatar-tiny/avatar-bundle.json"))) {
            d = d.getParent();
        }
        assertThat(d).isNotNull();
        repo = d;
        speech = dir.resolve("speech-1s.wav");
        try (AudioInputStream in = AudioSystem.getAudioInputStream(repo.resolve("examples/media/hello.wav").toFile());
             AudioInputStream slice = new AudioInputStream(in, in.getFormat(), Math.round(in.getFormat().getFrameRate()))) {
            AudioSystem.write(slice, AudioFileFormat.Type.WAVE, speech.toFile());
        }
    }

    @Test
    void embeddingExampleRendersAnMp4WithItsOwnModel() {
        Path out = dir.resolve("embedding.mp4");
        RenderResult r = EmbeddingExample.renderWith(repo.resolve("models/stableavatar-tiny"),
                repo.resolve("examples/media/portrait.png"), speech, out);
        assertThat(r.frames()).isPositive();
        assertThat(r.output()).contains(out.toAbsolutePath());
        assertThat(out).isRegularFile();
    }

    @Test
    void streamingExampleStopsAfterTheFramesItWants() {
        // the default model, which the test points at the tiny bundle in the tree
        String previous = System.getProperty("avatar4j.model");
        System.setProperty("avatar4j.model", repo.resolve("models/stableavatar-tiny").toString());
        try {
            assertThat(StreamingExample.stream(repo.resolve("examples/media/portrait.png"), speech, 3)).isEqualTo(3);
        } finally {
            if (previous == null) {
                System.clearProperty("avatar4j.model");
            } else {
                System.setProperty("avatar4j.model", previous);
            }
        }
    }
}
