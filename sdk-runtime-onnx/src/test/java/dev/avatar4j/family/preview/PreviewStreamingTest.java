package dev.avatar4j.family.preview;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.io.AudioSource;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.family.NoiseSource;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.spi.Backend;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The preview engine reads streamed speech front to back (voice activity chunk by chunk, mouth
 * features frame by frame) and renders the very frames of the same speech held in memory, without
 * ever decoding the file whole.
 */
class PreviewStreamingTest {
    private static Backend backend;
    private static PreviewEngine engine;

    @BeforeAll
    static void open() {
        backend = PreviewFixtures.backend();
        engine = PreviewFixtures.engine(backend);
    }

    @AfterAll
    static void close() {
        engine.close();
        backend.close();
    }

    @Test
    void streamedSpeechGivesTheFramesOfTheClip() {
        RgbImage portrait = PreviewFixtures.portrait();
        AudioClip clip = PreviewFixtures.speech();
        PreviewFixtures.Collector inMemory = new PreviewFixtures.Collector();
        engine.generate(PreviewFixtures.request(portrait, clip, 128, 5), inMemory);

        // a window of 3000 samples (0.19 s): the second pass re-opens the file
        try (AudioSource streamed = MediaRegistry.global().openAudioSource(PreviewFixtures.SPEECH, 16_000, 3000)) {
            GenerationRequest r = new GenerationRequest(portrait, null, 128, 128, 1, 5, null, Double.NaN, Double.NaN,
                    NoiseSource.seeded(5), null, List.of(), streamed);
            assertThat(engine.plan(r).frames()).isEqualTo(engine.plan(PreviewFixtures.request(portrait, clip, 128, 5))
                    .frames());
            PreviewFixtures.Collector out = new PreviewFixtures.Collector();
            engine.generate(r, out);
            assertThat(streamed.inMemory()).as("the file was never decoded whole").isFalse();
            assertThat(out.frames).hasSameSizeAs(inMemory.frames).isNotEmpty();
            for (int i = 0; i < out.frames.size(); i++) {
                assertThat(out.frames.get(i)).as("frame %d", i).isEqualTo(inMemory.frames.get(i));
            }
        }
    }
}
