package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.media.RgbImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Live sessions on the preview bundle, paced by a test clock ({@link LiveHarness}): speech and idle
 * frames, interrupts, producers slower and faster than real time, slow consumers under both
 * policies, the end of a session and its failures.
 */
class LiveSessionTest {
    private static AvatarModel model;
    private static RgbImage portrait;
    private static float[] speech;

    @BeforeAll
    static void open() {
        model = AvatarModel.load(LiveHarness.BUNDLE);
        portrait = LiveHarness.portrait();
        speech = LiveHarness.speech(1.5);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static LiveHarness live(LiveOptions options) {
        return new LiveHarness(model, portrait, options, 3);
    }

    /** Checks that the speaking frames among {@code frames} show consecutive spans from {@code from}; returns where they end. */
    private static long consecutive(List<Frame> frames, long from) {
        long at = from;
        for (Frame f : frames) {
            if (f.speech().isPresent()) {
                SpeechSpan s = f.speech().get();
                assertThat(s.start()).as("frame %d starts where the last speaking frame ended", f.index()).isEqualTo(at);
                assertThat(s.sampleRate()).isEqualTo(LiveHarness.RATE);
                at = s.end();
            }
        }
        return at;
    }

    @Test
    void idleUntilSpeechThenEverySampleShownOnceThenIdleAgain() {
        try (LiveHarness live = live(LiveOptions.defaults())) {
            List<Frame> frames = new ArrayList<>();
            frames.add(live.next());
            frames.add(live.step());
            assertThat(frames).allSatisfy(f -> assertThat(f.speech()).as("nothing pushed: idle").isEmpty());
            live.session.push(speech, LiveHarness.RATE);
            live.session.endOfSpeech();
            int speaking = (int) Math.ceilDiv(speech.length, 640);
            for (int i = 0; i < speaking + 3; i++) {
                frames.add(live.step());
            }
            assertThat(frames.get(2).speech()).as("the frame after the push speaks").isPresent();
            assertThat(frames.get(2).speech().get().startTime()).isEqualTo(Duration.ZERO);
            assertThat(consecutive(frames, 0)).as("every pushed sample is shown").isEqualTo(speech.length);
            assertThat(frames.stream().filter(f -> f.speech().isPresent()).count()).isEqualTo(speaking);
            assertThat(frames.subList(frames.size() - 3, frames.size())).allSatisfy(f -> assertThat(f.speech()).isEmpty());
            for (int i = 0; i < frames.size(); i++) {
                assertThat(frames.get(i).index()).isEqualTo(i);
                assertThat(frames.get(i).fps()).isEqualTo(25);
                assertThat(frames.get(i).width()).isEqualTo(LiveHarness.SIZE);
            }
            assertThat(live.session.queuedSpeech()).isZero();
        }
    }

    @Test
    void theLastPartialFrameWaitsForEndOfSpeech() {
        try (LiveHarness live = live(LiveOptions.defaults())) {
            live.next();
            live.session.push(speech, 0, 640 * 3 + 100, LiveHarness.RATE); // 3 frames and a bit, and the look-ahead of 2
            List<Frame> frames = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                frames.add(live.step());
            }
            assertThat(consecutive(frames, 0)).as("frame 3 needs samples past 2020 to be analysed").isEqualTo(640 * 2);
            live.session.endOfSpeech();
            frames.add(live.step());
            frames.add(live.step());
            assertThat(frames.getLast().speech()).as("the last, partial frame")
                    .contains(new SpeechSpan(640 * 3, 640 * 3 + 100, LiveHarness.RATE));
            frames.add(live.step());
            assertThat(consecutive(frames, 0)).isEqualTo(640 * 3 + 100);
            assertThat(frames.get(frames.size() - 1).speech()).isEmpty();
        }
    }

    @Test
    void interruptMidSentenceIsIdleAtTheNextFrameAndTheNextAnswerContinuesThePositions() {
        try (LiveHarness live = live(LiveOptions.defaults())) {
            live.next();
            live.session.push(speech, LiveHarness.RATE);
            List<Frame> frames = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                frames.add(live.step());
            }
            assertThat(frames).allSatisfy(f -> assertThat(f.speech()).isPresent());
            live.session.interrupt();
            assertThat(live.session.queuedSpeech()).isZero();
            Frame after = live.step();
            assertThat(after.speech()).as("barge-in: the next frame is idle").isEmpty();
            assertThat(live.step().speech()).isEmpty();
            // the next answer: its positions continue after everything pushed, dropped speech included
            live.session.push(speech, 0, 3200, LiveHarness.RATE);
            live.session.endOfSpeech();
            List<Frame> answer = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                answer.add(live.step());
            }
            assertThat(answer.get(0).speech()).hasValueSatisfying(s -> assertThat(s.start()).isEqualTo(speech.length));
            assertThat(consecutive(answer, speech.length)).isEqualTo(speech.length + 3200L);
        }
    }

    @Test
    void aProducerSlowerThanRealTimeGetsIdleFramesBetweenAndNoSampleIsLostOrRepeated() {
        try (LiveHarness live = live(LiveOptions.defaults())) {
            List<Frame> frames = new ArrayList<>();
            frames.add(live.next());
            int chunk = 320; // 20 ms of speech every 40 ms: half real time
            for (int i = 0; i < speech.length; i += chunk) {
                live.session.push(speech, i, Math.min(chunk, speech.length - i), LiveHarness.RATE);
                frames.add(live.step());
            }
            live.session.endOfSpeech();
            for (int i = 0; i < 10; i++) {
                frames.add(live.step());
            }
            assertThat(consecutive(frames, 0)).isEqualTo(speech.length);
            long idleBetween = frames.stream().dropWhile(f -> f.speech().isEmpty())
                    .takeWhile(f -> f.speech().isEmpty() || f.speech().get().end() < speech.length)
                    .filter(f -> f.speech().isEmpty()).count();
            assertThat(idleBetween).as("the queue ran dry between speaking frames").isGreaterThan(10);
        }
    }

    @Test
    void aProducerFasterThanRealTimeIsHeldBackByTheBoundedQueue() throws Exception {
        LiveOptions small = LiveOptions.defaults().maxQueuedSpeech(Duration.ofMillis(200));
        try (LiveHarness live = live(small)) {
            List<Frame> frames = new ArrayList<>();
            frames.add(live.next());
            CompletableFuture<Void> producer = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < speech.length; i += 160) { // 10 ms pushes, as fast as it can
                    live.session.push(speech, i, Math.min(160, speech.length - i), LiveHarness.RATE);
                }
                live.session.endOfSpeech();
            });
            Thread.sleep(200);
            assertThat(producer).as("held back: 1.5 s of speech does not fit in 200 ms").isNotDone();
            while (!producer.isDone() || frames.getLast().speech().isPresent() || live.session.queuedSpeech()
                    .compareTo(Duration.ZERO) > 0) {
                assertThat(live.session.queuedSpeech()).isLessThanOrEqualTo(Duration.ofMillis(200));
                frames.add(live.step());
                assertThat(frames.size()).as("the speech is shown in time").isLessThan(200);
            }
            producer.get(10, TimeUnit.SECONDS);
            frames.add(live.step());
            assertThat(consecutive(frames, 0)).isEqualTo(speech.length);
        }
    }

    @Test
    void aSlowConsumerLosesTheOldestFramesUnderDropOldest() {
        LiveOptions o = LiveOptions.defaults().slowConsumer(LiveOptions.SlowConsumer.DROP_OLDEST).frameBuffer(4);
        try (LiveHarness live = live(o)) {
            live.next();
            live.settle();
            Iterator<Frame> it = live.session.iterator(); // opened, never read until the end
            for (int i = 0; i < 20; i++) {
                assertThat(live.step().index()).as("the session keeps its pace").isEqualTo(i + 1);
            }
            live.session.close(); // a listener sees a frame before the buffer does: count once the session ended
            assertThat(live.session.droppedFrames()).as("frame 0, made before the iterator opened, is not kept")
                    .isEqualTo(16);
            List<Integer> got = new ArrayList<>();
            it.forEachRemaining(f -> got.add(f.index()));
            assertThat(got).as("the consumer gets the newest frames").containsExactly(17, 18, 19, 20);
        }
    }

    @Test
    void aSlowConsumerHoldsTheSessionBackUnderBackPressureAndLosesNothing() throws Exception {
        LiveOptions o = LiveOptions.defaults().slowConsumer(LiveOptions.SlowConsumer.BACK_PRESSURE).frameBuffer(4);
        try (LiveHarness live = live(o)) {
            live.next();
            live.settle();
            Iterator<Frame> it = live.session.iterator(); // from frame 1 on
            for (int i = 1; i <= 5; i++) {
                assertThat(live.step().index()).isEqualTo(i); // frame 5 reaches the listener, then waits for room
            }
            for (int i = 0; i < 25; i++) { // a second: too long to catch up
                live.now.addAndGet(LiveHarness.PERIOD);
            }
            assertThat(live.frames.poll(300, TimeUnit.MILLISECONDS)).as("the session waits for its consumer").isNull();
            List<Integer> got = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                got.add(it.next().index());
            }
            assertThat(got).containsExactly(1, 2, 3, 4, 5);
            // once the consumer read, the clock starts over from now: one frame at once, then one per period
            assertThat(live.next().index()).isEqualTo(6);
            assertThat(live.frames.poll(300, TimeUnit.MILLISECONDS)).as("no burst to catch up").isNull();
            assertThat(live.step().index()).isEqualTo(7);
            assertThat(live.session.droppedFrames()).isZero();
            assertThat(it.next().index()).isEqualTo(6);
            assertThat(it.next().index()).isEqualTo(7);
        }
    }

    @Test
    void theSessionWaitsForNobodyAndKeepsNoFrameWhenOnlyListenersConsumeEvenUnderBackPressure() {
        LiveOptions o = LiveOptions.defaults().slowConsumer(LiveOptions.SlowConsumer.BACK_PRESSURE).frameBuffer(2);
        try (LiveHarness live = live(o)) {
            live.next();
            for (int i = 1; i <= 6; i++) {
                assertThat(live.step().index()).isEqualTo(i);
            }
            live.session.close();
            assertThat(live.session.droppedFrames()).isZero();
            assertThat(live.session.iterator().hasNext()).as("nothing was kept for a consumer that never came")
                    .isFalse();
        }
    }

    @Test
    void closeEndsTheSessionAndReleasesTheModel() {
        try (AvatarModel own = AvatarModel.load(LiveHarness.BUNDLE)) {
            LiveHarness live = new LiveHarness(own, portrait, LiveOptions.defaults(), 1);
            live.next();
            live.session.push(speech, LiveHarness.RATE);
            live.step();
            Iterator<Frame> it = live.session.iterator();
            live.session.close();
            assertThat(live.session.isOpen()).isFalse();
            assertThatThrownBy(() -> live.session.push(speech, LiveHarness.RATE)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
            assertThatThrownBy(live.session::interrupt).isInstanceOf(IllegalStateException.class);
            it.forEachRemaining(f -> { });
            RenderResult r = live.session.await();
            assertThat(r.frames()).isEqualTo(2);
            assertThat(r.width()).isEqualTo(LiveHarness.SIZE);
            live.session.close(); // idempotent
            assertThat(own.close(Duration.ofSeconds(5))).as("the model is no longer in use").isTrue();
        }
    }

    @Test
    void aFailureEndsTheSessionAndPushesSayWhy() throws Exception {
        RgbImage noFace = dev.avatar4j.testing.TestMedia.gradient(96, 96);
        LiveSession s = Avatar.from(noFace).model(model).size(128, 128).live();
        assertThatThrownBy(s::await).isInstanceOf(NoFaceException.class);
        assertThat(s.isOpen()).isFalse();
        assertThatThrownBy(() -> s.push(speech, LiveHarness.RATE)).isInstanceOf(IllegalStateException.class)
                .hasCauseInstanceOf(NoFaceException.class);
        s.close();
    }

    @Test
    void thePublisherDeliversOnDemandAndCancellingEndsTheSession() throws Exception {
        try (LiveHarness live = live(LiveOptions.defaults())) {
            List<Frame> got = new java.util.concurrent.CopyOnWriteArrayList<>();
            CountDownLatch three = new CountDownLatch(3);
            Flow.Subscription[] sub = new Flow.Subscription[1];
            live.session.publisher().subscribe(new Flow.Subscriber<>() {
                @Override
                public void onSubscribe(Flow.Subscription s) {
                    sub[0] = s;
                    s.request(3);
                }

                @Override
                public void onNext(Frame item) {
                    got.add(item);
                    three.countDown();
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onComplete() {
                }
            });
            live.next();
            for (int i = 0; i < 4; i++) {
                live.step();
            }
            assertThat(three.await(30, TimeUnit.SECONDS)).isTrue();
            int first = got.get(0).index(); // frame 0 may come before the subscription does
            assertThat(got).extracting(Frame::index).containsExactly(first, first + 1, first + 2);
            sub[0].cancel();
            assertThatThrownBy(live.session::await).isInstanceOf(GenerationCancelledException.class);
            assertThat(live.session.isOpen()).isFalse();
        }
    }
}
