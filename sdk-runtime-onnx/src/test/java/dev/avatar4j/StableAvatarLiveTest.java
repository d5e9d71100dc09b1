package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.media.RgbImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The stableavatar family live on the committed real-architecture tiny bundle: an utterance pushed
 * whole or in pieces of random sizes, then ended, shows exactly the frames an offline generation
 * of the same speech makes with the same seed and steps (pixels, in order, each with its frame
 * period of the speech), with idle frames (the portrait) before; an interrupt drops the rest of an
 * utterance and the next one starts over. The clock is moved by the test (one frame per step), so
 * nothing depends on the machine's speed except how many idle frames come before the speaking
 * ones, which the tests do not assert.
 */
class StableAvatarLiveTest {
    private static Tiny tiny;

    @BeforeAll
    static void open() {
        tiny = new Tiny();
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    /** The tiny model, the speech and its offline frames. */
    static final class Tiny implements AutoCloseable {
        static final Path BUNDLE = Path.of("..", "models", "stableavatar-tiny");
        static final int STEPS = 2;
        static final long SEED = 5;
        final AvatarModel model = AvatarModel.load(BUNDLE);
        final RgbImage portrait = LiveHarness.portrait();
        /** hello.wav twice (11.8 s): five windows, three planned while the speech is still coming. */
        final float[] speech;
        final List<byte[]> offline = new ArrayList<>();

        Tiny() {
            float[] once = LiveHarness.speech(60);
            speech = Arrays.copyOf(once, 2 * once.length);
            System.arraycopy(once, 0, speech, once.length, once.length);
            Avatar.from(portrait).model(model).size(LiveHarness.SIZE, LiveHarness.SIZE).seed(SEED).steps(STEPS)
                    .speak(speech, LiveHarness.RATE).start().frames().forEach(f -> offline.add(f.image().toRgbArray()));
        }

        LiveHarness live() {
            return live(LiveOptions.defaults());
        }

        LiveHarness live(LiveOptions options) {
            return new LiveHarness(model, portrait, options, SEED, STEPS);
        }

        /**
         * Steps the clock until {@code count} speaking frames came (idle ones skipped, pausing a little
         * after each so that the model's thread gets the CPU; failing after five minutes).
         */
        static List<Frame> speaking(LiveHarness live, int count) {
            List<Frame> out = new ArrayList<>();
            long deadline = System.nanoTime() + 300_000_000_000L;
            while (out.size() < count) {
                assertThat(System.nanoTime()).as("%d speaking frames within five minutes, got %d", count, out.size())
                        .isLessThan(deadline);
                Frame f = live.step();
                if (f.speech().isPresent()) {
                    out.add(f);
                } else {
                    pause();
                }
            }
            return out;
        }

        static void pause() {
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }

        /** The frames are the offline ones, each showing its frame period of the speech from {@code start}. */
        void assertOffline(List<Frame> frames, long start, long length) {
            assertThat(frames).hasSize(offline.size());
            for (int j = 0; j < frames.size(); j++) {
                Frame f = frames.get(j);
                assertThat(f.image().toRgbArray()).as("frame %d", j).isEqualTo(offline.get(j));
                SpeechSpan s = f.speech().orElseThrow();
                assertThat(s.start()).as("frame %d starts its frame period", j).isEqualTo(start + j * 640L);
                assertThat(s.end()).as("frame %d", j)
                        .isEqualTo(j == frames.size() - 1 ? start + length : start + (j + 1) * 640L);
            }
        }

        @Override
        public void close() {
            model.close();
        }
    }

    @Test
    void anUtterancePushedWholeShowsTheOfflineFramesAfterIdlePortraitFrames() {
        assertThat(tiny.offline).as("offline frames of 11.8 s at 25 fps").hasSize(293);
        try (LiveHarness live = tiny.live()) {
            Frame first = live.next();
            assertThat(first.speech()).isEmpty();
            assertThat(first.image().toRgbArray()).as("idle: the portrait as the model sees it").isEqualTo(
                    dev.avatar4j.image.ImageOps.resize(tiny.portrait, LiveHarness.SIZE, LiveHarness.SIZE).toRgbArray());
            live.session.push(tiny.speech, LiveHarness.RATE);
            live.session.endOfSpeech();
            tiny.assertOffline(Tiny.speaking(live, tiny.offline.size()), 0, tiny.speech.length);
            Frame after = live.step();
            assertThat(after.speech()).as("idle after the utterance").isEmpty();
        }
    }

    @Test
    void aModelWithoutALiveModeIsRefusedAtOnce() {
        try (AvatarModel dubbing = AvatarModel.load(Path.of("..", "models", "latentsync-tiny"))) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Avatar.from(tiny.portrait).model(dubbing).live())
                    .isInstanceOf(InvalidInputException.class).hasMessageContaining("no live mode")
                    .hasMessageContaining("latentsync");
        }
    }

    @Test
    void framesBecomeFinalWhileTheSpeechIsStillComing() throws Exception {
        try (LiveHarness live = tiny.live()) {
            live.next();
            int pushed = 9 * LiveHarness.RATE; // 9 s of 11.8: windows 0..2 are certain, not 3 and 4
            live.session.push(Arrays.copyOf(tiny.speech, pushed), LiveHarness.RATE);
            List<Frame> early = Tiny.speaking(live, 100);
            assertThat(early.getLast().speech().orElseThrow().end()).isLessThanOrEqualTo(pushed);
            for (int j = 0; j < early.size(); j++) {
                assertThat(early.get(j).image().toRgbArray()).as("frame %d", j).isEqualTo(tiny.offline.get(j));
            }
        }
    }

    @Test
    void interruptDropsTheUtteranceAndTheNextStartsOverAfterIt() {
        try (LiveHarness live = tiny.live()) {
            live.next();
            live.session.push(tiny.speech, LiveHarness.RATE);
            live.session.endOfSpeech();
            Tiny.speaking(live, 10);
            live.session.interrupt();
            Frame f = live.step();
            assertThat(f.speech()).as("idle at the next frame").isEmpty();
            for (int i = 0; i < 20; i++) {
                assertThat(live.step().speech()).as("nothing of the dropped utterance").isEmpty();
            }
            // positions count the dropped speech too: the next utterance starts after it
            live.session.push(tiny.speech, LiveHarness.RATE);
            live.session.endOfSpeech();
            tiny.assertOffline(Tiny.speaking(live, tiny.offline.size()), tiny.speech.length, tiny.speech.length);
        }
    }

    @Test
    void speechShorterThanAFrameMakesNoFrameAndTheSessionGoesOn() {
        try (LiveHarness live = tiny.live()) {
            live.next();
            live.session.push(new float[300], LiveHarness.RATE);
            live.session.endOfSpeech();
            for (int i = 0; i < 5; i++) {
                assertThat(live.step().speech()).isEmpty();
            }
            live.session.push(tiny.speech, LiveHarness.RATE);
            live.session.endOfSpeech();
            tiny.assertOffline(Tiny.speaking(live, tiny.offline.size()), 300, tiny.speech.length);
        }
    }

    /**
     * Low-latency mode: with 9 s of the 11.8 s pushed, windows 0..2 are certain and have run, so the
     * frames of latents 0..47 (189 video frames) come out before the speech ends, where the exact mode
     * has only those of latents 0..31 (125 frames: window 2 waits for window 3). The frames are not
     * the offline ones, but the same speech pushed in other pieces gives the same frames.
     */
    @Test
    void lowLatencyFinishesEachWindowBeforeTheNextAndIsDeterministic() {
        LiveOptions options = LiveOptions.defaults().lowLatency(true);
        int pushed = 9 * LiveHarness.RATE;
        List<byte[]> whole = new ArrayList<>();
        try (LiveHarness live = tiny.live(options)) {
            live.next();
            live.session.push(Arrays.copyOf(tiny.speech, pushed), LiveHarness.RATE);
            List<Frame> early = Tiny.speaking(live, 189);
            assertThat(early.getLast().speech().orElseThrow().end()).isLessThanOrEqualTo(pushed);
            live.session.push(Arrays.copyOfRange(tiny.speech, pushed, tiny.speech.length), LiveHarness.RATE);
            live.session.endOfSpeech();
            early.addAll(Tiny.speaking(live, tiny.offline.size() - early.size()));
            for (int j = 0; j < early.size(); j++) {
                SpeechSpan s = early.get(j).speech().orElseThrow();
                assertThat(s.start()).isEqualTo(j * 640L);
                whole.add(early.get(j).image().toRgbArray());
            }
        }
        assertThat(whole).hasSize(tiny.offline.size());
        assertThat(java.util.stream.IntStream.range(0, whole.size())
                .filter(j -> !Arrays.equals(whole.get(j), tiny.offline.get(j))).count())
                .as("frames that differ from the offline generation's").isPositive();
        try (LiveHarness live = tiny.live(options)) {
            live.next();
            List<Frame> frames = new ArrayList<>();
            for (int at = 0, n = 7_001; at < tiny.speech.length; at += n) {
                live.session.push(Arrays.copyOfRange(tiny.speech, at, Math.min(tiny.speech.length, at + n)),
                        LiveHarness.RATE);
                Frame f = live.step();
                if (f.speech().isPresent()) {
                    frames.add(f);
                }
            }
            live.session.endOfSpeech();
            frames.addAll(Tiny.speaking(live, whole.size() - frames.size()));
            for (int j = 0; j < frames.size(); j++) {
                assertThat(frames.get(j).image().toRgbArray()).as("frame %d", j).isEqualTo(whole.get(j));
            }
        }
    }
}
