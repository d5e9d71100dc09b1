package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.testing.FakeBackendProvider;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.TestMedia;
import dev.avatar4j.testing.TestMedia.RecordingSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The public API end to end on the fake backend: frames, streaming, cancellation, failures. */
class AvatarApiTest {
    @TempDir
    static Path dir;
    static AvatarModel model;
    static final int RATE = 16000;

    @BeforeAll
    static void load() throws Exception {
        model = AvatarModel.builder(FakeBundles.write(dir.resolve("bundle"))).backend("fake").load();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @BeforeEach
    void reset() {
        FakeBackendProvider.INSTANCE.failOn = null;
        FakeBackendProvider.INSTANCE.runs.clear();
    }

    private static Avatar request(double seconds) {
        return Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(seconds, RATE), RATE)
                .model(model).seed(7);
    }

    /** Frames = (T − 1)·4 + 1 with T = (⌊samples/640⌋ − 1)//4 + 1. */
    private static int expectedFrames(double seconds) {
        int frames = (int) Math.round(seconds * RATE) / 640;
        int t = (frames - 1) / 4 + 1;
        return (t - 1) * 4 + 1;
    }

    @Test
    void renderDeliversEveryFrameInOrderToListenersAndSink() {
        List<Frame> seen = Collections.synchronizedList(new ArrayList<>());
        RecordingSink sink = new RecordingSink();
        RenderResult r = request(4.0).onFrame(seen::add).render(sink);
        int expected = expectedFrames(4.0);
        assertThat(r.frames()).isEqualTo(expected);
        assertThat(seen).hasSize(expected);
        assertThat(sink.frames).hasSize(expected);
        assertThat(sink.completed).isTrue();
        assertThat(sink.aborted).isFalse();
        for (int i = 0; i < seen.size(); i++) {
            assertThat(seen.get(i).index()).isEqualTo(i);
            assertThat(seen.get(i).width()).isEqualTo(32);
            assertThat(seen.get(i).timestamp()).isEqualTo(Duration.ofMillis(40L * i));
        }
        assertThat(r.width()).isEqualTo(32);
        assertThat(r.height()).isEqualTo(32);
        assertThat(r.fps()).isEqualTo(25);
        assertThat(r.steps()).isEqualTo(2);
        assertThat(r.seed()).isEqualTo(7);
        assertThat(r.backend()).isEqualTo("fake");
        assertThat(r.output()).isEmpty();
        // 4 s → T = 25 latents → 2 windows × 2 steps × 1 batched DiT call
        assertThat(FakeBackendProvider.INSTANCE.runs.get("dit.onnx").get()).isEqualTo(4);
        assertThat(FakeBackendProvider.INSTANCE.runs.get("vae_decoder.onnx").get()).isEqualTo(25);
        assertThat(FakeBackendProvider.INSTANCE.runs.get("audio_encoder.onnx").get()).as("audio once per window")
                .isEqualTo(2);
    }

    @Test
    void startDeliversTheSameFramesThroughListenersAndTheIterator() {
        List<Frame> rendered = new ArrayList<>();
        request(3.5).onFrame(rendered::add).render(new RecordingSink());
        List<Frame> listened = Collections.synchronizedList(new ArrayList<>());
        Generation g = request(3.5).onFrame(listened::add).frameBuffer(1000).start();
        List<Frame> iterated = g.frames().toList();
        RenderResult r = g.await();
        assertThat(r.frames()).isEqualTo(rendered.size());
        assertThat(iterated).hasSize(rendered.size());
        assertThat(listened).hasSize(rendered.size());
        for (int i = 0; i < rendered.size(); i++) {
            assertThat(iterated.get(i).image().toRgbArray()).isEqualTo(rendered.get(i).image().toRgbArray());
            assertThat(listened.get(i).image().toRgbArray()).isEqualTo(rendered.get(i).image().toRgbArray());
        }
        assertThat(g.isDone()).isTrue();
        assertThat(g.progress().stage()).isEqualTo(Progress.Stage.DONE);
        assertThatThrownBy(g::iterator).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void iteratorAppliesBackPressureWithASmallBuffer() {
        Generation g = request(3.5).frameBuffer(1).start();
        Iterator<Frame> it = g.iterator();
        int n = 0;
        while (it.hasNext()) {
            assertThat(it.next().index()).isEqualTo(n++);
        }
        assertThat(n).isEqualTo(g.await().frames());
    }

    @Test
    void framesStreamOutLongBeforeTheLastWindowIsDenoised() {
        java.util.concurrent.atomic.AtomicInteger ditCallsAtFirstFrame = new java.util.concurrent.atomic.AtomicInteger(-1);
        RenderResult r = request(30.0).onFrame(f -> {
            if (f.index() == 0) {
                ditCallsAtFirstFrame.set(FakeBackendProvider.INSTANCE.runs.get("dit.onnx").get());
            }
        }).render(new RecordingSink());
        int total = FakeBackendProvider.INSTANCE.runs.get("dit.onnx").get();
        // 30 s → T = 188 latents → 12 windows × 2 steps; the wavefront finishes frame 0 after
        // window 0 has run both steps and window 1 its first step
        assertThat(total).isEqualTo(24);
        assertThat(ditCallsAtFirstFrame.get()).isBetween(1, 4);
        assertThat(r.frames()).isEqualTo(expectedFrames(30.0));
    }

    @Test
    void closingTheStreamEarlyCancelsButClosingAfterTheEndDoesNot() {
        Generation early = request(8.0).frameBuffer(2).start(new RecordingSink());
        try (java.util.stream.Stream<Frame> frames = early.frames()) {
            assertThat(frames.limit(3).count()).isEqualTo(3);
        }
        assertThatThrownBy(early::await).isInstanceOf(GenerationCancelledException.class);

        RecordingSink sink = new RecordingSink();
        Generation full = request(2.0).start(sink);
        long n;
        try (java.util.stream.Stream<Frame> frames = full.frames()) {
            n = frames.count();
        }
        assertThat(full.await().frames()).isEqualTo((int) n);
        assertThat(sink.completed).isTrue();
    }

    @Test
    void sameSeedSameVideoDifferentSeedDifferentVideo() {
        RecordingSink a = new RecordingSink();
        RecordingSink b = new RecordingSink();
        RecordingSink c = new RecordingSink();
        request(2.0).render(a);
        request(2.0).render(b);
        request(2.0).seed(8).render(c);
        assertThat(a.frames.get(a.frames.size() - 1).image().toRgbArray()).isEqualTo(b.frames.get(b.frames.size() - 1).image().toRgbArray());
        assertThat(a.frames.get(a.frames.size() - 1).image().toRgbArray()).isNotEqualTo(c.frames.get(c.frames.size() - 1).image().toRgbArray());
    }

    @Test
    void progressIsMonotonicAndEndsDone() {
        List<Progress> ps = Collections.synchronizedList(new ArrayList<>());
        request(4.0).onProgress(ps::add).render(new RecordingSink());
        assertThat(ps).isNotEmpty();
        for (int i = 1; i < ps.size(); i++) {
            assertThat(ps.get(i).workDone()).isGreaterThanOrEqualTo(ps.get(i - 1).workDone());
            assertThat(ps.get(i).framesDone()).isGreaterThanOrEqualTo(ps.get(i - 1).framesDone());
        }
        Progress last = ps.get(ps.size() - 1);
        assertThat(last.stage()).isEqualTo(Progress.Stage.DONE);
        assertThat(last.fraction()).isEqualTo(1.0);
        assertThat(last.framesDone()).isEqualTo(last.framesTotal());
        assertThat(ps).anyMatch(p -> p.stage() == Progress.Stage.DENOISING);
    }

    @Test
    void cancelStopsPromptlyAbortsTheSinkAndReportsCancellation() throws Exception {
        CountDownLatch firstFrame = new CountDownLatch(1);
        RecordingSink sink = new RecordingSink();
        AtomicReference<Generation> ref = new AtomicReference<>();
        CountDownLatch cancelled = new CountDownLatch(1);
        Generation g = request(8.0).onFrame(f -> {
            firstFrame.countDown();
            try { // hold the generation until cancel() was called: on a loaded machine it could finish first
                cancelled.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }).start(sink);
        ref.set(g);
        assertThat(firstFrame.await(30, TimeUnit.SECONDS)).isTrue();
        boolean requested = g.cancel();
        cancelled.countDown();
        assertThat(requested).isTrue();
        assertThatThrownBy(g::await).isInstanceOf(GenerationCancelledException.class);
        assertThat(sink.aborted).isTrue();
        assertThat(sink.completed).isFalse();
        assertThat(sink.frames.size()).isLessThan(expectedFrames(8.0));
        assertThat(g.cancel()).as("cancel after the end does nothing").isFalse();
        // the model still works
        assertThat(request(2.0).render(new RecordingSink()).frames()).isEqualTo(expectedFrames(2.0));
    }

    @Test
    void backendFailureFailsTheGenerationAndTheModelStaysUsable() {
        FakeBackendProvider.INSTANCE.failOn = "dit.onnx";
        FakeBackendProvider.INSTANCE.failAfter = 1;
        RecordingSink sink = new RecordingSink();
        assertThatThrownBy(() -> request(4.0).render(sink)).isInstanceOf(BackendException.class)
                .hasMessageContaining("injected failure");
        assertThat(sink.aborted).isTrue();
        FakeBackendProvider.INSTANCE.failOn = null;
        assertThat(request(2.0).render(new RecordingSink()).frames()).isEqualTo(expectedFrames(2.0));
    }

    @Test
    void throwingListenerFailsTheGenerationAndAbortsTheSink() {
        RecordingSink sink = new RecordingSink();
        assertThatThrownBy(() -> request(2.0).onFrame(f -> {
            if (f.index() == 3) {
                throw new IllegalStateException("boom");
            }
        }).render(sink)).isInstanceOf(AvatarException.class).hasMessageContaining("frame listener failed on frame 3");
        assertThat(sink.aborted).isTrue();
    }

    @Test
    void badInputsAreTypedAndSayWhatToFix() {
        assertThatThrownBy(() -> Avatar.from(dir.resolve("missing.png")).speak(TestMedia.speechLike(1, RATE), RATE)
                .model(model).render(new RecordingSink())).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("image file not found").hasMessageContaining("missing.png");
        assertThatThrownBy(() -> Avatar.from(TestMedia.gradient(16, 16)).speak(new float[0], RATE).model(model)
                .render(new RecordingSink())).isInstanceOf(InvalidInputException.class).hasMessageContaining("no audio samples");
        assertThatThrownBy(() -> Avatar.from(TestMedia.gradient(16, 16)).speak(new float[100], RATE).model(model)
                .render(new RecordingSink())).isInstanceOf(InvalidInputException.class).hasMessageContaining("too short");
        float[] nan = TestMedia.speechLike(1, RATE);
        nan[5] = Float.NaN;
        assertThatThrownBy(() -> Avatar.from(TestMedia.gradient(16, 16)).speak(nan, RATE).model(model)
                .render(new RecordingSink())).isInstanceOf(InvalidInputException.class).hasMessageContaining("non-finite");
        assertThatThrownBy(() -> request(1).size(100, 64)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("multiples of 16");
        assertThatThrownBy(() -> request(1).steps(0)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> Avatar.from(TestMedia.gradient(16, 16)).model(model).render(new RecordingSink()))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("speak");
        assertThatThrownBy(() -> request(1).prompt("a custom prompt").render(new RecordingSink()))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("no text encoder");
    }

    @Test
    void requestsAreImmutable() {
        Avatar base = request(2.0);
        Avatar more = base.steps(1).size(48, 48);
        RecordingSink a = new RecordingSink();
        base.render(a);
        assertThat(a.frames.get(0).width()).isEqualTo(32);
        RecordingSink b = new RecordingSink();
        RenderResult r = more.render(b);
        assertThat(r.width()).isEqualTo(48);
        assertThat(r.steps()).isEqualTo(1);
    }

    @Test
    void closeWaitsForRunningGenerationsThenRefusesNewOnes() throws Exception {
        AvatarModel m = AvatarModel.builder(FakeBundles.write(dir.resolve("bundle2"))).backend("fake").load();
        CountDownLatch started = new CountDownLatch(1);
        Generation g = Avatar.from(TestMedia.gradient(16, 16)).speak(TestMedia.speechLike(6, RATE), RATE).model(m)
                .onFrame(f -> started.countDown()).start();
        assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
        m.close(); // blocks until g finishes
        assertThat(g.isDone()).isTrue();
        assertThat(g.await().frames()).isEqualTo(expectedFrames(6));
        assertThatThrownBy(() -> Avatar.from(TestMedia.gradient(16, 16)).speak(TestMedia.speechLike(1, RATE), RATE)
                .model(m).render(new RecordingSink())).isInstanceOf(AvatarException.class);
    }

    @Test
    void renderToPathWithoutSdkMediaSaysWhatToAdd() {
        Path out = dir.resolve("out.mp4");
        assertThatThrownBy(() -> request(1.0).render(out)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("sdk-media");
        assertThat(Files.exists(out)).isFalse();
    }
}
