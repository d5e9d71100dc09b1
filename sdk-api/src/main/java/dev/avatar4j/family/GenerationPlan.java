package dev.avatar4j.family;

/**
 * Sizes of a generation known before it runs.
 *
 * @param frames    video frames that will be delivered
 * @param workUnits units of work for progress (forward passes + decoded latent frames)
 */
public record GenerationPlan(int frames, long workUnits) {
}
