package dev.avatar4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class ZeroedMemoryTest {

    @Test
    void largeTensorsComeFromCallocZeroedAlignedAndFreedOnClose() {
        // the test JVM runs with native access enabled, as docs/USER-GUIDE.md asks users to
        assertTrue(ZeroedMemory.usesCalloc(), "calloc path expected with --enable-native-access");
        long live = Tensor.liveCount();
        long floats = 3L * 81 * 64 * 64; // about 4 MB, above the threshold
        Tensor t = Tensor.allocate(DType.FLOAT32, 3, 81, 64, 64);
        MemorySegment s = t.segment();
        assertEquals(floats * 4, s.byteSize());
        assertEquals(0, s.address() % 64, "64-byte aligned");
        for (long i = 0; i < floats; i += 997) {
            assertEquals(0f, s.getAtIndex(ValueLayout.JAVA_FLOAT, i));
        }
        assertEquals(0f, s.getAtIndex(ValueLayout.JAVA_FLOAT, floats - 1));
        s.setAtIndex(ValueLayout.JAVA_FLOAT, floats - 1, 7.5f);
        assertEquals(7.5f, s.getAtIndex(ValueLayout.JAVA_FLOAT, floats - 1));
        assertEquals(live + 1, Tensor.liveCount());
        t.close();
        assertEquals(live, Tensor.liveCount());
        assertFalse(s.scope().isAlive());
        assertThrows(IllegalStateException.class, () -> s.getAtIndex(ValueLayout.JAVA_FLOAT, 0));
    }

    @Test
    void reusedMemoryIsZeroedAgain() {
        // a freed block handed out again by the C library must still read as zeros
        for (int round = 0; round < 20; round++) {
            try (Tensor t = Tensor.allocate(DType.FLOAT32, 1 << 19)) {
                MemorySegment s = t.segment();
                for (long i = 0; i < (1 << 19); i += 4093) {
                    assertEquals(0f, s.getAtIndex(ValueLayout.JAVA_FLOAT, i), "round " + round);
                }
                s.fill((byte) 0x7f);
            }
        }
    }

    @Test
    void smallAllocationsStayInTheArena() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = ZeroedMemory.allocate(arena, 100);
            assertEquals(100, s.byteSize());
            assertEquals(0, s.address() % 64);
        }
    }
}
