package dev.avatar4j;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What to plan ({@link AvatarModel#plan(Path, PlanRequest)}): the speech, and the options a
 * generation would be started with. Options left unset take the model's defaults; options that the
 * model's family does not have (the overlap of a family without sliding windows, the steps of one
 * without diffusion) are ignored, and the {@link Plan} says what was planned. Immutable: every
 * {@code with}-style call returns a new request.
 */
public final class PlanRequest {
    private final List<Path> speech;
    private final AudioMode audioMode;
    private final Integer steps;
    private final Integer overlap;
    private final String weights;
    private final Integer width;
    private final Integer height;
    private final Double shift;

    private PlanRequest(List<Path> speech, AudioMode audioMode, Integer steps, Integer overlap, String weights,
                        Integer width, Integer height, Double shift) {
        this.speech = speech;
        this.audioMode = audioMode;
        this.steps = steps;
        this.overlap = overlap;
        this.weights = weights;
        this.width = width;
        this.height = height;
        this.shift = shift;
    }

    /**
     * A plan for one speech file.
     *
     * @param speech the speech (any format the installed codecs read)
     * @return the request
     * @throws NullPointerException if {@code speech} is null
     */
    public static PlanRequest audio(Path speech) {
        return new PlanRequest(List.of(Objects.requireNonNull(speech, "speech")), AudioMode.PARALLEL, null, null,
                null, null, null, null);
    }

    /**
     * A plan for several speakers' tracks, laid out as a generation lays them out (only
     * multi-person families accept more than one).
     *
     * @param tracks one speech file per speaker, at least one
     * @param mode how the tracks are laid out in time
     * @return the request
     * @throws InvalidInputException if there is no track
     * @throws NullPointerException if a track or {@code mode} is null
     */
    public static PlanRequest speakers(List<Path> tracks, AudioMode mode) {
        List<Path> copy = List.copyOf(tracks);
        if (copy.isEmpty()) {
            throw new InvalidInputException("give at least one speaker's track");
        }
        return new PlanRequest(copy, Objects.requireNonNull(mode, "mode"), null, null, null, null, null, null);
    }

    /**
     * Denoising steps.
     *
     * @param n the steps (checked by the family when planning)
     * @return a request with {@code n} steps
     */
    public PlanRequest steps(int n) {
        return new PlanRequest(speech, audioMode, n, overlap, weights, width, height, shift);
    }

    /**
     * Latent frames shared by consecutive sliding windows (families with sliding windows).
     *
     * @param n the overlap (checked by the family when planning)
     * @return a request with overlap {@code n}
     */
    public PlanRequest overlap(int n) {
        return new PlanRequest(speech, audioMode, steps, n, weights, width, height, shift);
    }

    /**
     * The overlap blend weights, {@code "log"} or {@code "uniform"} (families with sliding windows).
     *
     * @param scheme the scheme name (checked by the family when planning)
     * @return a request with these weights
     */
    public PlanRequest weights(String scheme) {
        return new PlanRequest(speech, audioMode, steps, overlap, scheme, width, height, shift);
    }

    /**
     * The video width.
     *
     * @param w the width (checked by the family when planning)
     * @return a request with this width
     */
    public PlanRequest width(int w) {
        return new PlanRequest(speech, audioMode, steps, overlap, weights, w, height, shift);
    }

    /**
     * The video height.
     *
     * @param h the height (checked by the family when planning)
     * @return a request with this height
     */
    public PlanRequest height(int h) {
        return new PlanRequest(speech, audioMode, steps, overlap, weights, width, h, shift);
    }

    /**
     * The flow-matching time shift (families whose bundles let it be overridden: longcat-avatar).
     *
     * @param s the shift, finite and &gt; 0
     * @return a request with this shift
     */
    public PlanRequest shift(double s) {
        return new PlanRequest(speech, audioMode, steps, overlap, weights, width, height, s);
    }

    List<Path> speech() {
        return speech;
    }

    AudioMode audioMode() {
        return audioMode;
    }

    Integer stepsOrNull() {
        return steps;
    }

    Integer overlapOrNull() {
        return overlap;
    }

    String weightsOrNull() {
        return weights;
    }

    Integer widthOrNull() {
        return width;
    }

    Integer heightOrNull() {
        return height;
    }

    Double shiftOrNull() {
        return shift;
    }
}
