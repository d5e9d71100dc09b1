package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class PipelinedFrameSinkTest {

    /** Records what reaches the delegate, on which thread, optionally blocking or failing. */
    private static final class Recorder implements FrameSink {
        final List<Integer> accepted = new CopyOnWriteArrayList<>();
        final List<String> threads = new CopyOnWriteArrayList<>();
        final List<String> calls = new CopyOnWriteArrayList<>();
        volatile CountDownLatch gate;
        volatile int failOn = -1;

        @Override
        public void accept(Frame frame) {
            threads.add(Thread.currentThread().getName());
            CountDownLatch g = gate;
            if (g != null) {
                try {
                    g.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (frame.index() == failOn) {
                throw new UncheckedIOException(new java.io.IOException("No space left on device"));
            }
            accepted.add(frame.index());
        }

        @Override
        public void complete() {
            calls.add("complete:" + accepted.size());
        }

        @Override
        public void abort() {
            calls.add("abort");
        }
    }

    private static Frame frame(int i) {
        return new Frame(i, 25, RgbImage.of(2, 2, new byte[12]));
    }

    @Test
    void deliversEveryFrameInOrderOnAnotherThreadBeforeCompleting() {
        Recorder r = new Recorder();
        PipelinedFrameSink sink = new PipelinedFrameSink(r, 3);
        for (int i = 0; i < 200; i++) {
            sink.accept(frame(i));
        }
        sink.complete();
        assertThat(r.accepted).hasSize(200).isSorted();
        assertThat(r.calls).containsExactly("complete:200");
        assertThat(r.threads).allMatch(t -> t.startsWith("avatar4j-encoder-"));
    }

    @Test
    void acceptReturnsWhileTheDelegateIsStillBusy() throws Exception {
        Recorder r = new Recorder();
        r.gate = new CountDownLatch(1);
        PipelinedFrameSink sink = new PipelinedFrameSink(r, 4);
        // the delegate is blocked on frame 0, yet the producer hands over 1 + 4 frames without waiting:
        // that is the overlap of encoding with generation
        for (int i = 0; i < 5; i++) {
            sink.accept(frame(i));
        }
        assertThat(r.accepted).isEmpty();
        r.gate.countDown();
        sink.complete();
        assertThat(r.accepted).containsExactly(0, 1, 2, 3, 4);
    }

    @Test
    void aFailureOfTheDelegateSurfacesWithItsTypeAndNothingIsCompleted() throws Exception {
        Recorder r = new Recorder();
        r.failOn = 3;
        PipelinedFrameSink sink = new PipelinedFrameSink(r, 2);
        assertThatThrownBy(() -> {
            for (int i = 0; i < 1000; i++) {
                sink.accept(frame(i));
            }
            sink.complete();
        }).isInstanceOf(UncheckedIOException.class).hasMessageContaining("No space left");
        sink.abort();
        assertThat(r.accepted).containsExactly(0, 1, 2);
        assertThat(r.calls).containsExactly("abort");
    }

    @Test
    void abortWhileTheDelegateIsBusyWaitsForItThenAbortsWithoutWritingTheRest() throws Exception {
        Recorder r = new Recorder();
        r.gate = new CountDownLatch(1);
        PipelinedFrameSink sink = new PipelinedFrameSink(r, 4);
        for (int i = 0; i < 5; i++) {
            sink.accept(frame(i));
        }
        // the worker has taken frame 0 (else the fifth frame would not have fitted), but it may not
        // be inside the delegate yet: an abort before that skips the frame, which is not this case
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (r.threads.isEmpty() && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        assertThat(r.threads).hasSize(1);
        Thread aborter = Thread.ofPlatform().start(sink::abort);
        aborter.join(200);
        assertThat(aborter.isAlive()).as("abort waits for the frame being written").isTrue();
        assertThat(r.calls).isEmpty();
        r.gate.countDown();
        aborter.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(aborter.isAlive()).isFalse();
        assertThat(r.calls).containsExactly("abort");
        assertThat(r.accepted).containsExactly(0); // the queued frames were dropped
    }

    @Test
    void usingTheSinkAfterItEndedIsAnError() {
        Recorder r = new Recorder();
        PipelinedFrameSink sink = new PipelinedFrameSink(r, 1);
        sink.complete();
        assertThatThrownBy(() -> sink.accept(frame(0))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(sink::complete).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void encoderQueueHoldsAboutThirtyTwoMegabytesOfFrames() {
        assertThat(GenerationRunner.encoderQueueFrames(256, 256)).isEqualTo(170); // 32 MiB / 196,608 B
        assertThat(GenerationRunner.encoderQueueFrames(512, 512)).isEqualTo(42);
        assertThat(GenerationRunner.encoderQueueFrames(4096, 4096)).isEqualTo(8);   // at least 8
        assertThat(GenerationRunner.encoderQueueFrames(16, 16)).isEqualTo(256);     // at most 256
        long bytes = 3L * 1280 * 720 * GenerationRunner.encoderQueueFrames(1280, 720);
        assertThat(bytes).isLessThanOrEqualTo(GenerationRunner.ENCODER_QUEUE_BYTES);
    }

    @Test
    void framesReachTheDelegateInAFewRecycledBuffersWithTheirOwnContent() {
        // the delegate sees at most capacity + 2 distinct arrays however many frames pass, each
        // holding exactly the pixels of its frame: the caller's frames are not kept in the queue
        // (kept, they outlived young collections and grew the old generation with the video length)
        java.util.Set<byte[]> arrays = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        List<String> wrong = new CopyOnWriteArrayList<>();
        FrameSink check = new FrameSink() {
            @Override
            public void accept(Frame f) {
                arrays.add(f.buffer());
                byte[] px = f.image().toRgbArray();
                for (byte b : px) {
                    if (b != (byte) f.index()) {
                        wrong.add(f.index() + ": " + b);
                        return;
                    }
                }
            }

            @Override
            public void complete() {
            }

            @Override
            public void abort() {
            }
        };
        PipelinedFrameSink sink = new PipelinedFrameSink(check, 3);
        java.util.Set<byte[]> given = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (int i = 0; i < 500; i++) {
            byte[] px = new byte[4 * 4 * 3];
            java.util.Arrays.fill(px, (byte) i);
            Frame f = Frame.adopt(i, 25, 4, 4, px);
            given.add(px);
            sink.accept(f);
            java.util.Arrays.fill(px, (byte) -1); // the caller may reuse its array once accept returns
        }
        sink.complete();
        assertThat(wrong).isEmpty();
        assertThat(arrays).hasSizeBetween(1, 5).doesNotContainAnyElementsOf(given);
    }
}
