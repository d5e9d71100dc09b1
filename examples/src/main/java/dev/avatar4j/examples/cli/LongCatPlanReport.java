package dev.avatar4j.examples.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.family.longcat.LongCatConfig;
import dev.avatar4j.family.longcat.LongCatPlan;
import dev.avatar4j.sampling.LongCatSchedule;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code avatar4j plan} output for a {@code longcat-avatar} bundle: segments and schedules
 * from {@link LongCatPlan}, the same object the engine runs with.
 */
final class LongCatPlanReport {
    private LongCatPlanReport() {
    }

    /**
     * Plans a generation.
     *
     * @param cfg the bundle's configuration (shift possibly overridden)
     * @param samples audio samples (the longest track)
     * @param steps requested steps, or null for the model's
     * @param width width or null
     * @param height height or null
     * @return the plan
     */
    static LongCatPlan plan(LongCatConfig cfg, long samples, Integer steps, Integer width, Integer height) {
        int n = Math.toIntExact(samples);
        int s = steps != null ? steps : (cfg.distilled() ? cfg.distilledSteps() : cfg.defaultSteps());
        return LongCatPlan.create(cfg, n, s, width != null ? width : cfg.width(), height != null ? height : cfg.height());
    }

    /** The configuration with another shift. */
    static LongCatConfig withShift(LongCatConfig c, double shift) {
        if (!(shift > 0) || !Double.isFinite(shift)) {
            throw new IllegalArgumentException("--shift must be finite and > 0, got " + shift);
        }
        return new LongCatConfig(c.fps(), c.width(), c.height(), c.segmentFrames(), c.contextFrames(),
                c.temporalStride(), c.spatialStride(), c.latentChannels(), c.patch(), c.sampleRate(), c.melBins(),
                c.loudness(), c.audioStride(), c.distilled(), c.distilledSteps(), shift, c.defaultSteps(),
                c.textGuidance(), c.audioGuidance(), c.refImageIndex(), c.maskFrameRange(), c.caches());
    }

    /** The plan as JSON; floats are written as their float32 shortest decimal. */
    static String toJson(LongCatPlan p) {
        LongCatConfig c = p.config();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("family", LongCatConfig.FAMILY);
        m.put("audioSamples", p.samples());
        m.put("sampleRate", c.sampleRate());
        m.put("fps", c.fps());
        m.put("frames", p.frames());
        m.put("segments", p.segments());
        m.put("segmentFrames", c.segmentFrames());
        m.put("contextFrames", c.contextFrames());
        m.put("newFramesPerSegment", c.newFrames());
        m.put("paddedSamples", p.paddedSamples());
        m.put("embeddingRows", p.embeddingRows());
        m.put("schedule", c.distilled() ? "distilled" : "full");
        m.put("steps", p.schedule(0).steps());
        m.put("shift", c.shift());
        LongCatSchedule first = p.schedule(0);
        m.put("sigmas", floats(first.sigmas()));
        m.put("timesteps", floats(first.timesteps()));
        if (!c.distilled()) {
            LongCatSchedule cont = p.schedule(1);
            m.put("continuationSigmas", floats(cont.sigmas()));
            m.put("continuationTimesteps", floats(cont.timesteps()));
        }
        List<Map<String, Object>> segments = new ArrayList<>();
        int emitted = 0;
        for (int s = 0; s < p.segments(); s++) {
            Map<String, Object> seg = new LinkedHashMap<>();
            int produced = s == 0 ? c.segmentFrames() : c.newFrames();
            int count = Math.min(produced, p.frames() - emitted);
            seg.put("index", s);
            seg.put("audioStart", p.audioStart(s));
            seg.put("conditionLatents", p.conditionLatents(s));
            seg.put("noisyLatents", p.noisyLatents(s));
            seg.put("steps", p.schedule(s).steps());
            seg.put("firstFrame", emitted);
            seg.put("frames", count);
            emitted += count;
            segments.add(seg);
        }
        m.put("segmentList", segments);
        m.put("branches", p.branches());
        m.put("forwardPasses", p.ditPasses());
        m.put("decoderCalls", (long) p.segments() * c.segmentLatents());
        m.put("width", p.width());
        m.put("height", p.height());
        try {
            return JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT).asString(m);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the plan as JSON", e);
        }
    }

    static void printSummary(PrintStream out, Object audio, LongCatPlan p) {
        LongCatConfig c = p.config();
        out.println(Avatar4jCli.format("audio     %s: %d samples at %d Hz (%.2f s)", audio, p.samples(),
                c.sampleRate(), p.samples() / (double) c.sampleRate()));
        out.println(Avatar4jCli.format("video     %d frames at %d fps, %dx%d", p.frames(), c.fps(), p.width(),
                p.height()));
        out.println(Avatar4jCli.format("segments  %d of %d frames (%d context + %d new after the first)",
                p.segments(), c.segmentFrames(), c.contextFrames(), c.newFrames()));
        LongCatSchedule s = p.schedule(0);
        out.println(Avatar4jCli.format("sampler   %s, %d steps, shift %s, sigmas %s", c.distilled() ? "distilled"
                : "full", s.steps(), c.shift(), floats(s.sigmas())));
        out.println(Avatar4jCli.format("cost      %d DiT forward passes (%d branch%s), %d decoder calls",
                p.ditPasses(), p.branches(), p.branches() == 1 ? "" : "es", (long) p.segments() * c.segmentLatents()));
    }

    private static List<Float> floats(float[] values) {
        List<Float> list = new ArrayList<>(values.length);
        for (float v : values) {
            list.add(v);
        }
        return list;
    }
}
