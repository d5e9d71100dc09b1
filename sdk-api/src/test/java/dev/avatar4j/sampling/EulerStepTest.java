package dev.avatar4j.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class EulerStepTest {

    @Test
    void addsDtTimesVelocityInPlace() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f, 2f, 3f);
            MemorySegment v = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 0.5f, -4f, 8f);
            EulerStep.apply(x, v, -0.25f, 3);
            assertThat(x.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(0.875f, 3f, 1f);
        }
    }

    @Test
    void isFloat32Arithmetic() {
        float x0 = 0.1f;
        float v0 = 0.3f;
        float dt = -0.0041284f;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x0);
            EulerStep.apply(x, arena.allocateFrom(ValueLayout.JAVA_FLOAT, v0), dt, 1);
            assertThat(x.getAtIndex(ValueLayout.JAVA_FLOAT, 0)).isEqualTo(x0 + dt * v0);
        }
    }

    @Test
    void offsetsSelectSubranges() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 0f, 0f, 1f, 1f, 0f);
            MemorySegment v = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 9f, 2f, 4f);
            EulerStep.apply(x, 2, v, 1, 0.5f, 2);
            assertThat(x.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(0f, 0f, 2f, 3f, 0f);
            assertThatThrownBy(() -> EulerStep.apply(x, 4, v, 0, 1f, 2))
                    .isInstanceOf(IndexOutOfBoundsException.class);
        }
    }
}
