package dev.avatar4j.family;

import java.util.List;
import java.util.Map;

/**
 * What a family's planner reports about one generation, before any model is loaded: the numbers
 * every family has, the family's own numbers by name (JSON-ready, in a stable order) and a few
 * lines a person reads. The generation runner's public {@code dev.avatar4j.Plan} is made from it.
 *
 * @param family       the bundle's family id
 * @param audioSamples audio samples the plan covers (the laid-out speech), at the model's rate
 * @param sampleRate   the model's audio sample rate
 * @param fps          output frame rate
 * @param frames       output frames
 * @param width        output width
 * @param height       output height
 * @param diffusion    whether the family samples with a diffusion model
 * @param steps        denoising steps (0 without diffusion)
 * @param windows      the spans denoised together: sliding windows or segments (0 without diffusion)
 * @param modelCalls   forward passes of the denoising model (0 without diffusion)
 * @param workUnits    the work units progress counts
 * @param details      every number of the plan by name; values are numbers, strings, booleans and
 *                     lists or maps of them
 * @param summary      the plan in a few lines of text, starting with the video
 */
public record PlanReport(String family, long audioSamples, int sampleRate, int fps, int frames, int width,
                         int height, boolean diffusion, int steps, int windows, long modelCalls, long workUnits,
                         Map<String, Object> details, List<String> summary) {
    /** Copies the collections. */
    public PlanReport {
        details = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(details));
        summary = List.copyOf(summary);
    }

    /** {@code String.format} in the root locale, as the summaries are written. */
    public static String format(String pattern, Object... args) {
        return String.format(java.util.Locale.ROOT, pattern, args);
    }

    /** Boxed float32 values: a JSON writer writes a {@link Float} as its shortest float32 decimal. */
    public static List<Float> floats(float[] values) {
        List<Float> list = new java.util.ArrayList<>(values.length);
        for (float v : values) {
            list.add(v);
        }
        return list;
    }
}
