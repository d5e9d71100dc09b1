package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.media.FrameSink;
import dev.avatar4j.tensor.TensorLeaks;
import dev.avatar4j.testing.FakeBackend;
import dev.avatar4j.testing.FakeBackendProvider;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.TestMedia;
import dev.avatar4j.testing.TestMedia.RecordingSink;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reliability on the fake backend (issue "Reliability and security", parts 3 and 4): non-finite
 * model output, failing sinks and listeners, concurrent generations on one model, and closing a
 * model under load. Cancellation at random points is {@link CancellationProperties}.
 */
class ReliabilityTest {
    @TempDir
    static Path dir;
    static AvatarModel model;
    static final int RATE = 16000;
    static final FakeBackend FAKE = FakeBackendProvider.INSTANCE;

    @BeforeAll
    static void load() throws Exception {
        model = AvatarModel.builder(FakeBundles.write(dir.resolve("bundle"))).backend("fake").load();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @BeforeEach
    @AfterEach
    void reset() {
        FAKE.failOn = null;
        FAKE.nanOn = null;
        FAKE.nanValue = Float.NaN;
        FAKE.runs.clear();
    }

    static Avatar request(double seconds, long seed) {
        return Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(seconds, RATE), RATE)
                .model(model).seed(seed);
    }

    static List<byte[]> frames(RecordingSink sink) {
        List<byte[]> out = new ArrayList<>();
        for (Frame f : sink.frames) {
            out.add(f.image().toRgbArray());
        }
        return out;
    }

    static void assertSameFrames(List<byte[]> actual, List<byte[]> expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            assertThat(actual.get(i)).as("frame %d", i).isEqualTo(expected.get(i));
        }
    }

    // --- non-finite model output -----------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(floats = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY})
    void nonFiniteVelocityFailsNamingTheGraphWindowAndStep(float poison) {
        List<byte[]> clean = frames(render(request(4.0, 7)));
        long liveBefore = TensorLeaks.live();
        long liveBeforeBytes = TensorLeaks.liveBytes();
        // 4 s: 2 windows × 2 steps in wavefront order (0,0) (1,0) (0,1) (1,1); the 3rd call is window 0, step 1
        FAKE.runs.clear();
        FAKE.nanOn = "dit.onnx";
        FAKE.nanAfter = 2;
        FAKE.nanValue = poison;
        RecordingSink sink = new RecordingSink();
        assertThatThrownBy(() -> request(4.0, 7).render(sink)).isInstanceOf(BackendException.class)
                .hasMessageContaining("dit produced a non-finite velocity")
                .hasMessageContaining("window 0").hasMessageContaining("step 1")
                .hasMessageContaining("guidance branch 1 of 3");
        assertThat(sink.aborted).isTrue();
        assertThat(sink.completed).isFalse();
        assertThat(sink.frames).as("no frame is final before window 0's last step").isEmpty();
        assertThat(FAKE.runs.get("dit.onnx").get()).as("stops at the bad call").isEqualTo(3);
        assertThat(TensorLeaks.live()).as("live tensors").isEqualTo(liveBefore);
        assertThat(TensorLeaks.liveBytes()).as("live tensor bytes").isEqualTo(liveBeforeBytes);

        FAKE.nanOn = null;
        assertSameFrames(frames(render(request(4.0, 7))), clean);
    }

    @Test
    void nonFiniteAudioFeaturesFailNamingTheWindow() {
        List<byte[]> clean = frames(render(request(4.0, 7)));
        long liveBefore = TensorLeaks.live();
        long liveBeforeBytes = TensorLeaks.liveBytes();
        FAKE.runs.clear();
        FAKE.nanOn = "audio_encoder.onnx";
        FAKE.nanAfter = 1; // the second window's features
        RecordingSink sink = new RecordingSink();
        assertThatThrownBy(() -> request(4.0, 7).render(sink)).isInstanceOf(BackendException.class)
                .hasMessageContaining("audio-encoder produced a non-finite feature").hasMessageContaining("window 1");
        assertThat(sink.completed).isFalse();
        assertThat(TensorLeaks.live()).as("live tensors").isEqualTo(liveBefore);
        assertThat(TensorLeaks.liveBytes()).as("live tensor bytes").isEqualTo(liveBeforeBytes);
        FAKE.nanOn = null;
        FAKE.nanAfter = 0;
        assertSameFrames(frames(render(request(4.0, 7))), clean);
    }

    @Test
    void nonFiniteDecoderOutputFailsNamingTheLatentFrameBeforeEmittingIt() {
        List<byte[]> clean = frames(render(request(4.0, 7)));
        FAKE.runs.clear();
        FAKE.nanOn = "vae_decoder.onnx";
        FAKE.nanAfter = 3; // latent frames 0..2 decode fine: 1 + 4 + 4 pixel frames
        RecordingSink sink = new RecordingSink();
        assertThatThrownBy(() -> request(4.0, 7).render(sink)).isInstanceOf(BackendException.class)
                .hasMessageContaining("vae-decoder produced a non-finite pixel value")
                .hasMessageContaining("latent frame 3");
        assertThat(sink.aborted).isTrue();
        assertThat(sink.completed).isFalse();
        assertThat(sink.frames).as("nothing of the bad latent frame goes out").hasSize(9);

        FAKE.nanOn = null;
        assertSameFrames(frames(render(request(4.0, 7))), clean);
    }

    static RecordingSink render(Avatar a) {
        RecordingSink sink = new RecordingSink();
        a.render(sink);
        assertThat(sink.completed).isTrue();
        return sink;
    }

    // --- failing sinks and listeners -------------------------------------------------------------

    /** A sink that fails like a full disk: on frame {@code failAt}, or on complete when {@code failAt < 0}. */
    static final class FailingSink implements FrameSink {
        final int failAt;
        final boolean abortThrows;
        final AtomicInteger accepted = new AtomicInteger();
        final AtomicInteger aborts = new AtomicInteger();
        volatile boolean completed;

        FailingSink(int failAt, boolean abortThrows) {
            this.failAt = failAt;
            this.abortThrows = abortThrows;
        }

        @Override
        public void accept(Frame frame) {
            if (frame.index() == failAt) {
                throw new UncheckedIOException(new java.io.IOException("No space left on device"));
            }
            accepted.incrementAndGet();
        }

        @Override
        public void complete() {
            if (failAt < 0) {
                throw new UncheckedIOException(new java.io.IOException("No space left on device"));
            }
            completed = true;
        }

        @Override
        public void abort() {
            aborts.incrementAndGet();
            if (abortThrows) {
                throw new IllegalStateException("abort failed too");
            }
        }
    }

    @ParameterizedTest(name = "fail at frame {0}")
    @ValueSource(ints = {0, 5, -1})
    void failingSinkFailsTheGenerationOnceAndIsAborted(int failAt) {
        long liveBefore = TensorLeaks.live();
        long liveBeforeBytes = TensorLeaks.liveBytes();
        FailingSink sink = new FailingSink(failAt, false);
        assertThatThrownBy(() -> request(4.0, 7).render(sink)).isInstanceOf(AvatarException.class)
                .hasMessage("No space left on device") // the cause's own words, no class names (issue 22 item 10)
                .hasRootCauseInstanceOf(java.io.IOException.class);
        assertThat(sink.aborts).as("aborted exactly once").hasValue(1);
        assertThat(sink.completed).isFalse();
        assertThat(TensorLeaks.live()).as("live tensors").isEqualTo(liveBefore);
        assertThat(TensorLeaks.liveBytes()).as("live tensor bytes").isEqualTo(liveBeforeBytes);
        assertThat(render(request(2.0, 7)).frames).isNotEmpty();
    }

    @Test
    void aSinkWhoseAbortAlsoThrowsStillEndsTheGeneration() throws Exception {
        FailingSink sink = new FailingSink(2, true);
        Generation g = request(4.0, 7).start(sink);
        try {
            g.await(Duration.ofSeconds(30));
        } catch (TimeoutException e) {
            throw new AssertionError("the generation never completed: a throwing abort() escaped", e);
        } catch (AvatarException e) {
            assertThat(e).hasMessageContaining("No space left on device");
            assertThat(e.getSuppressed()).extracting(Throwable::getMessage).containsExactly("abort failed too");
        }
        assertThat(g.isDone()).isTrue();
        assertThat(sink.aborts).hasValue(1);
    }

    @Test
    void throwingProgressListenerFailsTheGenerationAndAbortsTheSink() {
        RecordingSink sink = new RecordingSink();
        assertThatThrownBy(() -> request(4.0, 7).onProgress(p -> {
            if (p.stage() == Progress.Stage.DECODING) {
                throw new IllegalStateException("listener bug");
            }
        }).render(sink)).isInstanceOf(AvatarException.class).hasMessage("progress listener failed: listener bug")
                .hasCauseInstanceOf(IllegalStateException.class);
        assertThat(sink.aborted).isTrue();
        assertThat(sink.completed).isFalse();
    }

    @Test
    void listenerThrowingAnErrorStillEndsTheGenerationWithOneException() throws Exception {
        RecordingSink sink = new RecordingSink();
        Generation g = request(2.0, 7).onFrame(f -> {
            throw new AssertionError("listener assertion");
        }).start(sink);
        assertThatThrownBy(() -> g.await(Duration.ofSeconds(30))).isInstanceOf(AvatarException.class)
                .hasMessage("listener assertion"); // an Error passes through translate: its own words only
        assertThat(sink.aborted).isTrue();
    }

    // --- cancel at the commit point -------------------------------------------------------------

    @Test
    void cancelReturningTrueMeansTheOutputIsNeverCompleted() throws Exception {
        AtomicInteger finishing = new AtomicInteger();
        Generation[] self = new Generation[1];
        CountDownLatch published = new CountDownLatch(1);
        boolean[] requested = new boolean[2];
        RecordingSink sink = new RecordingSink();
        Generation g = request(2.0, 7).onProgress(p -> {
            try {
                published.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            if (p.stage() == Progress.Stage.FINISHING && finishing.getAndIncrement() == 0) {
                requested[0] = self[0].cancel(); // after the last checkpoint, before the sink completes
            }
        }).start(sink);
        self[0] = g;
        published.countDown();
        assertThatThrownBy(g::await).isInstanceOf(GenerationCancelledException.class);
        assertThat(requested[0]).isTrue();
        assertThat(sink.completed).isFalse();
        assertThat(sink.aborted).isTrue();

        RecordingSink done = new RecordingSink();
        Generation[] self2 = new Generation[1];
        CountDownLatch published2 = new CountDownLatch(1);
        Generation g2 = request(2.0, 7).onProgress(p -> {
            try {
                published2.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            if (p.stage() == Progress.Stage.DONE) {
                requested[1] = self2[0].cancel(); // the output is complete: too late to cancel
            }
        }).start(done);
        self2[0] = g2;
        published2.countDown();
        assertThat(g2.await().frames()).isEqualTo(done.frames.size());
        assertThat(requested[1]).isFalse();
        assertThat(done.completed).isTrue();
    }

    @Test
    void aCallersSinkIsAbortedEvenWhenTheGenerationFailsBeforeItsFirstFrame() {
        RecordingSink sink = new RecordingSink();
        assertThatThrownBy(() -> Avatar.from(dir.resolve("missing.png")).speak(TestMedia.speechLike(1, RATE), RATE)
                .model(model).render(sink)).isInstanceOf(InvalidInputException.class);
        assertThat(sink.aborted).isTrue();
        assertThat(sink.frames).isEmpty();
    }

    // --- the frame iterator ----------------------------------------------------------------------

    @ParameterizedTest(name = "frameBuffer {0}")
    @ValueSource(ints = {1, 2, 5})
    void aSlowIteratorSeesEveryFrameUpToTheLast(int frameBuffer) throws Exception {
        Generation g = request(2.0, 7).frameBuffer(frameBuffer).start();
        java.util.Iterator<Frame> it = g.iterator();
        int n = 0;
        while (it.hasNext()) {
            Thread.sleep(3); // the generation is always waiting on a full buffer, also when it ends
            assertThat(it.next().index()).as("frame after %d", n - 1).isEqualTo(n++);
        }
        assertThat(n).isEqualTo(g.await().frames());
    }

    @Test
    void aLateIteratorFailsInsteadOfHangingTheGeneration() throws Exception {
        Generation g = request(2.0, 7).frameBuffer(2).start();
        g.await(Duration.ofSeconds(30));
        assertThatThrownBy(g::iterator).isInstanceOf(IllegalStateException.class).hasMessageContaining("dropped");
    }

    // --- concurrency -----------------------------------------------------------------------------

    /** Request {@code i} of the concurrency test: lengths, seeds and step counts vary. */
    static Avatar concurrent(int i) {
        return request(1.0 + (i % 3) * 0.5, 1000 + i).steps(1 + i % 2);
    }

    /**
     * 8 threads × 50 generations on one model (issue #8 part 4): every thread renders all 50
     * distinct requests, each starting at a different one, so that different requests overlap;
     * every output equals the sequential run of the same request, byte for byte.
     */
    @Test
    void eightThreadsTimesFiftyGenerationsOnOneModelEqualTheSequentialRuns() throws Exception {
        int threads = 8;
        int perThread = 50;
        List<List<byte[]>> sequential = new ArrayList<>();
        for (int i = 0; i < perThread; i++) {
            sequential.add(frames(render(concurrent(i))));
        }
        long liveBefore = TensorLeaks.live();
        long liveBeforeBytes = TensorLeaks.liveBytes();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int first = t * 7;
                results.add(pool.submit(() -> {
                    go.await();
                    for (int j = 0; j < perThread; j++) {
                        int i = (first + j) % perThread;
                        assertSameFrames(frames(render(concurrent(i))), sequential.get(i));
                    }
                    return perThread;
                }));
            }
            go.countDown();
            int done = 0;
            for (Future<Integer> f : results) {
                done += f.get(300, TimeUnit.SECONDS);
            }
            assertThat(done).isEqualTo(threads * perThread);
        } finally {
            pool.shutdownNow();
        }
        assertThat(TensorLeaks.live()).as("live tensors").isEqualTo(liveBefore);
        assertThat(TensorLeaks.liveBytes()).as("live tensor bytes").isEqualTo(liveBeforeBytes);
    }

    @Test
    void closeWhileGenerationsRunWaitsForAllThenRefusesNewOnes() throws Exception {
        AvatarModel m = AvatarModel.builder(FakeBundles.write(dir.resolve("bundle-close"))).backend("fake").load();
        int n = 4;
        CountDownLatch allStarted = new CountDownLatch(n);
        List<Generation> running = new ArrayList<>();
        List<RecordingSink> sinks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            AtomicInteger once = new AtomicInteger();
            RecordingSink sink = new RecordingSink();
            sinks.add(sink);
            running.add(Avatar.from(TestMedia.gradient(16, 16)).speak(TestMedia.speechLike(5, RATE), RATE).model(m)
                    .seed(i).onFrame(f -> {
                        if (once.getAndIncrement() == 0) {
                            allStarted.countDown();
                        }
                    }).start(sink));
        }
        assertThat(allStarted.await(30, TimeUnit.SECONDS)).isTrue();
        Thread closer = Thread.ofPlatform().start(m::close);
        closer.join(60_000);
        assertThat(closer.isAlive()).isFalse();
        for (int i = 0; i < n; i++) {
            assertThat(running.get(i).isDone()).as("close() waited for generation %d", i).isTrue();
            RenderResult r = running.get(i).await();
            assertThat(sinks.get(i).completed).isTrue();
            assertThat(sinks.get(i).frames).hasSize(r.frames());
        }
        assertThatThrownBy(() -> Avatar.from(TestMedia.gradient(16, 16)).speak(TestMedia.speechLike(1, RATE), RATE)
                .model(m).render(new RecordingSink())).isInstanceOf(AvatarException.class)
                .hasMessageContaining("is closed");
        m.close(); // idempotent
    }
}
