package dev.avatar4j.family.stableavatar;

import static dev.avatar4j.family.PlanReport.floats;
import static dev.avatar4j.family.PlanReport.format;

import dev.avatar4j.family.PlanReport;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link StableAvatarPlan} as the family-neutral {@link PlanReport}: every number by name (the
 * fields {@code avatar4j plan --json} prints) and the text summary.
 */
public final class StableAvatarPlanReport {
    /** Windows listed in full by the text summary; longer plans are abbreviated. */
    private static final int LISTED_WINDOWS = 8;

    private StableAvatarPlanReport() {
    }

    /**
     * The report of a plan.
     *
     * @param p the plan
     * @return its report
     */
    public static PlanReport of(StableAvatarPlan p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("family", p.family());
        m.put("audioSamples", p.audioSamples());
        m.put("sampleRate", p.sampleRate());
        m.put("fps", p.fps());
        m.put("frames", p.frames());
        m.put("latentFrames", p.latentFrames());
        m.put("windowLatents", p.windowLatents());
        m.put("overlap", p.overlap());
        m.put("stride", p.stride());
        m.put("weightsScheme", p.weightsScheme());
        m.put("overlapWeights", floats(p.overlapWeights()));
        List<List<Integer>> windows = new ArrayList<>();
        for (Window w : p.windows()) {
            windows.add(List.of(w.start(), w.end()));
        }
        m.put("windows", windows);
        List<List<Long>> windowAudio = new ArrayList<>();
        for (StableAvatarPlan.AudioSlice a : p.windowAudio()) {
            windowAudio.add(List.of(a.from(), a.to(), (long) a.tokens()));
        }
        m.put("windowAudio", windowAudio);
        m.put("steps", p.steps());
        m.put("shift", p.shift());
        m.put("shiftMode", p.shiftModeName());
        m.put("sigmas", floats(p.sigmas()));
        m.put("timesteps", floats(p.timesteps()));
        m.put("branches", p.branches());
        m.put("forwardPasses", p.forwardPasses());
        m.put("batchRows", p.batchRows());
        m.put("decoderCalls", p.decoderCalls());
        m.put("width", p.width());
        m.put("height", p.height());
        m.put("latentBytesPerFrame", p.latentBytesPerFrame());
        m.put("peakLatentFrames", p.peakLatentFrames());
        m.put("peakLatentBytes", p.peakLatentBytes());
        m.put("forwardPassesBeforeFirstFrame", p.forwardPassesBeforeFirstFrame());
        m.put("tailMode", p.tailModeName());

        List<String> lines = new ArrayList<>();
        lines.add(format("video     %d frames at %d fps (%.2f s), %dx%d", p.frames(), p.fps(),
                p.frames() / (double) p.fps(), p.width(), p.height()));
        lines.add(format("latents   %d latent frames, %d window%s of %d, overlap %d (stride %d), %s weights",
                p.latentFrames(), p.windows().size(), p.windows().size() == 1 ? "" : "s", p.windowLatents(),
                p.overlap(), p.stride(), p.weightsScheme()));
        lines.add("windows   " + windowList(p.windows()));
        float[] t = p.timesteps();
        lines.add(format("sampler   %d steps, shift %s (%s), timesteps %s .. %s", p.steps(), p.shift(),
                p.shiftModeName(), t[0], t[t.length - 1]));
        lines.add(format("cost      %d DiT forward passes (x %d guidance branches = %d batch rows), "
                + "%d decoder calls", p.forwardPasses(), p.branches(), p.batchRows(), p.decoderCalls()));
        lines.add(format("first     frame final after at most %d forward passes", p.forwardPassesBeforeFirstFrame()));
        lines.add(format("memory    latents peak at most %d frames x %s = %s", p.peakLatentFrames(),
                bytes(p.latentBytesPerFrame()), bytes(p.peakLatentBytes())));
        return new PlanReport(p.family(), p.audioSamples(), p.sampleRate(), p.fps(), p.frames(), p.width(),
                p.height(), true, p.steps(), p.windows().size(), p.forwardPasses(), p.workUnits(), m, lines);
    }

    private static String windowList(List<Window> windows) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < windows.size(); i++) {
            if (windows.size() > LISTED_WINDOWS && i == LISTED_WINDOWS - 2) {
                parts.add("...");
                i = windows.size() - 2;
            }
            Window w = windows.get(i);
            parts.add("[" + w.start() + "," + w.end() + ")");
        }
        return String.join(" ", parts);
    }

    private static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return format("%.1f %s", v, units[u]);
    }
}
