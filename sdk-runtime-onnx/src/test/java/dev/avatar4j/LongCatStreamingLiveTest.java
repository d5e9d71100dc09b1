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
 * The longcat-avatar family's streaming live mode ({@link LiveOptions#lowLatency(boolean)}) on the
 * committed tiny bundle: the first segment's frames come out before the utterance has ended; the
 * frames do not depend on how the speech was pushed; an utterance of one segment is rendered exactly
 * as offline; an interrupt drops the utterance mid-way. The clock is moved by the test.
 */
class LongCatStreamingLiveTest {
    private static final long SEED = 3;
    private static AvatarModel model;
    private static RgbImage portrait;
    /** 4.5 s: two segments (93 frames, then 19 of the next 80). */
    private static float[] speech;

    @BeforeAll
    static void open() {
        model = AvatarModel.load(Path.of("..", "models", "longcat-avatar-tiny"));
        portrait = LiveHarness.portrait();
        speech = LiveHarness.speech(4.5);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static LiveHarness live() {
        return new LiveHarness(model, portrait, LiveOptions.defaults().lowLatency(true), SEED);
    }

    /** Checks the spans: frame j shows [start + 640 j, start + 640 (j + 1)), the last to the utterance's end. */
    private static void assertSpans(List<Frame> frames, long start, long length, boolean complete) {
        for (int j = 0; j < frames.size(); j++) {
            SpeechSpan s = frames.get(j).speech().orElseThrow();
            assertThat(s.start()).as("frame %d", j).isEqualTo(start + j * 640L);
            assertThat(s.end()).as("frame %d", j).isEqualTo(complete && j == frames.size() - 1
                    ? start + length : start + (j + 1) * 640L);
        }
    }

    private static List<byte[]> images(List<Frame> frames) {
        return frames.stream().map(f -> f.image().toRgbArray()).toList();
    }

    @Test
    void theFirstSegmentIsShownBeforeTheEndOfSpeechAndPiecesGiveTheSameFrames() {
        try (LiveHarness live = live()) {
            assertThat(live.next().speech()).isEmpty();
            live.session.push(speech, LiveHarness.RATE); // no endOfSpeech yet
            List<Frame> first = new ArrayList<>(StableAvatarLiveTest.Tiny.speaking(live, 93));
            assertSpans(first, 0, speech.length, false);
            for (int i = 0; i < 10; i++) {
                assertThat(live.step().speech()).as("the second segment needs speech up to 7 s, or the end").isEmpty();
            }
            live.session.endOfSpeech();
            first.addAll(StableAvatarLiveTest.Tiny.speaking(live, 112 - 93));
            assertSpans(first, 0, speech.length, true);
            assertThat(live.step().speech()).as("idle after it").isEmpty();
            List<byte[]> offline = new ArrayList<>();
            Avatar.from(portrait).model(model).size(LiveHarness.SIZE, LiveHarness.SIZE).seed(SEED)
                    .speak(speech, LiveHarness.RATE).start().frames().forEach(f -> offline.add(f.image().toRgbArray()));
            assertThat(offline).hasSize(112);
            List<byte[]> streamed = images(first);
            long differ = java.util.stream.IntStream.range(0, 93)
                    .filter(j -> !Arrays.equals(streamed.get(j), offline.get(j))).count();
            assertThat(differ == 0)
                    .as("streamed features (gain of the first 3.72 s, per-segment encoder chunks, scale 2) are not "
                            + "the offline ones of a two-segment utterance").isFalse();

            // the same speech in pieces of 3333 samples (and a step after each): the same frames
            for (int at = 0, n = 3_333; at < speech.length; at += n) {
                live.session.push(Arrays.copyOfRange(speech, at, Math.min(speech.length, at + n)), LiveHarness.RATE);
                live.step();
            }
            live.session.endOfSpeech();
            List<Frame> again = StableAvatarLiveTest.Tiny.speaking(live, 112);
            assertSpans(again, speech.length, speech.length, true);
            assertThat(images(again)).as("frames independent of the pushes").containsExactlyElementsOf(images(first));

            // and in pieces of 7919, ended at once
            for (int at = 0, n = 7_919; at < speech.length; at += n) {
                live.session.push(Arrays.copyOfRange(speech, at, Math.min(speech.length, at + n)), LiveHarness.RATE);
            }
            live.session.endOfSpeech();
            List<Frame> third = StableAvatarLiveTest.Tiny.speaking(live, 112);
            assertSpans(third, 2L * speech.length, speech.length, true);
            assertThat(images(third)).containsExactlyElementsOf(images(first));
        }
    }

    @Test
    void anUtteranceOfOneSegmentIsTheOfflineGeneration() {
        float[] short_ = LiveHarness.speech(3.0);
        List<byte[]> offline = new ArrayList<>();
        Avatar.from(portrait).model(model).size(LiveHarness.SIZE, LiveHarness.SIZE).seed(SEED)
                .speak(short_, LiveHarness.RATE).start().frames().forEach(f -> offline.add(f.image().toRgbArray()));
        assertThat(offline).as("3 s at 25 fps: one segment").hasSize(75);
        try (LiveHarness live = live()) {
            live.next();
            for (int at = 0, n = 5_000; at < short_.length; at += n) {
                live.session.push(Arrays.copyOfRange(short_, at, Math.min(short_.length, at + n)), LiveHarness.RATE);
                live.step();
            }
            live.session.endOfSpeech();
            List<Frame> frames = StableAvatarLiveTest.Tiny.speaking(live, 75);
            assertSpans(frames, 0, short_.length, true);
            assertThat(images(frames)).containsExactlyElementsOf(offline);
        }
    }

    @Test
    void anInterruptMidUtteranceDropsItAndTheNextIsRenderedAfresh() {
        try (LiveHarness live = live()) {
            live.next();
            live.session.push(speech, LiveHarness.RATE);
            List<Frame> before = StableAvatarLiveTest.Tiny.speaking(live, 5);
            live.session.interrupt();
            for (int i = 0; i < 20; i++) {
                assertThat(live.step().speech()).as("nothing of the dropped utterance").isEmpty();
            }
            live.session.push(speech, LiveHarness.RATE);
            List<Frame> after = StableAvatarLiveTest.Tiny.speaking(live, 5);
            assertSpans(after, speech.length, speech.length, false);
            assertThat(images(after)).as("the same speech, rendered afresh").containsExactlyElementsOf(images(before));
        }
    }
}
