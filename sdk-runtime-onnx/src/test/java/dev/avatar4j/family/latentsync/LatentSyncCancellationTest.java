package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.NoFace;
import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.family.DubRequest;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.onnx.OnnxBackendProvider;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.testing.CountingBackend;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 22 item 1: the audio pass of a dub (whole-file log-mel, then one Whisper encoder call per
 * 30 s segment) is cancellable: a cancel stops it before the next encoder call, instead of after the
 * whole speech.
 */
class LatentSyncCancellationTest {
    private static final AtomicBoolean cancelAfterFirstRun = new AtomicBoolean();
    private static final AtomicBoolean cancelled = new AtomicBoolean();
    private static CountingBackend backend;
    private static LatentSyncEngine engine;

    @BeforeAll
    static void open() {
        backend = new CountingBackend(new OnnxBackendProvider().create());
        backend.afterRun = n -> {
            if (cancelAfterFirstRun.get()) {
                cancelled.set(true);
            }
        };
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
        engine.generate(new DubRequest((fps, max) -> {
            throw new AssertionError("the video was opened after the cancel");
        }, LatentSyncStreamingTest.speech(3000), 2, 1.0, NoFace.PASSTHROUGH, 1L), new GenerationContext() {
            @Override
            public void emitFrame(byte[] rgb) {
                throw new AssertionError("no frame is made");
            }

            @Override
            public void advance(Progress.Stage stage, long units) {
            }

            @Override
            public void checkpoint() {
                if (cancelled.get()) {
                    throw new GenerationCancelledException("generation cancelled");
                }
            }
        });
    }

    @Test
    void aCancelDuringTheAudioPassStopsItBeforeTheNextEncoderCall() {
        backend.reset();
        cancelled.set(false);
        cancelAfterFirstRun.set(true);
        try {
            assertThatThrownBy(LatentSyncCancellationTest::dubTwoMinutes)
                    .isInstanceOf(GenerationCancelledException.class);
            assertThat(backend.runs()).as("encoder calls: the first, then the cancel").isEqualTo(1);
        } finally {
            cancelAfterFirstRun.set(false);
        }
    }

    @Test
    void aCancelBeforeTheAudioPassRunsNoModelAtAll() {
        backend.reset();
        cancelled.set(true);
        assertThatThrownBy(LatentSyncCancellationTest::dubTwoMinutes).isInstanceOf(GenerationCancelledException.class);
        assertThat(backend.runs()).isZero();
    }
}
