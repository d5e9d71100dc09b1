package dev.avatar4j.family.latentsync;

import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.bundle.JsonObject;

/**
 * The validated manifest sections of a {@code latentsync} bundle (docs/BUNDLE-FORMAT.md, "Family
 * latentsync").
 *
 * @param fps           video rate the clip is converted to (25)
 * @param resolution    face crop resolution R, a multiple of 8 (256 for LatentSync 1.5, 512 for 1.6)
 * @param chunkFrames   frames denoised together (16)
 * @param sampleRate    audio rate (16000)
 * @param width         audio feature width (384 for Whisper tiny)
 * @param scaling       VAE latent scaling (0.18215)
 * @param shift         VAE latent shift (0 for the SD VAE)
 * @param defaultSteps  DDIM steps when the request gives none (20)
 * @param guidance      classifier-free guidance scale with zero audio as the unconditional branch (1.5)
 * @param minScore      face detection threshold
 * @param deepCacheInterval DeepCache: a full UNet step every this many DDIM steps, the {@code unet-shallow}
 *                      graph in between ({@code sampler.deepCacheInterval}); 0 = off
 */
record LatentSyncConfig(int fps, int resolution, int chunkFrames, int sampleRate, int width, double scaling,
                        double shift, int defaultSteps, double guidance, double minScore, int deepCacheInterval) {
    /** The family id in the manifest. */
    static final String FAMILY = "latentsync";

    static LatentSyncConfig from(BundleManifest m) {
        JsonObject r = m.root();
        JsonObject video = r.object("video");
        JsonObject audio = r.object("audio");
        JsonObject vae = r.object("vae");
        JsonObject sampler = r.object("sampler");
        JsonObject guidance = r.object("guidance");
        double minScore = r.optObject("face").map(f -> f.number("minScore", 0.5)).orElse(0.5);
        LatentSyncConfig c = new LatentSyncConfig(video.integer("fps", 25), video.integer("resolution"),
                video.integer("chunkFrames", 16), audio.integer("sampleRate", 16000), audio.integer("width", 384),
                vae.number("scaling"), vae.number("shift", 0.0), sampler.integer("defaultSteps", 20),
                guidance.number("scale", 1.5), minScore, sampler.integer("deepCacheInterval", 0));
        if (!"ddim".equals(sampler.optString("type").orElse("ddim"))) {
            throw bad("\"sampler.type\" must be \"ddim\"");
        }
        if (c.fps != 25 || c.sampleRate != 16000) {
            throw bad("LatentSync runs at 25 fps and 16 kHz, the manifest says " + c.fps + " fps, " + c.sampleRate + " Hz");
        }
        if (c.resolution < 16 || c.resolution % 8 != 0) {
            throw bad("\"video.resolution\" must be a multiple of 8 and at least 16, got " + c.resolution);
        }
        if (c.deepCacheInterval < 0 || c.deepCacheInterval == 1) {
            throw bad("\"sampler.deepCacheInterval\" must be 0 (off) or at least 2, got " + c.deepCacheInterval);
        }
        if (c.chunkFrames < 1 || c.width < 1 || c.defaultSteps < 1 || c.defaultSteps > 1000) {
            throw bad("chunkFrames, audio.width and sampler.defaultSteps (1..1000) must be positive");
        }
        if (!(c.scaling > 0) || !Double.isFinite(c.shift) || !Double.isFinite(c.guidance) || !(c.minScore > 0 && c.minScore < 1)) {
            throw bad("vae.scaling must be positive, vae.shift and guidance.scale finite, face.minScore in (0, 1)");
        }
        return c;
    }

    private static BundleException bad(String what) {
        return new BundleException(BundleManifest.FILE_NAME + ": " + what);
    }
}
