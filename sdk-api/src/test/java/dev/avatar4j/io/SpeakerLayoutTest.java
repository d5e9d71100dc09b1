package dev.avatar4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.media.AudioClip;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpeakerLayoutTest {

    private static Speaker sp(float[] x, double left) {
        return new Speaker(new AudioClip(x, 16000), left, 0, 0.5, 1);
    }

    @Test
    void parallelOverlapsAndPadsShorterTracks() {
        List<Speaker> out = SpeakerLayout.arrange(List.of(sp(new float[] {1, 2, 3}, 0), sp(new float[] {4}, 0.5)),
                false);
        assertThat(out.get(0).audio().clip().samples()).containsExactly(1, 2, 3);
        assertThat(out.get(1).audio().clip().samples()).containsExactly(4, 0, 0);
        assertThat(out.get(1).x()).isEqualTo(0.5);
    }

    @Test
    void sequentialTakesTurnsAndSilentPersonsStaySilent() {
        List<Speaker> out = SpeakerLayout.arrange(List.of(sp(new float[] {1, 2}, 0), sp(new float[] {3, 4, 5}, 0.5),
                sp(new float[0], 0.25)), true);
        assertThat(out.get(0).audio().clip().samples()).containsExactly(1, 2, 0, 0, 0);
        assertThat(out.get(1).audio().clip().samples()).containsExactly(0, 0, 3, 4, 5);
        assertThat(out.get(2).audio().clip().samples()).containsExactly(0, 0, 0, 0, 0);
    }

    @Test
    void mixSumsAndClamps() {
        AudioClip m = SpeakerLayout.mix(List.of(sp(new float[] {0.5f, 0.75f, -0.9f}, 0),
                sp(new float[] {0.25f, 0.5f, -0.5f}, 0.5))).clip();
        assertThat(m.samples()).containsExactly(0.75f, 1f, -1f);
        assertThat(m.sampleRate()).isEqualTo(16000);
    }

    @Test
    void placedTracksAndTheMixReadByRangeAndAsAStream() {
        List<Speaker> out = SpeakerLayout.arrange(List.of(sp(new float[] {0.1f, 0.2f}, 0),
                sp(new float[] {0.3f, 0.4f, 0.5f}, 0.5)), true);
        float[] r = new float[4];
        out.get(1).audio().read(1, r, 0, 4); // straddles the start of the turn and reads past the end
        assertThat(r).containsExactly(0f, 0.3f, 0.4f, 0.5f);
        out.get(1).audio().read(-2, r, 0, 4);
        assertThat(r).containsExactly(0f, 0f, 0f, 0f);
        AudioSource mix = SpeakerLayout.mix(out);
        float[] streamed = new float[5];
        try (var stream = mix.stream()) {
            int at = 0;
            int n;
            while ((n = stream.read(streamed, at, Math.min(2, streamed.length - at))) > 0) {
                at += n;
            }
            assertThat(at).isEqualTo(5);
            assertThat(stream.read(new float[1], 0, 1)).isEqualTo(-1);
        }
        assertThat(streamed).containsExactly(0.1f, 0.2f, 0.3f, 0.4f, 0.5f);
        assertThat(mix.inMemory()).isFalse();
    }

    @Test
    void rejectsMismatchedRatesAndNoSpeakers() {
        assertThatThrownBy(() -> SpeakerLayout.arrange(List.of(), false)).isInstanceOf(IllegalArgumentException.class);
        Speaker other = new Speaker(new AudioClip(new float[2], 8000), 0, 0, 1, 1);
        assertThatThrownBy(() -> SpeakerLayout.arrange(List.of(sp(new float[2], 0), other), false))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void speakerMaskFollowsLatentPixelCentres() {
        Speaker s = new Speaker(new AudioClip(new float[1], 16000), 0.5, 0, 0.5, 1);
        float[] m = s.mask(2, 4);
        assertThat(m).containsExactly(0, 0, 1, 1, 0, 0, 1, 1);
        float[] corner = new Speaker(new AudioClip(new float[1], 16000), 0, 0, 0.3, 0.5).mask(2, 4);
        assertThat(corner).containsExactly(1, 0, 0, 0, 0, 0, 0, 0);
    }
}
