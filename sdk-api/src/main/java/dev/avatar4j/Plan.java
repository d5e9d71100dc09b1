package dev.avatar4j;

import dev.avatar4j.family.PlanReport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What a generation would compute, worked out from the bundle's manifest and the length of the
 * speech without loading or running a model ({@link AvatarModel#plan(Path, PlanRequest)}). The
 * numbers come from the code the family's engine itself runs with, so they are the generation's.
 *
 * <p>Every family has frames, duration, size and work units; families that sample with a diffusion
 * model also have steps, windows (the spans denoised together: StableAvatar's sliding windows,
 * LongCat's segments) and model calls; for the others these are 0. {@link #details()} holds every
 * number of the plan by name, the family's own ones included (sigmas, overlap weights, per-window
 * audio, peak latent memory …), ready to be written as JSON. Immutable.
 */
public final class Plan {
    /**
     * One speaker's track as the plan lays it out.
     *
     * @param file    the speech file
     * @param offset  where the track starts in the laid-out audio, in samples at the model's rate
     * @param samples the track's own length in samples at the model's rate
     */
    public record Track(Path file, long offset, long samples) {
    }

    private final PlanReport report;
    private final List<Track> tracks;

    Plan(PlanReport report, List<Track> tracks) {
        this.report = report;
        this.tracks = List.copyOf(tracks);
    }

    /** {@return the model family that would run, e.g. {@code "stableavatar"}} */
    public String family() {
        return report.family();
    }

    /** {@return the speech samples the plan covers (the laid-out tracks), at the model's rate} */
    public long audioSamples() {
        return report.audioSamples();
    }

    /** {@return the model's audio sample rate in Hz} */
    public int sampleRate() {
        return report.sampleRate();
    }

    /** {@return the output frame rate} */
    public int fps() {
        return report.fps();
    }

    /** {@return the frames the generation delivers} */
    public int frames() {
        return report.frames();
    }

    /** {@return the length of the video, frames / fps} */
    public Duration duration() {
        return Duration.ofNanos(Math.round(report.frames() * 1e9 / report.fps()));
    }

    /** {@return the video width in pixels} */
    public int width() {
        return report.width();
    }

    /** {@return the video height in pixels} */
    public int height() {
        return report.height();
    }

    /** {@return whether the family samples with a diffusion model (steps, windows and model calls are 0 if not)} */
    public boolean diffusion() {
        return report.diffusion();
    }

    /** {@return the denoising steps, or 0 without diffusion} */
    public int steps() {
        return report.steps();
    }

    /** {@return the spans denoised together (sliding windows or segments), or 0 without diffusion} */
    public int windows() {
        return report.windows();
    }

    /** {@return the forward passes of the denoising model (all guidance branches of a pass count once), or 0} */
    public long modelCalls() {
        return report.modelCalls();
    }

    /** {@return the work units that {@link Progress} counts for this generation} */
    public long workUnits() {
        return report.workUnits();
    }

    /** {@return the speakers' tracks as laid out (one for a single speech file)} */
    public List<Track> tracks() {
        return tracks;
    }

    /**
     * Every number of the plan by name, in a stable order per family: the values are numbers
     * ({@code Integer}, {@code Long}, {@code Double}, and {@code Float} for the float32 values the
     * model sees), strings, booleans, and lists or maps of them, so a JSON writer writes it as is.
     *
     * @return an unmodifiable map
     */
    public Map<String, Object> details() {
        return report.details();
    }

    /**
     * The plan in a few lines a person reads, starting with the video (frames, rate, size), then
     * the family's work and its cost.
     *
     * @return unmodifiable lines
     */
    public List<String> summary() {
        return report.summary();
    }

    @Override
    public String toString() {
        return "Plan[" + family() + ", " + frames() + " frames at " + fps() + " fps, " + width() + "x" + height()
                + (diffusion() ? ", " + steps() + " steps, " + windows() + " windows, " + modelCalls()
                + " model calls" : "") + "]";
    }
}
