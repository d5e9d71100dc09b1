package dev.avatar4j.examples.cli;

import dev.avatar4j.sampling.SigmaSchedule;
import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.Region;
import dev.avatar4j.family.longcat.LongCatConfig;
import dev.avatar4j.family.longcat.LongCatPlan;
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

    /**
     * One person of a multi-speaker plan.
     *
     * @param file the speech file
     * @param region the region it drives (the default of its position when none was given)
     * @param offset where its track starts in the laid-out audio (samples)
     * @param samples its own length in samples
     */
    record Person(String file, Region region, long offset, long samples) {
    }

    /** The plan as JSON; floats are written as their float32 shortest decimal. */
    static String toJson(LongCatPlan p) {
        return toJson(p, List.of());
    }

    /** Prints one line per person (nothing for a single-speaker plan). */
    static void printPersons(PrintStream out, List<Person> persons) {
        for (int i = 0; i < persons.size(); i++) {
            Person q = persons.get(i);
            Region r = q.region();
            out.println(Avatar4jCli.format("person %d  %s: %d samples from %d, region %s,%s,%s,%s", i, q.file(),
                    q.samples(), q.offset(), r.x(), r.y(), r.w(), r.h()));
        }
    }

    /**
     * The plan as JSON with its persons ({@code persons} count and a {@code speakers} list when
     * speakers were given); floats are written as their float32 shortest decimal.
     */
    static String toJson(LongCatPlan p, List<Person> persons) {
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
        m.put("decoderCalls", (long) p.segments() * c.segmentLatents());
        m.put("width", p.width());
        m.put("height", p.height());
        m.put("persons", Math.max(1, persons.size()));
        if (!persons.isEmpty()) {
            List<Map<String, Object>> list = new ArrayList<>();
            for (Person q : persons) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("file", q.file());
                e.put("region", List.of(q.region().x(), q.region().y(), q.region().w(), q.region().h()));
                e.put("offset", q.offset());
                e.put("samples", q.samples());
                list.add(e);
            }
            m.put("speakers", list);
        }
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
        SigmaSchedule s = p.schedule(0);
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
