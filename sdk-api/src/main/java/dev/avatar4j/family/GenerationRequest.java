package dev.avatar4j.family;

import dev.avatar4j.io.AudioSource;
import dev.avatar4j.io.Speaker;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import java.util.Objects;

/**
 * A fully resolved generation request as the engines see it: decoded inputs, every parameter
 * set (defaults applied), validated.
 *
 * @param image         the reference image
 * @param audio         speech at the model's sample rate, mono; null when it is streamed from
 *                      {@code source} (then {@link #audio()} decodes it whole on first use)
 * @param width         output width (multiple of 16)
 * @param height        output height (multiple of 16)
 * @param steps         denoising steps (≥ 1)
 * @param seed          noise seed
 * @param prompt        text prompt, or null for the bundle's default
 * @param textGuidance  text guidance scale, or NaN for the bundle's default
 * @param audioGuidance audio guidance scale, or NaN for the bundle's default
 * @param noise         the initial-noise source (per latent frame); see {@link NoiseSource#seeded(long)}
 * @param latentTap     receives each final latent frame ({@code [C, h, w]} float32) before it is
 *                      decoded, or null; parity tests compare them with the reference
 * @param speakers      several persons, each a track (at the model's rate, all of the length of
 *                      the speech) and a region; empty for one speaker driving the whole frame
 *                      with the speech; with speakers the speech is their mix (muxed into the video)
 * @param source        the same speech as a range-readable source: streamed from its file (the
 *                      engines that read it by range never hold it whole), or wrapping
 *                      {@code audio}; closed by the generation when it ends
 */
public record GenerationRequest(RgbImage image, AudioClip audio, int width, int height, int steps, long seed,
                                String prompt, double textGuidance, double audioGuidance, NoiseSource noise,
                                LatentTap latentTap, java.util.List<Speaker> speakers,
                                AudioSource source) implements FamilyJob {
    /**
     * Images narrower or lower than this are refused: too small to show a face (a 1×1 image would
     * be stretched into a flat colour), so almost certainly the wrong input.
     */
    public static final int MIN_IMAGE_SIDE = 16;

    /**
     * Checks the resolved request.
     *
     * @throws dev.avatar4j.InvalidInputException if the image is smaller than {@value #MIN_IMAGE_SIDE} px on a side
     */
    public GenerationRequest {
        speakers = speakers == null ? java.util.List.of() : java.util.List.copyOf(speakers);
        Objects.requireNonNull(image, "image");
        if (audio == null && source == null) {
            throw new NullPointerException("audio");
        }
        if (source == null) {
            source = AudioSource.of(audio);
        }
        Objects.requireNonNull(noise, "noise");
        if (image.width() < MIN_IMAGE_SIDE || image.height() < MIN_IMAGE_SIDE) {
            throw new dev.avatar4j.InvalidInputException("image is " + image.width() + "x" + image.height()
                    + " pixels, too small to show a face: give a portrait of at least " + MIN_IMAGE_SIDE + "x"
                    + MIN_IMAGE_SIDE + " (256 px or more works best)");
        }
    }

    /** A request over in-memory audio. */
    public GenerationRequest(RgbImage image, AudioClip audio, int width, int height, int steps, long seed,
                             String prompt, double textGuidance, double audioGuidance, NoiseSource noise,
                             LatentTap latentTap, java.util.List<Speaker> speakers) {
        this(image, audio, width, height, steps, seed, prompt, textGuidance, audioGuidance, noise, latentTap,
                speakers, null);
    }

    /**
     * The whole speech in memory. For a streamed request this decodes the file on the first call
     * and keeps it: engines that can read by range use {@link #source()} instead.
     */
    public AudioClip audio() {
        return audio != null ? audio : source.clip();
    }

    /**
     * Closes the speech source and every speaker's track (their decoders), once the engine is done
     * with them. Failures of one do not keep the others open.
     */
    public void closeAudio() {
        RuntimeException failure = null;
        java.util.List<AudioSource> all = new java.util.ArrayList<>();
        all.add(source);
        for (Speaker s : speakers) {
            all.add(s.audio());
        }
        for (AudioSource a : all) {
            try {
                a.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Closes the speech decoders ({@link #closeAudio()}). */
    @Override
    public void closeInputs() {
        closeAudio();
    }

    /** The number of speech samples at the model's rate, known without decoding them. */
    public long audioLength() {
        return source.length();
    }

    /** The speech's sample rate. */
    public int audioRate() {
        return source.sampleRate();
    }

    /** A single-speaker request (no {@link #speakers()}). */
    public GenerationRequest(RgbImage image, AudioClip audio, int width, int height, int steps, long seed,
                             String prompt, double textGuidance, double audioGuidance, NoiseSource noise,
                             LatentTap latentTap) {
        this(image, audio, width, height, steps, seed, prompt, textGuidance, audioGuidance, noise, latentTap,
                java.util.List.of());
    }

    /** Observer of final latent frames. */
    @FunctionalInterface
    public interface LatentTap {
        /** Called with latent frame {@code index} ({@code floats} float32 values); do not keep the segment. */
        void finalLatent(int index, java.lang.foreign.MemorySegment frame, long floats);
    }

    /** A copy with {@code noise} and {@code tap} replaced (tests inject recorded noise). */
    public GenerationRequest withNoise(NoiseSource noise, LatentTap tap) {
        return new GenerationRequest(image, audio, width, height, steps, seed, prompt, textGuidance, audioGuidance,
                noise, tap, speakers, source);
    }
}
