package dev.avatar4j.engine;

import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import java.util.Objects;

/**
 * A fully resolved generation request as the engines see it: decoded inputs, every parameter
 * set (defaults applied), validated.
 *
 * @param image         the reference image
 * @param audio         speech at the model's sample rate, mono
 * @param width         output width (multiple of 16)
 * @param height        output height (multiple of 16)
 * @param steps         denoising steps (≥ 1)
 * @param seed          noise seed
 * @param prompt        text prompt, or null for the bundle's default
 * @param textGuidance  text guidance scale, or NaN for the bundle's default
 * @param audioGuidance audio guidance scale, or NaN for the bundle's default
 * @param noise         the initial-noise source (per latent frame); see {@link NoiseSource#seeded(long)}
 */
public record GenerationRequest(RgbImage image, AudioClip audio, int width, int height, int steps, long seed,
                                String prompt, double textGuidance, double audioGuidance, NoiseSource noise) {
    public GenerationRequest {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(audio, "audio");
        Objects.requireNonNull(noise, "noise");
    }
}
