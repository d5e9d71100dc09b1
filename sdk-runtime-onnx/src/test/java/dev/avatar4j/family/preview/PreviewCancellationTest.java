package dev.avatar4j.family.preview;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.testing.CountingBackend;
import org.junit.jupiter.api.Test;

/**
 * Issue 22 item 1: the preview model's voice-activity and mouth-feature pre-pass over the whole audio
 * is cancellable. A cancel that arrives as the pre-pass starts (right after the face is found) stops it
 * before the next VAD model call, instead of after the whole audio (about 2 s per minute of audio).
 */
class PreviewCancellationTest {
    @Test
    void aCancelDuringTheVoicePrePassStopsItWithinOneModelCall() {
        CountingBackend backend = new CountingBackend(PreviewFixtures.backend());
        try (PreviewEngine engine = PreviewEngine.open(Bundle.open(PreviewFixtures.BUNDLE), backend,
                SessionOptions.defaults())) {
            float[] speech = PreviewFixtures.speech().samples();
            float[] minutes = new float[16_000 * 120]; // two minutes: 3750 VAD chunks
            for (int i = 0; i < minutes.length; i += speech.length) {
                System.arraycopy(speech, 0, minutes, i, Math.min(speech.length, minutes.length - i));
            }
            int[] prePassFrom = {-1};
            int[] runsAtCancel = {-1};
            int[] frames = {0};
            boolean[] cancelled = {false};
            backend.afterRun = n -> { // cancel() arrives during the pre-pass, after its 10th VAD call
                if (prePassFrom[0] >= 0 && n == prePassFrom[0] + 10) {
                    runsAtCancel[0] = n;
                    cancelled[0] = true;
                }
            };
            GenerationContext ctx = new GenerationContext() {

                @Override
                public void emitFrame(byte[] rgb) {
                    frames[0]++;
                }

                @Override
                public void advance(Progress.Stage stage, long units) {
                    if (prePassFrom[0] < 0) { // the face is found: the pre-pass starts
                        prePassFrom[0] = backend.runs();
                    }
                }

                @Override
                public void checkpoint() {
                    if (cancelled[0]) {
                        throw new GenerationCancelledException("generation cancelled");
                    }
                }
            };
            assertThatThrownBy(() -> engine.generate(PreviewFixtures.request(PreviewFixtures.portrait(),
                    new AudioClip(minutes, 16_000), 256, 1), ctx)).isInstanceOf(GenerationCancelledException.class);
            assertThat(runsAtCancel[0]).as("the cancel came during the pre-pass").isPositive();
            assertThat(backend.runs() - runsAtCancel[0]).as("model calls after the cancel").isLessThanOrEqualTo(1);
            assertThat(frames[0]).isZero();
        }
    }
}
