package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.tensor.TensorLeaks;
import dev.avatar4j.testing.FakeBackend;
import dev.avatar4j.testing.FakeBackendProvider;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.SelfCancel;
import dev.avatar4j.testing.TestMedia;
import dev.avatar4j.testing.TestMedia.RecordingSink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Cancellation at random points (issue "Reliability and security", part 4): whenever it comes —
 * on frame k, after n DiT calls, or from another thread after a random delay — the generation
 * ends promptly with {@link GenerationCancelledException}, makes at most one more call per graph
 * (none when cancelled from a listener, i.e. on the generation thread), aborts its sink, frees
 * every tensor, and leaves the model producing exactly the frames of a fresh run.
 */
class CancellationProperties {
    static final int RATE = 16000;
    static final double SECONDS = 6.0; // T = 38 latents: 3 windows, 6 DiT calls at 2 steps, 149 frames
    static final int FRAMES = 149;
    static final int DIT_CALLS = 6;
    static final FakeBackend FAKE = FakeBackendProvider.INSTANCE;

    private static AvatarModel model;
    private static final Map<Long, List<byte[]>> REFERENCE = new ConcurrentHashMap<>();

    static synchronized AvatarModel model() {
        if (model == null) {
            try {
                model = AvatarModel.builder(FakeBundles.write(Files.createTempDirectory("avatar4j-cancel")))
                        .backend("fake").load();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return model;
    }

    @AfterContainer
    static synchronized void closeModel() {
        if (model != null) {
            model.close();
            model = null;
        }
    }

    static Avatar request(long seed) {
        return Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(SECONDS, RATE), RATE)
                .model(model()).seed(seed);
    }

    static List<byte[]> frames(RecordingSink sink) {
        List<byte[]> out = new ArrayList<>();
        synchronized (sink.frames) {
            for (Frame f : sink.frames) {
                out.add(f.image().toRgbArray());
            }
        }
        return out;
    }

    /** An uncancelled run's frames for {@code seed}. */
    static List<byte[]> reference(long seed) {
        return REFERENCE.computeIfAbsent(seed, s -> {
            RecordingSink sink = new RecordingSink();
            request(s).render(sink);
            assertThat(sink.completed).isTrue();
            return frames(sink);
        });
    }

    static int calls(String graph) {
        AtomicInteger n = FAKE.runs.get(graph);
        return n == null ? 0 : n.get();
    }

    enum Trigger { ON_FRAME, AFTER_DIT_CALLS }

    @Property(tries = 60)
    void cancelFromAListenerAtAnyPointStopsAtOnce(@ForAll Trigger trigger, @ForAll @IntRange(min = 0, max = FRAMES - 1) int frame,
                                                  @ForAll @IntRange(min = 1, max = DIT_CALLS) int ditCalls,
                                                  @ForAll @IntRange(min = 0, max = 3) int seed) {
        List<byte[]> expected = reference(seed);
        FAKE.failOn = null;
        FAKE.nanOn = null;
        long liveBefore = TensorLeaks.live();
        long liveBeforeBytes = TensorLeaks.liveBytes();
        int ditBefore = calls("dit.onnx");
        int[] atCancel = new int[2];
        AtomicReference<Generation> self = new AtomicReference<>();
        Runnable cancel = () -> {
            Generation g = self.get();
            while (g == null) { // start() returns just after the thread starts
                Thread.onSpinWait();
                g = self.get();
            }
            atCancel[0] = calls("dit.onnx");
            atCancel[1] = calls("vae_decoder.onnx");
            assertThat(g.cancel()).isTrue();
        };
        Avatar a = request(seed);
        a = trigger == Trigger.ON_FRAME
                ? a.onFrame(f -> {
                    if (f.index() == frame) {
                        cancel.run();
                    }
                })
                : a.onProgress(p -> {
                    if (p.stage() == Progress.Stage.DENOISING && calls("dit.onnx") - ditBefore == ditCalls
                            && atCancel[0] == 0) {
                        cancel.run();
                    }
                });
        RecordingSink sink = new RecordingSink();
        Generation g = a.start(sink);
        self.set(g);
        long t0 = System.nanoTime();
        assertThatThrownBy(g::await).isInstanceOf(GenerationCancelledException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        assertThat(calls("dit.onnx")).as("DiT calls after the cancel").isEqualTo(atCancel[0]);
        assertThat(calls("vae_decoder.onnx")).as("decoder calls after the cancel").isEqualTo(atCancel[1]);
        assertCleanEnd(sink, expected, liveBefore, liveBeforeBytes);
        if (trigger == Trigger.ON_FRAME) {
            assertThat(sink.frames).as("the frame being emitted still reaches the sink, then nothing")
                    .hasSize(frame + 1);
        }
    }

    @Property(tries = 40)
    void cancelFromAnotherThreadAfterARandomDelay(@ForAll @IntRange(min = 0, max = 40_000) int delayMicros,
                                                  @ForAll @IntRange(min = 0, max = 3) int seed) {
        List<byte[]> expected = reference(seed);
        long liveBefore = TensorLeaks.live();
        long liveBeforeBytes = TensorLeaks.liveBytes();
        RecordingSink sink = new RecordingSink();
        Generation g = request(seed).start(sink);
        LockSupport.parkNanos(delayMicros * 1000L);
        int ditAtCancel = calls("dit.onnx");
        int decAtCancel = calls("vae_decoder.onnx");
        boolean requested = g.cancel();
        long t0 = System.nanoTime();
        RenderResult result = null;
        try {
            result = g.await(Duration.ofSeconds(10));
        } catch (GenerationCancelledException e) {
            assertThat(requested).as("cancelled only when cancel() said so").isTrue();
        } catch (TimeoutException e) {
            throw new AssertionError("not prompt", e);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        if (result != null) {
            assertThat(requested).as("cancel() returned true, yet the generation completed").isFalse();
            assertThat(sink.completed).isTrue();
            assertThat(result.frames()).isEqualTo(FRAMES);
            return;
        }
        // at most the call in flight when cancel() came (one window at a time here)
        assertThat(calls("dit.onnx") - ditAtCancel).as("DiT calls after the cancel").isLessThanOrEqualTo(1);
        assertThat(calls("vae_decoder.onnx") - decAtCancel).as("decoder calls after the cancel")
                .isLessThanOrEqualTo(1);
        assertCleanEnd(sink, expected, liveBefore, liveBeforeBytes);
    }

    private static void assertCleanEnd(RecordingSink sink, List<byte[]> expected, long liveBefore,
                                       long liveBeforeBytes) {
        assertThat(sink.aborted).as("sink aborted").isTrue();
        assertThat(sink.completed).as("sink completed").isFalse();
        List<byte[]> got = frames(sink);
        // a cancel on the last frame (or just after it, before the commit) still aborts the output
        // although every frame was delivered
        assertThat(got.size()).isLessThanOrEqualTo(expected.size());
        for (int i = 0; i < got.size(); i++) {
            assertThat(got.get(i)).as("frame %d before the cancel", i).isEqualTo(expected.get(i));
        }
        assertThat(TensorLeaks.live()).as("live tensors after a cancelled generation").isEqualTo(liveBefore);
        assertThat(TensorLeaks.liveBytes()).as("live tensor bytes").isEqualTo(liveBeforeBytes);
    }

    @Property(tries = 8)
    void theModelGeneratesTheSameFramesAfterCancellations(@ForAll @IntRange(min = 0, max = 3) int seed) {
        RecordingSink sink = new RecordingSink();
        request(seed).render(sink);
        List<byte[]> got = frames(sink);
        List<byte[]> expected = reference(seed);
        assertThat(got).hasSameSizeAs(expected);
        for (int i = 0; i < got.size(); i++) {
            assertThat(got.get(i)).as("frame %d", i).isEqualTo(expected.get(i));
        }
    }

    /**
     * 200 short generations cancelled at varying points leak no tensor: the count of live owning
     * tensors (every off-heap buffer of the engine and the fake backend) returns to where it was.
     */
    @Example
    void twoHundredCancelledGenerationsLeakNoTensor() {
        reference(0); // warm-up: text embeddings, caches
        long liveBefore = TensorLeaks.live();
        long liveBeforeBytes = TensorLeaks.liveBytes();
        for (int i = 0; i < 200; i++) {
            int at = (i * 37) % 40;
            Generation g = SelfCancel.atFrame(Avatar.from(TestMedia.gradient(16, 16))
                    .speak(TestMedia.speechLike(2.5, RATE), RATE).model(model()).seed(i), at, new RecordingSink());
            assertThatThrownBy(g::await).isInstanceOf(GenerationCancelledException.class);
        }
        assertThat(TensorLeaks.live()).as("live tensors after 200 cancelled generations").isEqualTo(liveBefore);
        assertThat(TensorLeaks.liveBytes()).as("live tensor bytes").isEqualTo(liveBeforeBytes);
    }
}
