package dev.avatar4j.family.preview;

import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.bundle.JsonObject;

/**
 * The {@code preview} sections of a bundle manifest, validated (see docs/BUNDLE-FORMAT.md).
 *
 * @param fps        video frame rate
 * @param width      default output width
 * @param height     default output height
 * @param sampleRate audio sample rate (16000: Silero VAD's rate)
 * @param minScore   face detection threshold in [0, 1]
 */
public record PreviewConfig(int fps, int width, int height, int sampleRate, double minScore) {
    /** The family id. */
    public static final String FAMILY = "preview";

    /**
     * Video frames for {@code samples} audio samples at {@link #sampleRate()}: enough to cover the
     * audio, at least one (what a generation delivers).
     */
    public int framesFor(long samples) {
        return (int) Math.max(1, Math.ceilDiv(samples * fps, sampleRate));
    }

    /** Reads and validates the manifest's {@code video}, {@code audio} and {@code face} sections. */
    public static PreviewConfig from(BundleManifest manifest) {
        if (!FAMILY.equals(manifest.family())) {
            throw new BundleException(BundleManifest.FILE_NAME + ": model family \"" + manifest.family()
                    + "\" is not " + FAMILY);
        }
        JsonObject root = manifest.root();
        JsonObject video = root.object("video");
        JsonObject audio = root.object("audio");
        JsonObject face = root.optObject("face").orElse(null);
        int fps = video.integer("fps");
        int width = video.integer("width");
        int height = video.integer("height");
        int rate = audio.integer("sampleRate");
        double minScore = face == null ? 0.5 : face.number("minScore", 0.5);
        if (fps < 1 || fps > 120) {
            throw new BundleException(BundleManifest.FILE_NAME + ": \"video.fps\" must be 1..120, got " + fps);
        }
        if (width < 16 || height < 16 || width % 16 != 0 || height % 16 != 0) {
            throw new BundleException(BundleManifest.FILE_NAME + ": \"video.width\"/\"height\" must be multiples of 16, got "
                    + width + "x" + height);
        }
        if (rate != VoiceActivity.SAMPLE_RATE) {
            throw new BundleException(BundleManifest.FILE_NAME + ": \"audio.sampleRate\" must be "
                    + VoiceActivity.SAMPLE_RATE + " (Silero VAD), got " + rate);
        }
        if (!(minScore > 0 && minScore < 1)) {
            throw new BundleException(BundleManifest.FILE_NAME + ": \"face.minScore\" must be in (0, 1), got " + minScore);
        }
        return new PreviewConfig(fps, width, height, rate, minScore);
    }
}
