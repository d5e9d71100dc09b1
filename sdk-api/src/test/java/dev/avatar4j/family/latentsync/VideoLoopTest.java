package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class VideoLoopTest {

    @Test
    void pingPongTurnsOnTheEndFrames() {
        List<Integer> v = VideoLoop.pingPong(List.of(10, 11, 12), 10);
        assertThat(v).containsExactly(10, 11, 12, 12, 11, 10, 10, 11, 12, 12);
    }

    @Test
    void longerVideoIsOnlyCut() {
        assertThat(VideoLoop.pingPong(List.of(1, 2, 3, 4, 5), 3)).containsExactly(1, 2, 3);
        assertThat(VideoLoop.pingPong(List.of(7), 4)).containsExactly(7, 7, 7, 7);
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> VideoLoop.pingPong(List.of(), 3)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> VideoLoop.pingPong(List.of(1), -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> VideoLoop.pingPong(List.of(1), 2).get(2)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> VideoLoop.sourceIndex(-1, 3)).isInstanceOf(IllegalArgumentException.class);
    }

    /** Same as the reference's construction: concatenate the frames and their reverse alternately, then cut. */
    @Property(tries = 300)
    void equalsAlternatingConcatenation(@ForAll @IntRange(min = 1, max = 30) int n,
                                        @ForAll @IntRange(min = 0, max = 200) int count) {
        List<Integer> frames = IntStream.range(0, n).boxed().toList();
        List<Integer> concat = new ArrayList<>();
        for (int loop = 0; concat.size() < count; loop++) {
            List<Integer> copy = new ArrayList<>(frames);
            if (loop % 2 == 1) {
                java.util.Collections.reverse(copy);
            }
            concat.addAll(copy);
        }
        assertThat(VideoLoop.pingPong(frames, count)).containsExactlyElementsOf(concat.subList(0, count));
    }
}
