package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class Wav2Vec2GeometryTest {

    @Test
    void appendixAExamples() {
        assertThat(Wav2Vec2Geometry.tokenCount(51_840)).isEqualTo(161); // 81 frames
        assertThat(Wav2Vec2Geometry.tokenCount(53_760)).isEqualTo(167); // 84 frames
        assertThat(Wav2Vec2Geometry.tokenCount(39_040)).isEqualTo(121); // 5 s tail window
    }

    @Test
    void tooShortGivesZero() {
        assertThat(Wav2Vec2Geometry.tokenCount(0)).isZero();
        assertThat(Wav2Vec2Geometry.tokenCount(9)).isZero();
        assertThat(Wav2Vec2Geometry.tokenCount(399)).isZero();
        assertThat(Wav2Vec2Geometry.tokenCount(400)).isEqualTo(1);
        assertThatThrownBy(() -> Wav2Vec2Geometry.tokenCount(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    /** Receptive field 400 samples, hop 320: the seven floors collapse to one (checked with Python to 20 000). */
    @Property(tries = 300)
    void closedForm(@ForAll @LongRange(min = 400, max = 100_000_000) long samples) {
        assertThat(Wav2Vec2Geometry.tokenCount(samples)).isEqualTo((int) ((samples - 400) / 320 + 1));
    }
}
