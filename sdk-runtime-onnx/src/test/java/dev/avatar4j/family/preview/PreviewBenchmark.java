package dev.avatar4j.family.preview;

import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.spi.Backend;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Speed of the preview engine at 512×512 (a benchmark, not a test: off unless
 * {@code -Dpreview.bench=true}; run it pinned to two cores with {@code taskset -c 0,1}). Reports
 * wall and CPU time of whole generations (face detection, VAD, features and rendering; no video
 * encoding) after two warm-up runs, and the factor against real time.
 */
@EnabledIfSystemProperty(named = "preview.bench", matches = "true")
class PreviewBenchmark {
    private static final Logger LOG = LoggerFactory.getLogger(PreviewBenchmark.class);

    @Test
    void generateFasterThanRealTime() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        RgbImage img = PreviewFixtures.portrait();
        AudioClip audio = PreviewFixtures.speech();
        double seconds = audio.length() / 16_000.0;
        try (Backend b = PreviewFixtures.backend(); PreviewEngine e = PreviewFixtures.engine(b)) {
            for (int run = 0; run < 5; run++) {
                PreviewFixtures.Collector c = new PreviewFixtures.Collector();
                long cpu0 = mx.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                e.generate(PreviewFixtures.request(img, audio, 512, run), c);
                double wall = (System.nanoTime() - t0) / 1e9;
                double cpu = (mx.getCurrentThreadCpuTime() - cpu0) / 1e9;
                LOG.info("run {}: {} frames for {} s of audio in {} s wall ({} fps, {}x real time); caller-thread CPU {} s",
                        run, c.frames.size(), String.format("%.2f", seconds), String.format("%.3f", wall),
                        String.format("%.1f", c.frames.size() / wall), String.format("%.1f", seconds / wall),
                        String.format("%.3f", cpu));
            }
            long t0 = System.nanoTime();
            e.detect(img);
            long t1 = System.nanoTime();
            e.mouthTrack(audio.samples(), e.framesFor(audio.length()));
            long t2 = System.nanoTime();
            LOG.info("of which: face detection {} ms, VAD + mouth features {} ms", (t1 - t0) / 1_000_000,
                    (t2 - t1) / 1_000_000);
        }
    }
}
