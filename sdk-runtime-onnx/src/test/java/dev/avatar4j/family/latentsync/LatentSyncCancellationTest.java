package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.onnx.OnnxBackendProvider;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.GraphSource;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 22 item 1: the audio pass of a dub (whole-file log-mel, then one Whisper encoder call per
 * 30 s segment) is cancellable: a cancel stops it before the next encoder call, instead of after the
 * whole speech.
 */
class LatentSyncCancellationTest {
    private static final AtomicInteger runs = new AtomicInteger();
    private static final AtomicBoolean cancelAfterFirstRun = new AtomicBoolean();
    private static final AtomicBoolean cancelled = new AtomicBoolean();
    private static Backend backend;
    private static LatentSyncEngine engine;

    /** Counts the runs of every session it opens, and cancels after the first when asked to. */
    private static Backend counting(Backend inner) {
        return new Backend() {
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
                    public Map<String, Tensor> run(Map<String, Tensor> in, Set<String> out) {
                        Map<String, Tensor> r = s.run(in, out);
                        runs.incrementAndGet();
                        if (cancelAfterFirstRun.get()) {
                            cancelled.set(true);
                        }
                        return r;
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
        };
    }

    @BeforeAll
    static void open() {
        backend = counting(new OnnxBackendProvider().create());
        engine = LatentSyncEngine.open(Bundle.open(LatentSyncParityTest.BUNDLE), backend, SessionOptions.defaults());
    }

    @AfterAll
    static void close() {
        if (engine != null) {
            engine.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private static void dubTwoMinutes() {
        // 120 s of speech: four 30 s encoder segments; the video is never reached
        engine.dub(() -> {
            throw new AssertionError("the video was opened after the cancel");
        }, LatentSyncStreamingTest.speech(3000), 2, 1.0, "passthrough", 1L, cancelled::get, frame -> { });
    }

    @Test
    void aCancelDuringTheAudioPassStopsItBeforeTheNextEncoderCall() {
        runs.set(0);
        cancelled.set(false);
        cancelAfterFirstRun.set(true);
        try {
            assertThatThrownBy(LatentSyncCancellationTest::dubTwoMinutes)
                    .isInstanceOf(GenerationCancelledException.class);
            assertThat(runs.get()).as("encoder calls: the first, then the cancel").isEqualTo(1);
        } finally {
            cancelAfterFirstRun.set(false);
        }
    }

    @Test
    void aCancelBeforeTheAudioPassRunsNoModelAtAll() {
        runs.set(0);
        cancelled.set(true);
        assertThatThrownBy(LatentSyncCancellationTest::dubTwoMinutes).isInstanceOf(GenerationCancelledException.class);
        assertThat(runs.get()).isZero();
    }
}
