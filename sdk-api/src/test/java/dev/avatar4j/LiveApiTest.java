package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.TestMedia;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link Avatar#live} refuses up front, and the options' checks (the sessions themselves: sdk-runtime-onnx). */
class LiveApiTest {
    @TempDir
    static Path dir;
    static AvatarModel stableAvatar;

    @BeforeAll
    static void load() throws Exception {
        stableAvatar = AvatarModel.builder(FakeBundles.write(dir.resolve("bundle"))).backend("fake").load();
    }

    @AfterAll
    static void close() {
        stableAvatar.close();
    }

    @Test
    void aStableAvatarModelRunsALiveSession() {
        try (LiveSession live = Avatar.from(TestMedia.gradient(64, 64)).model(stableAvatar).size(64, 64).steps(1)
                .live()) {
            assertThat(live.isOpen()).isTrue();
        }
    }

    @Test
    void speechGivenUpFrontIsRefused() {
        Avatar withSpeech = Avatar.from(TestMedia.gradient(64, 64)).speak(new float[100], 16_000).model(stableAvatar);
        assertThatThrownBy(withSpeech::live).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("push(");
    }

    @Test
    void optionsAreImmutableAndChecked() {
        LiveOptions d = LiveOptions.defaults();
        LiveOptions o = d.slowConsumer(LiveOptions.SlowConsumer.BACK_PRESSURE).frameBuffer(3)
                .maxQueuedSpeech(Duration.ofSeconds(2));
        assertThat(d.slowConsumer()).isEqualTo(LiveOptions.SlowConsumer.DROP_OLDEST);
        assertThat(d.frameBuffer()).isEqualTo(LiveOptions.DEFAULT_FRAME_BUFFER);
        assertThat(o.slowConsumer()).isEqualTo(LiveOptions.SlowConsumer.BACK_PRESSURE);
        assertThat(o.frameBuffer()).isEqualTo(3);
        assertThat(o.maxQueuedSpeech()).isEqualTo(Duration.ofSeconds(2));
        assertThat(o).isEqualTo(d.frameBuffer(3).maxQueuedSpeech(Duration.ofSeconds(2))
                .slowConsumer(LiveOptions.SlowConsumer.BACK_PRESSURE));
        assertThat(d.lowLatency()).isFalse();
        LiveOptions fast = o.lowLatency(true);
        assertThat(fast.lowLatency()).isTrue();
        assertThat(fast.frameBuffer()).isEqualTo(3);
        assertThat(o.lowLatency()).as("unchanged").isFalse();
        assertThat(fast).isNotEqualTo(o).isEqualTo(o.lowLatency(true)).hasSameHashCodeAs(o.lowLatency(true));
        assertThat(fast.lowLatency(false)).isEqualTo(o);
        assertThatThrownBy(() -> d.frameBuffer(0)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> d.maxQueuedSpeech(Duration.ofMillis(10))).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> d.maxQueuedSpeech(Duration.ofHours(2))).isInstanceOf(InvalidInputException.class);
    }

    @Test
    void spansConvertToOtherRatesConsecutively() {
        SpeechSpan a = new SpeechSpan(0, 640, 16_000);
        SpeechSpan b = new SpeechSpan(640, 1280, 16_000);
        assertThat(a.endAt(24_000)).isEqualTo(b.startAt(24_000)).isEqualTo(960);
        assertThat(b.startTime()).isEqualTo(Duration.ofMillis(40));
        assertThat(b.length()).isEqualTo(640);
        assertThatThrownBy(() -> new SpeechSpan(5, 5, 16_000)).isInstanceOf(IllegalArgumentException.class);
    }
}
