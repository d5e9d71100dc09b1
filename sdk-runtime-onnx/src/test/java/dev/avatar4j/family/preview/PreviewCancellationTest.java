package dev.avatar4j.family.preview;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.engine.GenerationContext;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.GraphSource;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Issue 22 item 1: the preview model's voice-activity and mouth-feature pre-pass over the whole audio
 * is cancellable. A cancel that arrives as the pre-pass starts (right after the face is found) stops it
 * before the next VAD model call, instead of after the whole audio (about 2 s per minute of audio).
 */
class PreviewCancellationTest {
    /** A backend that counts the runs of every session it opens. */
    static final class Counting implements Backend {
        final Backend inner;
        final AtomicInteger runs = new AtomicInteger();
        /** Called after every run with the count so far. */
        volatile java.util.function.IntConsumer afterRun = n -> { };

        Counting(Backend inner) {
            this.inner = inner;
        }

        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public String description() {
            return inner.description();
        }

        @Override
        public GraphSession open(GraphSource graph, SessionOptions options) {
            GraphSession s = inner.open(graph, options);
            return new GraphSession() {
                @Override
                public List<TensorSpec> inputs() {
                    return s.inputs();
                }

                @Override
                public List<TensorSpec> outputs() {
                    return s.outputs();
                }

                @Override
                public Map<String, Tensor> run(Map<String, Tensor> inputs, Set<String> outputs) {
                    Map<String, Tensor> out = s.run(inputs, outputs);
                    afterRun.accept(runs.incrementAndGet());
                    return out;
                }

                @Override
                public boolean isThreadSafe() {
                    return s.isThreadSafe();
                }

                @Override
                public void close() {
                    s.close();
                }
            };
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @Test
    void aCancelDuringTheVoicePrePassStopsItWithinOneModelCall() {
        Counting backend = new Counting(PreviewFixtures.backend());
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
                        prePassFrom[0] = backend.runs.get();
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
            assertThat(backend.runs.get() - runsAtCancel[0]).as("model calls after the cancel").isLessThanOrEqualTo(1);
            assertThat(frames[0]).isZero();
        }
    }
}
