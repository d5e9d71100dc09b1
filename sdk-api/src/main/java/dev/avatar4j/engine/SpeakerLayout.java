package dev.avatar4j.engine;

import dev.avatar4j.media.AudioClip;
import java.util.ArrayList;
import java.util.List;

/**
 * Lays several speakers' tracks out in time and mixes them for the video's audio track.
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
     * @return the speakers with placed, equal-length tracks
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
        int n = Math.toIntExact(total);
        List<Speaker> out = new ArrayList<>();
        int offset = 0;
        for (Speaker s : tracks) {
            float[] placed = new float[n];
            float[] src = s.audio().samples();
            System.arraycopy(src, 0, placed, sequential ? offset : 0, src.length);
            offset += src.length;
            out.add(new Speaker(new AudioClip(placed, rate), s.x(), s.y(), s.w(), s.h()));
        }
        return out;
    }

    /**
     * The sum of equal-length tracks, clamped to [−1, 1], for muxing.
     *
     * @param speakers placed speakers (see {@link #arrange})
     * @return the mix
     */
    public static AudioClip mix(List<Speaker> speakers) {
        int n = speakers.get(0).audio().length();
        float[] m = new float[n];
        for (Speaker s : speakers) {
            float[] x = s.audio().samples();
            if (x.length != n) {
                throw new IllegalArgumentException("tracks must have equal lengths to be mixed");
            }
            for (int i = 0; i < n; i++) {
                m[i] += x[i];
            }
        }
        for (int i = 0; i < n; i++) {
            m[i] = Math.max(-1f, Math.min(1f, m[i]));
        }
        return new AudioClip(m, speakers.get(0).audio().sampleRate());
    }
}
