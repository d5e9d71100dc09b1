package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.family.LiveFeed;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The live session's speech queue and frame clock, without an engine (a manual clock). */
class SpeechFeedTest {
    private static final int RATE = 16_000;
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final SpeechFeed feed = new SpeechFeed(RATE, 25, Duration.ofSeconds(1), LiveClock.polling(now::get));

    private static float[] ramp(int n, float from) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = from + i * 1e-5f;
        }
        return a;
    }

    @Test
    void utterancesArePositionedInThePushedSpeechAndEndWithEnd() {
        int ep = feed.epoch();
        feed.push(ramp(700, 0), 0, 700, RATE);
        feed.push(ramp(300, 0.5f), 0, 300, RATE);
        feed.endOfSpeech();
        feed.push(ramp(100, 0.9f), 0, 100, RATE);
        assertThat(feed.queued()).isEqualTo(Duration.ofNanos(1100 * 1_000_000_000L / RATE));
        float[] dst = new float[2000];
        assertThat(feed.position(ep)).isZero();
        assertThat(feed.read(dst, 0, 2000, ep)).as("a read stops at the end of the utterance").isEqualTo(1000);
        assertThat(dst[700]).isEqualTo(0.5f);
        assertThat(feed.position(ep)).isEqualTo(1000);
        assertThat(feed.read(dst, 0, 2000, ep)).isEqualTo(LiveFeed.END);
        assertThat(feed.read(dst, 0, 50, ep)).isEqualTo(50);
        assertThat(dst[0]).isEqualTo(0.9f);
        assertThat(feed.read(dst, 0, 2000, ep)).isEqualTo(50);
        assertThat(feed.read(dst, 0, 2000, ep)).as("nothing queued").isZero();
    }

    @Test
    void interruptDropsTheQueueAndMakesHeldSpeechStale() {
        int ep = feed.epoch();
        feed.push(new float[1000], 0, 1000, RATE);
        float[] dst = new float[100];
        assertThat(feed.read(dst, 0, 100, ep)).isEqualTo(100);
        feed.interrupt();
        assertThat(feed.queued()).isZero();
        assertThat(feed.read(dst, 0, 100, ep)).isEqualTo(LiveFeed.STALE);
        assertThat(feed.position(ep)).isEqualTo(-1);
        int next = feed.epoch();
        assertThat(next).isNotEqualTo(ep);
        feed.push(ramp(10, 0.25f), 0, 10, RATE);
        assertThat(feed.position(next)).as("dropped samples are counted: positions are the pushed speech's")
                .isEqualTo(1000);
        assertThat(feed.read(dst, 0, 100, next)).isEqualTo(10);
        assertThat(dst[0]).isEqualTo(0.25f);
    }

    @Test
    void pcm16BytesMayBeCutAnywhere() {
        byte[] pcm = new byte[10];
        short[] values = {1, -1, 32767, -32768, 1234};
        for (int i = 0; i < values.length; i++) {
            pcm[2 * i] = (byte) values[i];
            pcm[2 * i + 1] = (byte) (values[i] >> 8);
        }
        feed.pushPcm16(pcm, 0, 3, RATE);
        feed.pushPcm16(pcm, 3, 1, RATE);
        feed.pushPcm16(pcm, 4, 5, RATE);
        feed.pushPcm16(pcm, 9, 1, RATE);
        float[] dst = new float[10];
        assertThat(feed.read(dst, 0, 10, feed.epoch())).isEqualTo(5);
        for (int i = 0; i < values.length; i++) {
            assertThat(dst[i]).isEqualTo(values[i] / 32768f);
        }
    }

    @Test
    void aFullQueueHoldsThePusherBackUntilTheEngineReads() throws Exception {
        feed.push(new float[RATE], 0, RATE, RATE); // the whole second of capacity
        CompletableFuture<Void> pusher = CompletableFuture.runAsync(() -> feed.push(new float[800], 0, 800, RATE));
        Thread.sleep(100);
        assertThat(pusher).as("no room: the push waits").isNotDone();
        feed.read(new float[400], 0, 400, feed.epoch());
        assertThat(pusher).as("still not enough room").isNotDone();
        feed.read(new float[400], 0, 400, feed.epoch());
        pusher.get(5, TimeUnit.SECONDS);
        assertThat(feed.queued()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void anInterruptReleasesAWaitingPushAndDropsItsRest() throws Exception {
        feed.push(new float[RATE], 0, RATE, RATE);
        CompletableFuture<Void> pusher = CompletableFuture.runAsync(() -> feed.push(new float[9000], 0, 9000, RATE));
        Thread.sleep(100);
        feed.interrupt();
        pusher.get(5, TimeUnit.SECONDS);
        assertThat(feed.queued()).isZero();
    }

    @Test
    void closingEndsPushesAndTheClock() {
        feed.close(null);
        assertThatThrownBy(() -> feed.push(new float[1], 0, 1, RATE)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        assertThat(feed.awaitFrame(() -> { })).isFalse();
        SpeechFeed failed = new SpeechFeed(RATE, 25, Duration.ofSeconds(1), LiveClock.polling(now::get));
        NoFaceException why = new NoFaceException("no face in the image", 0.1);
        failed.close(why);
        assertThatThrownBy(failed::endOfSpeech).isInstanceOf(IllegalStateException.class).hasCause(why);
    }

    @Test
    void framesArePacedAtTheFrameRateAndALateSessionRestartsItsClock() throws Exception {
        assertThat(feed.awaitFrame(() -> { })).as("the first frame is due at once").isTrue();
        CompletableFuture<Boolean> second = CompletableFuture.supplyAsync(() -> feed.awaitFrame(() -> { }));
        Thread.sleep(50);
        assertThat(second).as("40 ms of the clock have not passed").isNotDone();
        now.addAndGet(39_999_999);
        Thread.sleep(20);
        assertThat(second).isNotDone();
        now.addAndGet(1);
        assertThat(second.get(5, TimeUnit.SECONDS)).isTrue();
        // held up for 3 frames (a GC pause): the missed frames are due at once, the pace is kept
        now.addAndGet(120_000_000);
        for (int i = 0; i < 3; i++) {
            assertThat(feed.awaitFrame(() -> { })).isTrue(); // frames 2, 3 (missed) and 4 (due now)
        }
        CompletableFuture<Boolean> onTime = CompletableFuture.supplyAsync(() -> feed.awaitFrame(() -> { }));
        Thread.sleep(50);
        assertThat(onTime).as("caught up: frame 5 is due in 40 ms").isNotDone();
        now.addAndGet(40_000_000);
        assertThat(onTime.get(5, TimeUnit.SECONDS)).isTrue();
        assertThat(feed.restarts()).isZero();
        // held up for 25 frames (a consumer under back-pressure): no burst of catch-up frames
        now.addAndGet(1_000_000_000);
        assertThat(feed.awaitFrame(() -> { })).isTrue();
        assertThat(feed.restarts()).isEqualTo(1);
        CompletableFuture<Boolean> next = CompletableFuture.supplyAsync(() -> feed.awaitFrame(() -> { }));
        Thread.sleep(50);
        assertThat(next).as("the next frame is one period after the late one").isNotDone();
        now.addAndGet(40_000_000);
        assertThat(next.get(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void pushesFromManyThreadsStayWhole() throws Exception {
        SpeechFeed big = new SpeechFeed(RATE, 25, Duration.ofSeconds(60), LiveClock.polling(now::get));
        int threads = 4;
        int pushes = 50;
        int size = 777;
        java.util.List<CompletableFuture<Void>> all = new java.util.ArrayList<>();
        for (int t = 0; t < threads; t++) {
            float value = (t + 1) / 8f;
            all.add(CompletableFuture.runAsync(() -> {
                float[] chunk = new float[size];
                java.util.Arrays.fill(chunk, value);
                for (int i = 0; i < pushes; i++) {
                    big.push(chunk, 0, size, RATE);
                }
            }));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        float[] dst = new float[threads * pushes * size];
        assertThat(big.read(dst, 0, dst.length, big.epoch())).isEqualTo(dst.length);
        for (int c = 0; c < threads * pushes; c++) {
            for (int i = 1; i < size; i++) {
                assertThat(dst[c * size + i]).as("push %d is not interleaved with another", c).isEqualTo(dst[c * size]);
            }
        }
    }

    @Test
    void resampledPushesArePositionedAtTheModelRate() {
        int ep = feed.epoch();
        feed.push(new float[48_000], 0, 48_000, 48_000); // one second at 48 kHz
        feed.endOfSpeech();
        float[] dst = new float[RATE * 2];
        assertThat(feed.read(dst, 0, dst.length, ep)).isEqualTo(RATE);
        assertThat(feed.position(ep)).isEqualTo(RATE);
    }
}
