package dev.avatar4j.io;

import java.util.ArrayList;
import java.util.List;

/**
 * Lays several speakers' tracks out in time and mixes them for the video's audio track, without
 * copying samples: placed tracks and the mix are views over the speakers' {@link AudioSource}s
 * that read them by range, so streamed tracks of any length stay streamed.
 */
public final class SpeakerLayout {
    private SpeakerLayout() {
    }

    /**
     * Places each track: in parallel every track starts at 0; sequentially each starts where the
     * previous one ended. Every result has the same length (the total), silent outside its track.
     *
     * @param tracks speakers with their own tracks, all at one sample rate
     * @param sequential turn-taking instead of overlapping
     * @return the speakers with placed, equal-length tracks (closing one closes the original track)
     */
    public static List<Speaker> arrange(List<Speaker> tracks, boolean sequential) {
        if (tracks.isEmpty()) {
            throw new IllegalArgumentException("no speakers");
        }
        int rate = tracks.get(0).audio().sampleRate();
        long total = 0;
        for (Speaker s : tracks) {
            if (s.audio().sampleRate() != rate) {
                throw new IllegalArgumentException("speaker tracks must share one sample rate");
            }
            total = sequential ? total + s.audio().length() : Math.max(total, s.audio().length());
        }
        List<Speaker> out = new ArrayList<>();
        long offset = 0;
        for (Speaker s : tracks) {
            out.add(s.withAudio(AudioSource.placed(s.audio(), sequential ? offset : 0, total)));
            offset += s.audio().length();
        }
        return out;
    }

    /**
     * The sum of equal-length tracks, clamped to [−1, 1], for muxing; read by range from forks of
     * the tracks (see {@link AudioSource#mix}).
     *
     * @param speakers placed speakers (see {@link #arrange})
     * @return the mix
     */
    public static AudioSource mix(List<Speaker> speakers) {
        long n = speakers.get(0).audio().length();
        List<AudioSource> tracks = new ArrayList<>();
        for (Speaker s : speakers) {
            if (s.audio().length() != n) {
                throw new IllegalArgumentException("tracks must have equal lengths to be mixed");
            }
            tracks.add(s.audio());
        }
        return AudioSource.mix(tracks);
    }
}
