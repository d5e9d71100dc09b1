package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ShiftModeTest {

    @Test
    void parsesConfigurationSpellings() {
        assertThat(ShiftMode.parse("diffusers-0.30.1")).isEqualTo(ShiftMode.DIFFUSERS_0_30_1);
        assertThat(ShiftMode.parse(" Single ")).isEqualTo(ShiftMode.SINGLE);
    }

    @Test
    void rejectsAnythingElse() {
        assertThatThrownBy(() -> ShiftMode.parse("double")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("diffusers-0.30.1");
        assertThatThrownBy(() -> ShiftMode.parse("DIFFUSERS_0_30_1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ShiftMode.parse(null)).isInstanceOf(IllegalArgumentException.class);
    }
}
