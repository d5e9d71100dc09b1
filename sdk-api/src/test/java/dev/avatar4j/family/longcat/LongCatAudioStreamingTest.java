package dev.avatar4j.family.longcat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.io.AudioSource;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.testing.TestMedia;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A multi-minute speaker track given as a WAV file is embedded from the streamed file without ever
 * being decoded whole ({@link AudioSource#inMemory()} stays false: {@code clip()} was never
 * called), and every segment's audio rows equal those computed from the same samples in memory.
 */
class LongCatAudioStreamingTest {
    @TempDir
    Path dir;

    @Test
    void threeMinuteFileIsEmbeddedFromTheStreamBitForBit() throws Exception {
        LongCatConfig cfg = LongCatPlanTest.config(LongCatPlanTest.manifest());
        // 20 s of silence, then 2 min 40 s of speech-like signal: the gates see silent blocks too
        float[] speech = TestMedia.speechLike(160.0, 16_000);
        float[] track = new float[20 * 16_000 + speech.length];
        System.arraycopy(speech, 0, track, 20 * 16_000, speech.length);
        Path wav = TestMedia.writeWav(dir.resolve("three-minutes.wav"), track, 16_000, 1);
        MediaRegistry media = MediaRegistry.global();
        AudioClip decoded = media.readAudio(wav, 16_000); // the reference samples, for the comparison only
        LongCatPlan plan = LongCatPlan.create(cfg, track.length, 8, 64, 64);
        int rows = plan.embeddingRows();

        LongCatAudioTest.FakeEncoder streamedEncoder = new LongCatAudioTest.FakeEncoder();
        LongCatAudioTest.FakeEncoder memoryEncoder = new LongCatAudioTest.FakeEncoder();
        try (AudioSource file = media.openAudioSource(wav, 16_000, 1 << 16);
             AudioSource memory = AudioSource.of(decoded)) {
            assertThat(file.length()).isEqualTo(track.length);
            LongCatAudio streamed = LongCatAudio.embed(streamedEncoder, cfg, file, plan.paddedSamples(), rows);
            LongCatAudio held = LongCatAudio.embed(memoryEncoder, cfg, memory, plan.paddedSamples(), rows);
            int latents = 23;
            for (int s = 0; s < plan.segments(); s++) {
                try (TensorScope scope = TensorScope.open()) {
                    Tensor f1 = LongCatAudio.allocateFirst(scope, 1, streamed.dim());
                    Tensor l1 = LongCatAudio.allocateLatter(scope, 1, latents, streamed.dim());
                    Tensor f2 = LongCatAudio.allocateFirst(scope, 1, held.dim());
                    Tensor l2 = LongCatAudio.allocateLatter(scope, 1, latents, held.dim());
                    streamed.gather(plan.audioStart(s), 93, 1, 0, f1, l1);
                    held.gather(plan.audioStart(s), 93, 1, 0, f2, l2);
                    assertThat(Arrays.equals(f1.segment().toArray(ValueLayout.JAVA_FLOAT),
                            f2.segment().toArray(ValueLayout.JAVA_FLOAT))).as("segment %d first", s).isTrue();
                    assertThat(Arrays.equals(l1.segment().toArray(ValueLayout.JAVA_FLOAT),
                            l2.segment().toArray(ValueLayout.JAVA_FLOAT))).as("segment %d latter", s).isTrue();
                }
            }
            assertThat(plan.segments()).isGreaterThan(50);
            // each 30 s chunk encoded once, from the same mel input, in order
            assertThat(streamedEncoder.calls).isEqualTo(memoryEncoder.calls)
                    .hasSize((2 * rows - 1) / 1500 + 1);
            assertThat(file.inMemory()).as("the file was never decoded whole").isFalse();
        }
    }
}
