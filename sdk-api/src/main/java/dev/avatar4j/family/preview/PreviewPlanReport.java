package dev.avatar4j.family.preview;

import static dev.avatar4j.family.PlanReport.format;

import dev.avatar4j.family.PlanReport;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The plan of a {@code preview} generation: no diffusion, so frames, duration, size and work only.
 */
public final class PreviewPlanReport {
    private PreviewPlanReport() {
    }

    /**
     * The report.
     *
     * @param cfg the bundle's configuration
     * @param samples speech samples at {@code cfg.sampleRate()}
     * @param width requested width, or null for the model's
     * @param height requested height, or null for the model's
     * @return the report
     */
    public static PlanReport of(PreviewConfig cfg, long samples, Integer width, Integer height) {
        int frames = cfg.framesFor(samples);
        int w = width != null ? width : cfg.width();
        int h = height != null ? height : cfg.height();
        long work = frames + 2L; // face detection, speech analysis, one unit per frame
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("family", PreviewConfig.FAMILY);
        m.put("diffusion", false);
        m.put("audioSamples", samples);
        m.put("sampleRate", cfg.sampleRate());
        m.put("fps", cfg.fps());
        m.put("frames", frames);
        m.put("width", w);
        m.put("height", h);
        m.put("workUnits", work);
        List<String> lines = List.of(
                format("video     %d frames at %d fps (%.2f s), %dx%d", frames, cfg.fps(), frames / (double) cfg.fps(),
                        w, h),
                format("cost      face detection once, speech analysis once, one warp per frame (%d work units)",
                        work));
        return new PlanReport(PreviewConfig.FAMILY, samples, cfg.sampleRate(), cfg.fps(), frames, w, h, false, 0, 0,
                0, work, m, lines);
    }
}
