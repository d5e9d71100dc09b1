package dev.avatar4j.family.preview;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/** A live session's open-ended blinks are the blinks of a clip of any length with the same seed. */
class BlinkStreamTest {

    @Property(tries = 20)
    void theStreamBlinksAsTheSeededScheduleDoes(@ForAll long seed) {
        BlinkSchedule whole = BlinkSchedule.seeded(seed, 120);
        BlinkSchedule.Stream live = BlinkSchedule.stream(seed);
        int blinks = 0;
        for (int f = 0; f < 120 * 25; f++) {
            double t = f / 25.0;
            double c = live.closure(t);
            assertThat(c).as("frame %d", f).isEqualTo(whole.closure(t));
            if (c == 1) {
                blinks++;
            }
        }
        assertThat(blinks).as("it does blink").isPositive();
    }
}
