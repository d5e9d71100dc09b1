package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.media.RgbImage;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Every argument error of the public builders and values is an {@link InvalidInputException}
 * with a message saying what to fix (some threw {@link IllegalArgumentException} before).
 */
class ArgumentErrorsTest {
    private static final RgbImage IMAGE = RgbImage.of(2, 2, new byte[12]);

    @Test
    void avatarSetters() {
        Avatar a = Avatar.from(IMAGE);
        assertThatThrownBy(() -> a.frameBuffer(0)).isExactlyInstanceOf(InvalidInputException.class)
                .hasMessageContaining("frameBuffer must be >= 1, got 0");
        assertThatThrownBy(() -> a.speak(new float[4], 0)).isExactlyInstanceOf(InvalidInputException.class)
                .hasMessageContaining("sample rate").hasMessageContaining("got 0");
        assertThatThrownBy(() -> a.speaker(new float[4], -1)).isExactlyInstanceOf(InvalidInputException.class)
                .hasMessageContaining("got -1");
        assertThatThrownBy(() -> a.speaker(Region.leftHalf(), new float[4], 0))
                .isExactlyInstanceOf(InvalidInputException.class);
        assertThat(a.frameBuffer(1).speak(new float[4], 16_000)).isNotNull();
    }

    @Test
    void dubSetters() {
        Dub d = Avatar.dub(Path.of("video.mp4"));
        assertThatThrownBy(() -> d.speak(new float[4], 0)).isExactlyInstanceOf(InvalidInputException.class)
                .hasMessageContaining("sample rate");
        assertThat(d.speak(new float[4], 16_000)).isNotNull();
    }

    @Test
    void modelBuilder() {
        assertThatThrownBy(() -> AvatarModel.builder(Path.of("bundle")).threads(-1))
                .isExactlyInstanceOf(InvalidInputException.class).hasMessageContaining("threads must be >= 0");
    }

    @Test
    void regionDefaults() {
        assertThatThrownBy(() -> Region.defaultFor(2, 2)).isExactlyInstanceOf(InvalidInputException.class)
                .hasMessageContaining("person 2 of 2");
        assertThatThrownBy(() -> Region.defaultFor(-1, 1)).isExactlyInstanceOf(InvalidInputException.class);
    }

    @Test
    void frames() {
        assertThatThrownBy(() -> new Frame(-1, 25, IMAGE)).isExactlyInstanceOf(InvalidInputException.class)
                .hasMessageContaining("index -1");
        assertThatThrownBy(() -> new Frame(0, 0, IMAGE)).isExactlyInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> new Frame(0, Double.NaN, IMAGE)).isExactlyInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> new Frame(0, 25, null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void aFrameHoldsItsImage() {
        RgbImage img = RgbImage.of(2, 1, new byte[] {1, 2, 3, 4, 5, 6});
        Frame f = new Frame(3, 25, img);
        assertThat(f.image()).isSameAs(img);
        assertThat(f.width()).isEqualTo(2);
        assertThat(f.height()).isEqualTo(1);
        assertThat(f.image().rgb(1, 0)).isEqualTo(0x040506);
        assertThat(f.timestamp().toMillis()).isEqualTo(120);
        assertThat(f.toString()).isEqualTo("Frame[3, 2x1]");
    }
}
