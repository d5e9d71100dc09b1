package dev.avatar4j.family.longcat;

import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.family.StreamingVaeDecoder.Cache;
import dev.avatar4j.bundle.JsonObject;
import java.util.List;

/**
 * The {@code longcat-avatar} sections of a bundle manifest, validated (docs/BUNDLE-FORMAT.md,
 * "Family longcat-avatar").
 *
 * @param fps             video frame rate (25)
 * @param width           default output width
 * @param height          default output height
 * @param segmentFrames   pixel frames per segment (93 = 4n+1)
 * @param contextFrames   decoded frames re-encoded as the next segment's context (13 = 4n+1)
 * @param temporalStride  pixel frames per latent (4)
 * @param spatialStride   pixels per latent pixel (8)
 * @param latentChannels  latent channels (16)
 * @param patch           DiT patch (1,2,2)
 * @param sampleRate      audio sample rate (16000)
 * @param melBins         Whisper mel bins (128 for large-v3)
 * @param loudness        loudness target in LUFS (−23)
 * @param audioStride     audio embedding rows per video frame (1 for v1.5)
 * @param distilled       true for the 8-NFE distilled schedule without guidance
 * @param distilledSteps  steps of the distilled schedule (8)
 * @param shift           time shift (7.0)
 * @param defaultSteps    steps when the request gives none (non-distilled)
 * @param textGuidance    default text guidance (non-distilled)
 * @param audioGuidance   default audio guidance (non-distilled)
 * @param refImageIndex   temporal RoPE position of the reference latent (10)
 * @param maskFrameRange  noisy latents within this distance of refImageIndex do not see the reference (3)
 * @param caches          the VAE decoder's causal caches
 */
public record LongCatConfig(int fps, int width, int height, int segmentFrames, int contextFrames, int temporalStride,
                            int spatialStride, int latentChannels, int[] patch, int sampleRate, int melBins,
                            double loudness, int audioStride, boolean distilled, int distilledSteps, double shift,
                            int defaultSteps, double textGuidance, double audioGuidance, int refImageIndex,
                            int maskFrameRange, List<Cache> caches) {

    /** The family id. */
    public static final String FAMILY = "longcat-avatar";

    /** {@return latents per segment, (segmentFrames − 1)/temporalStride + 1 (24)} */
    public int segmentLatents() {
        return (segmentFrames - 1) / temporalStride + 1;
    }

    /** {@return latents of the re-encoded context (4)} */
    public int contextLatents() {
        return (contextFrames - 1) / temporalStride + 1;
    }

    /** {@return new frames per continuation segment (80)} */
    public int newFrames() {
        return segmentFrames - contextFrames;
    }

    /** {@return output sizes must be multiples of this (spatial stride × patch)} */
    public int sizeMultiple() {
        return spatialStride * Math.max(patch[1], patch[2]);
    }

    /**
     * Reads and validates the manifest sections.
     *
     * @param m the manifest
     * @return the configuration
     * @throws BundleException if a section is missing or invalid
     */
    public static LongCatConfig from(BundleManifest m) {
        if (!FAMILY.equals(m.family())) {
            throw bad("model family \"" + m.family() + "\" is not " + FAMILY);
        }
        JsonObject r = m.root();
        JsonObject video = r.object("video");
        JsonObject audio = r.object("audio");
        JsonObject sampler = r.object("sampler");
        JsonObject guidance = r.object("guidance");
        JsonObject cont = r.object("continuation");
        if (!sampler.string("type").equals("flow-match-euler")) {
            throw bad("\"sampler.type\" must be \"flow-match-euler\" for family " + FAMILY);
        }
        if (!audio.string("encoder").equals("whisper")) {
            throw bad("\"audio.encoder\" must be \"whisper\" for family " + FAMILY);
        }
        String schedule = sampler.string("schedule");
        if (!schedule.equals("distilled") && !schedule.equals("full")) {
            throw bad("\"sampler.schedule\" must be \"distilled\" or \"full\", got \"" + schedule + "\"");
        }
        List<Cache> caches = Cache.declaredIn(m);
        LongCatConfig c = new LongCatConfig(video.integer("fps"), video.integer("width"), video.integer("height"),
                video.integer("segmentFrames"), video.integer("contextFrames"), video.integer("temporalStride"),
                video.integer("spatialStride"), video.integer("latentChannels"), video.integers("patch"),
                audio.integer("sampleRate"), audio.integer("melBins"), audio.number("loudness", -23.0),
                audio.integer("stride", 1), schedule.equals("distilled"), sampler.integer("distilledSteps", 8),
                sampler.number("shift", 7.0), sampler.integer("defaultSteps"), guidance.number("text"),
                guidance.number("audio"), cont.integer("refImageIndex"), cont.integer("maskFrameRange"), caches);
        c.validate();
        return c;
    }

    private void validate() {
        if (fps <= 0 || sampleRate <= 0) {
            throw bad("video.fps and audio.sampleRate must be positive");
        }
        if (temporalStride < 1 || (segmentFrames - 1) % temporalStride != 0 || (contextFrames - 1) % temporalStride != 0
                || contextFrames < 1 || contextFrames >= segmentFrames) {
            throw bad("video.segmentFrames (" + segmentFrames + ") and contextFrames (" + contextFrames
                    + ") must be " + temporalStride + "n+1 with contextFrames < segmentFrames");
        }
        if (patch.length != 3 || patch[0] < 1 || patch[1] < 1 || patch[2] < 1 || spatialStride < 1
                || latentChannels < 1) {
            throw bad("video.patch, spatialStride and latentChannels must be positive");
        }
        if (width <= 0 || height <= 0 || width % sizeMultiple() != 0 || height % sizeMultiple() != 0) {
            throw bad("video.width/height must be positive multiples of " + sizeMultiple());
        }
        if (melBins < 1 || audioStride < 1 || distilledSteps < 1 || defaultSteps < 1 || !(shift > 0)) {
            throw bad("audio.melBins, audio.stride, sampler steps and shift must be positive");
        }
        if (refImageIndex < 0 || maskFrameRange < 0) {
            throw bad("continuation.refImageIndex and maskFrameRange must be >= 0");
        }
    }

    private static BundleException bad(String msg) {
        return new BundleException(BundleManifest.FILE_NAME + ": " + msg);
    }
}
