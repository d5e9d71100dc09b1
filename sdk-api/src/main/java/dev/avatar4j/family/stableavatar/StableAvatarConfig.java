package dev.avatar4j.family.stableavatar;

import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.family.StreamingVaeDecoder.Cache;
import dev.avatar4j.bundle.JsonObject;
import java.util.List;
import java.util.Locale;

/**
 * The {@code stableavatar} sections of a bundle manifest, validated (see docs/BUNDLE-FORMAT.md).
 *
 * @param fps             video frame rate (25)
 * @param width           default output width
 * @param height          default output height
 * @param windowFrames    pixel frames per sliding window (81 = 4n+1)
 * @param temporalStride  pixel frames per latent frame (4)
 * @param spatialStride   pixels per latent pixel (8)
 * @param latentChannels  latent channels (16)
 * @param patch           DiT patch size (1,2,2): output sizes must be multiples of spatialStride·patch
 * @param sampleRate      audio sample rate (16000)
 * @param sliceFrames     video frames of audio per full window fed to the audio encoder (84)
 * @param shift           flow-matching shift (5.0)
 * @param shiftMode       how the shift is applied
 * @param trainTimesteps  training timesteps (1000)
 * @param defaultSteps    steps when the request gives none
 * @param textGuidance    default text guidance scale
 * @param audioGuidance   default audio guidance scale
 * @param overlap         latent frames shared by consecutive windows
 * @param weights         overlap weight scheme ({@code log} or {@code uniform})
 * @param tailMode        how the last window's audio is sliced
 * @param tokenizer       the {@code text.tokenizer} kind ({@code utf8-bytes} or {@code sentencepiece}), or null
 *                        when the manifest has no {@code text} section
 * @param maxTokens       text tokens fed to the DiT: every prompt embedding is zero-padded to this
 *                        length, and a longer one is refused (512)
 * @param caches          the VAE decoder's causal caches ({@code graphs.vae-decoder.caches})
 * @param encoderCaches   the streamed VAE encoder's caches ({@code graphs.vae-encoder-step.caches});
 *                        empty when the bundle has only the whole-clip {@code vae-encoder}
 */
public record StableAvatarConfig(int fps, int width, int height, int windowFrames, int temporalStride,
                                 int spatialStride, int latentChannels, int[] patch, int sampleRate, int sliceFrames,
                                 double shift, ShiftMode shiftMode, int trainTimesteps, int defaultSteps,
                                 double textGuidance, double audioGuidance, int overlap, String weights,
                                 TailMode tailMode, String tokenizer, int maxTokens, List<Cache> caches,
                                 List<Cache> encoderCaches) {

    /** The family id. */
    public static final String FAMILY = "stableavatar";

    /** The {@code text.tokenizer} kind that tokenises ids as UTF-8 bytes + 1 (toy bundles). */
    public static final String UTF8_BYTES = "utf8-bytes";
    /**
     * umT5's sentencepiece tokenizer: recognised in manifests, but this SDK does not tokenise with it
     * yet, so such a bundle supports only its precomputed prompts.
     */
    public static final String SENTENCEPIECE = "sentencepiece";

    /** Whether custom prompts can be tokenised for this bundle's text encoder. */
    public boolean tokenizes() {
        return UTF8_BYTES.equals(tokenizer);
    }

    /** Latent frames per full window: (windowFrames − 1)/temporalStride + 1. */
    public int windowLatents() {
        return (windowFrames - 1) / temporalStride + 1;
    }

    /** Audio samples per video frame (640 at 16 kHz / 25 fps). */
    public int samplesPerFrame() {
        return sampleRate / fps;
    }

    /** Output sizes must be multiples of this (spatial stride × patch). */
    public int sizeMultiple() {
        return spatialStride * Math.max(patch[1], patch[2]);
    }

    /** Reads and validates the manifest sections. */
    public static StableAvatarConfig from(BundleManifest m) {
        JsonObject r = m.root();
        JsonObject video = r.object("video");
        JsonObject audio = r.object("audio");
        JsonObject sampler = r.object("sampler");
        JsonObject guidance = r.object("guidance");
        JsonObject window = r.object("window");
        String type = sampler.string("type");
        if (!type.equals("flow-match-euler")) {
            throw bad("\"sampler.type\" must be \"flow-match-euler\" for family stableavatar, got \"" + type + "\"");
        }
        String encoder = audio.string("encoder");
        if (!encoder.equals("wav2vec2")) {
            throw bad("\"audio.encoder\" must be \"wav2vec2\" for family stableavatar, got \"" + encoder + "\"");
        }
        ShiftMode shiftMode;
        TailMode tail;
        try {
            shiftMode = ShiftMode.parse(sampler.optString("shiftMode").orElse("diffusers-0.30.1"));
        } catch (IllegalArgumentException e) {
            throw bad("\"sampler.shiftMode\": " + e.getMessage());
        }
        try {
            tail = parseTail(window.optString("tail").orElse("corrected"));
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
        try {
            OverlapWeights.of(window.string("weights"), 2); // the scheme only; the overlap is range-checked below
        } catch (IllegalArgumentException e) {
            throw bad("\"window.weights\": " + e.getMessage());
        }
        String tokenizer = null;
        int maxTokens = 512;
        if (r.has("text")) {
            JsonObject text = r.object("text");
            tokenizer = text.string("tokenizer");
            if (!tokenizer.equals(UTF8_BYTES) && !tokenizer.equals(SENTENCEPIECE)) {
                throw bad("unsupported \"text.tokenizer\" \"" + tokenizer + "\" (known: " + UTF8_BYTES + ", "
                        + SENTENCEPIECE + ")");
            }
            if (tokenizer.equals(SENTENCEPIECE) && !text.has("model")) {
                throw bad("\"text.tokenizer\" sentencepiece needs \"text.model\" {file, sha256}");
            }
            maxTokens = text.integer("maxTokens", 512);
        }
        // (which graphs exist is checked when they are opened: a manifest without graphs still plans)
        if (m.graph("vae-encoder-first").isPresent() != m.graph("vae-encoder-step").isPresent()) {
            throw bad("\"vae-encoder-first\" and \"vae-encoder-step\" come as a pair; the manifest has only one");
        }
        List<Cache> caches;
        List<Cache> encoderCaches;
        try {
            caches = Cache.declaredIn(m);
            encoderCaches = Cache.pair(m, "vae-encoder-first", "vae-encoder-step");
        } catch (BundleException e) {
            throw bad(e.getMessage().replace(BundleManifest.FILE_NAME + ": ", ""));
        }
        StableAvatarConfig c = new StableAvatarConfig(video.integer("fps"), video.integer("width"),
                video.integer("height"), video.integer("windowFrames"), video.integer("temporalStride"),
                video.integer("spatialStride"), video.integer("latentChannels"), video.integers("patch"),
                audio.integer("sampleRate"), audio.integer("sliceFrames", 84), sampler.number("shift"), shiftMode,
                sampler.integer("trainTimesteps", 1000), sampler.integer("defaultSteps"), guidance.number("text"),
                guidance.number("audio"), window.integer("overlap"), window.string("weights"), tail, tokenizer,
                maxTokens, caches, encoderCaches);
        c.validate();
        return c;
    }

    private static TailMode parseTail(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "reference" -> TailMode.REFERENCE;
            case "corrected" -> TailMode.CORRECTED;
            default -> throw new IllegalArgumentException("\"window.tail\" must be \"reference\" or \"corrected\", got \"" + s + "\"");
        };
    }

    private void validate() {
        if (fps <= 0 || sampleRate <= 0 || sampleRate % fps != 0) {
            throw bad("audio.sampleRate (" + sampleRate + ") must be a positive multiple of video.fps (" + fps + ")");
        }
        if (temporalStride < 1 || windowFrames < 1 || (windowFrames - 1) % temporalStride != 0) {
            throw bad("video.windowFrames (" + windowFrames + ") must be " + temporalStride + "n+1");
        }
        if (patch.length != 3 || patch[0] < 1 || patch[1] < 1 || patch[2] < 1) {
            throw bad("video.patch must be three positive integers");
        }
        if (spatialStride < 1 || latentChannels < 1 || sliceFrames < 1 || trainTimesteps < 1 || maxTokens < 1) {
            throw bad("video/audio/sampler sizes must be positive");
        }
        if (width <= 0 || height <= 0 || width % sizeMultiple() != 0 || height % sizeMultiple() != 0) {
            throw bad("video.width/height must be positive multiples of " + sizeMultiple());
        }
        if (defaultSteps < 1) {
            throw bad("sampler.defaultSteps must be >= 1");
        }
        if (!(shift > 0)) {
            throw bad("sampler.shift must be > 0");
        }
        if (overlap < 2 || overlap >= windowLatents()) {
            throw bad("window.overlap must be in [2, " + (windowLatents() - 1) + "], got " + overlap);
        }
    }

    private static BundleException bad(String msg) {
        return new BundleException(BundleManifest.FILE_NAME + ": " + msg);
    }
}
