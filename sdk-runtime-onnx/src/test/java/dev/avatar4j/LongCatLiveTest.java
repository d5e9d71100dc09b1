package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.media.RgbImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The longcat-avatar family live on the committed tiny bundle: an utterance is rendered once it has
 * ended, as the offline generation of its audio (same frames, in order, each with its frame period of
 * the speech), whether it was pushed whole or in pieces; idle frames before and after, interrupt drops
 * it. The clock is moved by the test, as in {@link StableAvatarLiveTest}.
 */
class LongCatLiveTest {
    private static final long SEED = 3;
    private static AvatarModel model;
    private static RgbImage portrait;
    /** 4.5 s: two segments (93 frames, then 19 of the next 80). */
    private static float[] speech;
    private static List<byte[]> offline;

    @BeforeAll
    static void open() {
        model = AvatarModel.load(Path.of("..", "models", "longcat-avatar-tiny"));
        portrait = LiveHarness.portrait();
        speech = LiveHarness.speech(4.5);
        offline = new ArrayList<>();
        Avatar.from(portrait).model(model).size(LiveHarness.SIZE, LiveHarness.SIZE).seed(SEED)
                .speak(speech, LiveHarness.RATE).start().frames().forEach(f -> offline.add(f.image().toRgbArray()));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static LiveHarness live() {
        return new LiveHarness(model, portrait, LiveOptions.defaults(), SEED);
    }

    private static void assertOffline(List<Frame> frames, long start) {
        assertThat(frames).hasSize(offline.size());
        for (int j = 0; j < frames.size(); j++) {
            assertThat(frames.get(j).image().toRgbArray()).as("frame %d", j).isEqualTo(offline.get(j));
            SpeechSpan s = frames.get(j).speech().orElseThrow();
            assertThat(s.start()).as("frame %d", j).isEqualTo(start + j * 640L);
            assertThat(s.end()).as("frame %d", j)
                    .isEqualTo(j == frames.size() - 1 ? start + speech.length : start + (j + 1) * 640L);
        }
    }

    @Test
    void anUtteranceIsShownOnceEndedAsTheOfflineGenerationOfItsAudio() {
        assertThat(offline).as("4.5 s at 25 fps").hasSize(112);
        try (LiveHarness live = live()) {
            assertThat(live.next().speech()).isEmpty();
            live.session.push(speech, LiveHarness.RATE);
            for (int i = 0; i < 30; i++) {
                assertThat(live.step().speech()).as("nothing before the end of the utterance").isEmpty();
            }
            live.session.endOfSpeech();
            assertOffline(StableAvatarLiveTest.Tiny.speaking(live, offline.size()), 0);
            assertThat(live.step().speech()).as("idle after it").isEmpty();
        }
    }

    @Test
    void piecesGiveTheSameFramesAndAnInterruptDropsTheUtterance() {
        try (LiveHarness live = live()) {
            live.next();
            live.session.push(speech, LiveHarness.RATE);
            live.session.endOfSpeech();
            StableAvatarLiveTest.Tiny.speaking(live, 5);
            live.session.interrupt();
            for (int i = 0; i < 20; i++) {
                assertThat(live.step().speech()).as("nothing of the dropped utterance").isEmpty();
            }
            for (int at = 0, n = 3_333; at < speech.length; at += n) {
                live.session.push(Arrays.copyOfRange(speech, at, Math.min(speech.length, at + n)), LiveHarness.RATE);
                live.step();
            }
            live.session.endOfSpeech();
            assertOffline(StableAvatarLiveTest.Tiny.speaking(live, offline.size()), speech.length);
        }
    }

    @Test
    void aPromptEndsTheSessionBeforeItsFirstFrame() {
        try (LiveSession s = Avatar.from(portrait).model(model).prompt("a person talking").live()) {
            assertThatThrownBy(s::await).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("no text encoder");
        }
    }
}
