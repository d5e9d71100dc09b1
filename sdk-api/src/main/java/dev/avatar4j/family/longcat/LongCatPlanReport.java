package dev.avatar4j.family.longcat;

import static dev.avatar4j.family.PlanReport.floats;
import static dev.avatar4j.family.PlanReport.format;

import dev.avatar4j.family.PlanReport;
import dev.avatar4j.sampling.SigmaSchedule;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plans of a {@code longcat-avatar} bundle for {@code AvatarModel.plan}: segments and schedules
 * from {@link LongCatPlan}, the same object the engine runs with, as the family-neutral
 * {@link PlanReport}.
 */
public final class LongCatPlanReport {
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
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static LongCatPlan plan(LongCatConfig cfg, long samples, Integer steps, Integer width, Integer height) {
        int n = Math.toIntExact(samples);
        int s = steps != null ? steps : (cfg.distilled() ? cfg.distilledSteps() : cfg.defaultSteps());
        return LongCatPlan.create(cfg, n, s, width != null ? width : cfg.width(), height != null ? height : cfg.height());
    }

    /**
     * The configuration with another time shift.
     *
     * @param c the configuration
     * @param shift the shift, finite and &gt; 0
     * @return the configuration with {@code shift}
     * @throws IllegalArgumentException if the shift is out of range
     */
    public static LongCatConfig withShift(LongCatConfig c, double shift) {
        if (!(shift > 0) || !Double.isFinite(shift)) {
            throw new IllegalArgumentException("shift must be finite and > 0, got " + shift);
        }
        return new LongCatConfig(c.fps(), c.width(), c.height(), c.segmentFrames(), c.contextFrames(),
                c.temporalStride(), c.spatialStride(), c.latentChannels(), c.patch(), c.sampleRate(), c.melBins(),
                c.loudness(), c.audioStride(), c.distilled(), c.distilledSteps(), shift, c.defaultSteps(),
                c.textGuidance(), c.audioGuidance(), c.refImageIndex(), c.maskFrameRange(), c.caches());
    }

    /**
     * The report of a plan: every number by name (floats as float32) and the text summary.
     *
     * @param p the plan
     * @param persons the persons animated (the speakers' tracks; 1 for a single speech file)
     * @return its report
     */
    public static PlanReport of(LongCatPlan p, int persons) {
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
        SigmaSchedule first = p.schedule(0);
        m.put("sigmas", floats(first.sigmas()));
        m.put("timesteps", floats(first.timesteps()));
        if (!c.distilled()) {
            SigmaSchedule cont = p.schedule(1);
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
        long decoderCalls = (long) p.segments() * c.segmentLatents();
        m.put("decoderCalls", decoderCalls);
        m.put("width", p.width());
        m.put("height", p.height());
        m.put("persons", Math.max(1, persons));

        List<String> lines = new ArrayList<>();
        lines.add(format("video     %d frames at %d fps, %dx%d", p.frames(), c.fps(), p.width(), p.height()));
        lines.add(format("segments  %d of %d frames (%d context + %d new after the first)", p.segments(),
                c.segmentFrames(), c.contextFrames(), c.newFrames()));
        lines.add(format("sampler   %s, %d steps, shift %s, sigmas %s", c.distilled() ? "distilled" : "full",
                first.steps(), c.shift(), floats(first.sigmas())));
        lines.add(format("cost      %d DiT forward passes (%d branch%s), %d decoder calls", p.ditPasses(),
                p.branches(), p.branches() == 1 ? "" : "es", decoderCalls));
        return new PlanReport(LongCatConfig.FAMILY, p.samples(), c.sampleRate(), c.fps(), p.frames(), p.width(),
                p.height(), true, first.steps(), p.segments(), p.ditPasses(), p.workUnits(), m, lines);
    }
}
