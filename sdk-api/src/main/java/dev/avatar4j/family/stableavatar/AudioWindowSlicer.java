package dev.avatar4j.family.stableavatar;


/**
 * Which audio samples each DWSW window hears (docs/REFERENCE.md §1.1 steps 3–4). A latent frame
 * covers {@code temporalStride} (4) video frames of {@code samplesPerFrame} (640 = 16000/25)
 * samples, so a window starting at latent s starts at sample {@code s·4·640}.
 */
public final class AudioWindowSlicer {

    private AudioWindowSlicer() {
    }

    /**
     * The sample range {@code [from, to)} of a window.
     * <ul>
     *   <li>Not the last window: {@code sliceFrames·samplesPerFrame} samples from the start, i.e. a
     *       full window's audio. The reference's current code uses {@code window_latents·4} = 84
     *       frames (53 760 samples); before its PR #37 it used {@code clip_length} = 81 frames
     *       (51 840 samples), which is also what training used.</li>
     *   <li>Last window ({@code w.end() == totalLatents}), {@link TailMode#REFERENCE}: from the
     *       start to the end of the audio.</li>
     *   <li>Last window, {@link TailMode#CORRECTED}: the same length as a full window;
     *       {@code to} may exceed {@code totalSamples}, and the caller zero-pads the missing part.</li>
     * </ul>
     * A plan with a single window makes that window the last one.
     *
     * @param w the window
     * @param totalLatents T, the length of the latent timeline
     * @param totalSamples number of 16 kHz samples in the audio
     * @param samplesPerFrame audio samples per video frame (640)
     * @param temporalStride video frames per latent frame (4)
     * @param sliceFrames video frames of audio per full window (84 at reference HEAD, 81 before)
     * @param mode how the last window is sliced
     * @return {@code {from, to}}
     * @throws IllegalArgumentException if the window lies outside the timeline or its audio start
     *     lies beyond the end of the audio
     */
    public static long[] sliceSamples(Window w, int totalLatents, long totalSamples, int samplesPerFrame,
                                      int temporalStride, int sliceFrames, TailMode mode) {
        if (w.end() > totalLatents) {
            throw new IllegalArgumentException("window " + w + " ends after the timeline (" + totalLatents + ")");
        }
        if (samplesPerFrame < 1 || temporalStride < 1 || sliceFrames < 1) {
            throw new IllegalArgumentException("samplesPerFrame, temporalStride and sliceFrames must be >= 1");
        }
        long from = (long) w.start() * temporalStride * samplesPerFrame;
        if (from >= totalSamples) {
            throw new IllegalArgumentException("window " + w + " starts at sample " + from
                    + ", beyond the audio (" + totalSamples + " samples)");
        }
        long full = (long) sliceFrames * samplesPerFrame;
        boolean last = w.end() == totalLatents;
        long to = (last && mode == TailMode.REFERENCE) ? totalSamples : from + full;
        return new long[] {from, to};
    }

    /**
     * Length T of the latent timeline for an audio of {@code totalSamples} samples, as the reference
     * computes it: {@code frames = floor(samples/samplesPerFrame)}, {@code T = (frames − 1)//4 + 1}
     * (Python floor division, so 0 frames give T = 0). 80 000 samples → 32; 60 s → 375.
     *
     * @param totalSamples number of 16 kHz samples, ≥ 0
     * @param samplesPerFrame audio samples per video frame (640)
     * @param temporalStride video frames per latent frame (4)
     * @return T, ≥ 0
     */
    public static int latentFrames(long totalSamples, int samplesPerFrame, int temporalStride) {
        if (totalSamples < 0 || samplesPerFrame < 1 || temporalStride < 1) {
            throw new IllegalArgumentException("invalid audio geometry: " + totalSamples + " samples, "
                    + samplesPerFrame + " per frame, stride " + temporalStride);
        }
        long frames = totalSamples / samplesPerFrame;
        return Math.toIntExact(Math.floorDiv(frames - 1, temporalStride) + 1);
    }
}
