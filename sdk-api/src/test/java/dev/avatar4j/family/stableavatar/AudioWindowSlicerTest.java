package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Golden values: docs/REFERENCE.md Appendix A blocks E and L. */
class AudioWindowSlicerTest {

    @Test
    void latentFramesFromSampleCount() {
        assertThat(AudioWindowSlicer.latentFrames(80_000, 640, 4)).isEqualTo(32);
        assertThat(AudioWindowSlicer.latentFrames(48_000, 640, 4)).isEqualTo(19);   // 3 s
        assertThat(AudioWindowSlicer.latentFrames(52_800, 640, 4)).isEqualTo(21);   // 3.3 s
        assertThat(AudioWindowSlicer.latentFrames(64_000, 640, 4)).isEqualTo(25);   // 4 s
        assertThat(AudioWindowSlicer.latentFrames(160_000, 640, 4)).isEqualTo(63);  // 10 s
        assertThat(AudioWindowSlicer.latentFrames(960_000, 640, 4)).isEqualTo(375); // 60 s
        assertThat(AudioWindowSlicer.latentFrames(640, 640, 4)).isEqualTo(1);
        assertThat(AudioWindowSlicer.latentFrames(639, 640, 4)).isZero(); // (0 - 1)//4 + 1 in Python
    }

    @Test
    void fiveSecondExampleHead() {
        long total = 80_000;
        List<Window> ws = WindowPlan.create(32, 21, 5).windows();
        long[] first = AudioWindowSlicer.sliceSamples(ws.get(0), 32, total, 640, 4, 84, TailMode.REFERENCE);
        long[] last = AudioWindowSlicer.sliceSamples(ws.get(1), 32, total, 640, 4, 84, TailMode.REFERENCE);
        assertThat(first).containsExactly(0, 53_760);
        assertThat(last).containsExactly(40_960, 80_000);
        assertThat(Wav2Vec2Geometry.tokenCount(first[1] - first[0])).isEqualTo(167);
        assertThat(Wav2Vec2Geometry.tokenCount(last[1] - last[0])).isEqualTo(121);
        assertThat(AudioTokenIndex.windowTokens(167, 81)).isEqualTo(17);
        assertThat(AudioTokenIndex.windowTokens(121, 81)).isEqualTo(13);
    }

    @Test
    void oldEightyOneFrameSlices() {
        Window w = new Window(0, 0, 21);
        assertThat(AudioWindowSlicer.sliceSamples(w, 32, 80_000, 640, 4, 81, TailMode.REFERENCE))
                .containsExactly(0, 51_840);
    }

    @Test
    void correctedTailKeepsTheFullWindowDuration() {
        Window tail = new Window(1, 16, 32);
        long[] r = AudioWindowSlicer.sliceSamples(tail, 32, 80_000, 640, 4, 84, TailMode.CORRECTED);
        assertThat(r).containsExactly(40_960, 40_960 + 53_760); // past the end: zero-padded by the caller
        assertThat(Wav2Vec2Geometry.tokenCount(r[1] - r[0])).isEqualTo(167);
        // Not-last windows are the same in both modes.
        Window head = new Window(0, 0, 21);
        assertThat(AudioWindowSlicer.sliceSamples(head, 32, 80_000, 640, 4, 84, TailMode.CORRECTED))
                .containsExactly(AudioWindowSlicer.sliceSamples(head, 32, 80_000, 640, 4, 84, TailMode.REFERENCE));
    }

    @Test
    void middleWindowsOfALongPlan() {
        // 10 s, ov 5: [0,21) [16,37) [32,53) [48,63)
        List<Window> ws = WindowPlan.create(63, 21, 5).windows();
        assertThat(AudioWindowSlicer.sliceSamples(ws.get(2), 63, 160_000, 640, 4, 84, TailMode.REFERENCE))
                .containsExactly(32 * 2560, 32 * 2560 + 53_760);
        assertThat(AudioWindowSlicer.sliceSamples(ws.get(3), 63, 160_000, 640, 4, 84, TailMode.REFERENCE))
                .containsExactly(48 * 2560, 160_000);
    }

    @Test
    void singleWindowIsTheLastWindow() {
        Window only = new Window(0, 0, 19);
        assertThat(AudioWindowSlicer.sliceSamples(only, 19, 48_000, 640, 4, 84, TailMode.REFERENCE))
                .containsExactly(0, 48_000);
        assertThat(AudioWindowSlicer.sliceSamples(only, 19, 48_000, 640, 4, 84, TailMode.CORRECTED))
                .containsExactly(0, 53_760);
    }

    @Test
    void rejectsWindowsOutsideTheAudio() {
        assertThatThrownBy(() -> AudioWindowSlicer.sliceSamples(new Window(0, 0, 21), 20, 80_000, 640, 4, 84,
                TailMode.REFERENCE)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AudioWindowSlicer.sliceSamples(new Window(1, 40, 50), 50, 80_000, 640, 4, 84,
                TailMode.REFERENCE)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("beyond");
    }
}
