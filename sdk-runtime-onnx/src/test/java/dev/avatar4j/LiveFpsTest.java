package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.media.RgbImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link LiveOptions#fps(int)}: the preview family runs live at the rate asked (frames paced at it by
 * the test clock, each showing {@code 1/fps} s of speech, consecutive and covering all of it); the
 * diffusion families refuse a rate other than their model's, naming it, and accept their own.
 */
class LiveFpsTest {
    private static final int FPS = 30;

    @Test
    void thePreviewFamilyRunsAtTheRateAskedAndItsSpansCoverTheSpeech() {
        RgbImage portrait = LiveHarness.portrait();
        float[] speech = LiveHarness.speech(1.5);
        try (AvatarModel model = AvatarModel.load(LiveHarness.BUNDLE);
             LiveHarness live = new LiveHarness(model, portrait, LiveOptions.defaults().fps(FPS), 3)) {
            List<Frame> frames = new ArrayList<>();
            frames.add(live.next());
            live.settle();
            // ten periods of 30 fps at once (a third of a second: within the catch-up) make ten frames due,
            // where a session paced at the model's 25 fps would make eight
            live.now.addAndGet(10 * live.period);
            for (int i = 0; i < 10; i++) {
                frames.add(live.next());
            }
            live.settle();
            assertThat(live.frames).as("no eleventh frame before its time").isEmpty();
            live.session.push(speech, LiveHarness.RATE);
            live.session.endOfSpeech();
            int speaking = (int) Math.ceilDiv((long) speech.length * FPS, LiveHarness.RATE);
            for (int i = 0; i < speaking + 3; i++) {
                frames.add(live.step());
            }
            long at = 0;
            int spoke = 0;
            for (int i = 0; i < frames.size(); i++) {
                Frame f = frames.get(i);
                assertThat(f.index()).isEqualTo(i);
                assertThat(f.fps()).isEqualTo(FPS);
                assertThat(f.timestamp().toNanos()).isBetween(i * 1_000_000_000L / FPS, i * 1_000_000_000L / FPS + 1);
                if (f.speech().isPresent()) {
                    SpeechSpan s = f.speech().get();
                    assertThat(s.start()).as("frame %d starts where the last speaking one ended", i).isEqualTo(at);
                    long expectedEnd = Math.min(speech.length, (long) (spoke + 1) * LiveHarness.RATE / FPS);
                    assertThat(s.end()).as("frame %d shows 1/30 s of speech", i).isEqualTo(expectedEnd);
                    at = s.end();
                    spoke++;
                }
            }
            assertThat(at).as("every pushed sample is shown").isEqualTo(speech.length);
            assertThat(spoke).isEqualTo(speaking);
            assertThat(frames.subList(frames.size() - 3, frames.size())).allSatisfy(f -> assertThat(f.speech()).isEmpty());
        }
    }

    @Test
    void diffusionModelsRefuseAnotherRateNamingTheirOwnAndAcceptTheirOwn() {
        RgbImage portrait = LiveHarness.portrait();
        for (String name : List.of("stableavatar-tiny", "longcat-avatar-tiny")) {
            try (AvatarModel model = AvatarModel.load(Path.of("..", "models", name))) {
                Avatar request = Avatar.from(portrait).model(model).size(LiveHarness.SIZE, LiveHarness.SIZE);
                assertThatThrownBy(() -> request.live(FPS)).as(name).isInstanceOf(InvalidInputException.class)
                        .hasMessageContaining("renders at 25 fps").hasMessageContaining("at 30 fps");
                assertThatThrownBy(() -> request.live(LiveOptions.defaults().fps(24))).as(name)
                        .isInstanceOf(InvalidInputException.class).hasMessageContaining("renders at 25 fps");
                try (LiveSession session = request.live(25)) {
                    assertThat(session.isOpen()).isTrue();
                }
            }
        }
    }

    @Test
    void outOfRangeRatesAreRefused() {
        assertThatThrownBy(() -> LiveOptions.defaults().fps(121)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("1..120");
        assertThatThrownBy(() -> LiveOptions.defaults().fps(-1)).isInstanceOf(InvalidInputException.class);
        assertThat(LiveOptions.defaults().fps(30).fps()).isEqualTo(30);
        assertThat(LiveOptions.defaults().fps()).isZero();
        assertThat(LiveOptions.defaults().fps(30)).isNotEqualTo(LiveOptions.defaults())
                .isEqualTo(LiveOptions.defaults().fps(30));
        assertThatThrownBy(() -> Avatar.from(LiveHarness.portrait()).live(0)).isInstanceOf(InvalidInputException.class);
    }
}
