package dev.avatar4j.family.longcat;

import dev.avatar4j.sampling.SigmaSchedule;


/**
 * Every number of a LongCat generation, computed before anything runs: the single source the
 * engine and {@code avatar4j plan} use (docs/REFERENCE.md §3 "Video continuation").
 *
 * <ul>
 *   <li>audio frames {@code A = int(N/sr·fps)} (at least 1): the video is cut to the audio length;</li>
 *   <li>segments {@code S = 1 + max(0, ⌈(A − 93)/80⌉)}: 93 frames, then 80 new frames each;</li>
 *   <li>the audio is zero-padded by {@code ⌈(93/fps + (S−1)·80/fps − N/sr)·sr⌉} samples (the demo's
 *       generate_duration), and the embedding has {@code int(len/sr·fps)} rows;</li>
 *   <li>segment s starts at audio row {@code 80·stride·s};</li>
 *   <li>schedule: distilled (8 steps, shift) for every segment, or the full schedule for the
 *       first segment and its {@code enhance_hf} variant for later ones.</li>
 * </ul>
 *
 * @param config          the family configuration
 * @param samples         N, audio samples (the longest speaker track)
 * @param steps           requested steps (the full schedule's N; ignored when distilled)
 * @param width           output width
 * @param height          output height
 */
public record LongCatPlan(LongCatConfig config, int samples, int steps, int width, int height) {

    /**
     * Validates and creates a plan.
     *
     * @param config the configuration
     * @param samples audio samples, at least 1
     * @param steps requested steps, at least 1
     * @param width output width
     * @param height output height
     * @return the plan
     */
    public static LongCatPlan create(LongCatConfig config, int samples, int steps, int width, int height) {
        if (samples < 1) {
            throw new IllegalArgumentException("audio must not be empty");
        }
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        if (config.distilled() && steps != config.distilledSteps()) {
            throw new IllegalArgumentException("this bundle's distilled model samples exactly "
                    + config.distilledSteps() + " steps; got " + steps);
        }
        int m = config.sizeMultiple();
        if (width < m || height < m || width % m != 0 || height % m != 0) {
            throw new IllegalArgumentException("width and height must be positive multiples of " + m + ", got "
                    + width + "x" + height);
        }
        return new LongCatPlan(config, samples, steps, width, height);
    }

    /** {@return A, the frames delivered (the audio length in frames, at least 1)} */
    public int frames() {
        return Math.max(1, (int) ((double) samples / config.sampleRate() * config.fps()));
    }

    /** {@return S, the number of segments} */
    public int segments() {
        int a = frames();
        int over = a - config.segmentFrames();
        return over <= 0 ? 1 : 1 + (over + config.newFrames() - 1) / config.newFrames();
    }

    /** {@return the audio length after padding, in samples} */
    public int paddedSamples() {
        double fps = config.fps();
        double generate = config.segmentFrames() / fps + (double) ((segments() - 1) * config.newFrames()) / fps;
        long added = (long) Math.ceil((generate - (double) samples / config.sampleRate()) * config.sampleRate());
        return Math.toIntExact(samples + Math.max(0, added));
    }

    /** {@return rows of the audio embedding, {@code int(padded/sr · (fps·stride))}} */
    public int embeddingRows() {
        return (int) ((double) paddedSamples() / config.sampleRate() * (config.fps() * config.audioStride()));
    }

    /**
     * The first audio-embedding row of a segment.
     *
     * @param segment segment index
     * @return {@code stride·80·segment}
     */
    public int audioStart(int segment) {
        return config.audioStride() * config.newFrames() * segment;
    }

    /** {@return latent height} */
    public int latentHeight() {
        return height / config.spatialStride();
    }

    /** {@return latent width} */
    public int latentWidth() {
        return width / config.spatialStride();
    }

    /**
     * The schedule of a segment.
     *
     * @param segment segment index
     * @return distilled, full (segment 0) or full with the enhance_hf tail (later segments)
     */
    public SigmaSchedule schedule(int segment) {
        if (config.distilled()) {
            return LongCatSchedule.distilled(config.distilledSteps(), config.shift());
        }
        SigmaSchedule full = LongCatSchedule.full(steps, config.shift());
        return segment == 0 ? full : LongCatSchedule.enhanceHighFrequency(full);
    }

    /** {@return guidance branches per DiT step: 1 when distilled, else 3} */
    public int branches() {
        return config.distilled() ? 1 : 3;
    }

    /** {@return condition latents in the DiT sequence of a segment (1 image latent; reference + context)} */
    public int conditionLatents(int segment) {
        return segment == 0 ? 1 : 1 + config.contextLatents();
    }

    /** {@return noisy latents denoised in a segment (23, then 20)} */
    public int noisyLatents(int segment) {
        return config.segmentLatents() - (segment == 0 ? 1 : config.contextLatents());
    }

    /** {@return DiT forward passes of the whole generation} */
    public long ditPasses() {
        long n = 0;
        for (int s = 0; s < segments(); s++) {
            n += (long) schedule(s).steps() * branches();
        }
        return n;
    }

    /** {@return progress units: DiT passes + decoded latents} */
    public long workUnits() {
        return ditPasses() + (long) segments() * config.segmentLatents();
    }
}
