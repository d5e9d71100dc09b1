package dev.avatar4j.bench;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.family.stableavatar.StableAvatarConfig;
import dev.avatar4j.family.stableavatar.StableAvatarEngine;
import dev.avatar4j.family.stableavatar.StableAvatarPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * One measured StableAvatar generation for the GPU run book ({@code bench/gpu/run}): renders a given
 * speech file at one size and step count on the {@code timed} backend (the backend named by
 * {@code -Davatar4j.bench.inner}, normally {@code tensorrt}), after one untimed warm-up generation of
 * one second, and prints one result line ({@code RESULT key=value ...}) with the end-to-end seconds
 * per second of video, per-graph milliseconds per call, the host↔device bytes (total and per latent
 * frame) and the DiT's achieved FLOP/s against the card's dense peak. It only measures; the script
 * adds the GPU memory peak and writes the table.
 */
@Command(name = "gpu-run-book", mixinStandardHelpOptions = true,
        description = "One measured StableAvatar generation on a GPU backend (bench/gpu/run).")
public final class GpuRunBook implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "stableavatar bundle directory")
    Path model;
    @Option(names = "--image", required = true, description = "portrait")
    Path image;
    @Option(names = "--audio", required = true, description = "speech (its length is the video's)")
    Path audio;
    @Option(names = "--warmup-audio", description = "a short speech file for the untimed warm-up run; none skips it")
    Path warmupAudio;
    @Option(names = "--width", required = true, description = "output width")
    int width;
    @Option(names = "--height", required = true, description = "output height")
    int height;
    @Option(names = "--steps", required = true, description = "denoising steps")
    int steps;
    @Option(names = "--peak-tflops", defaultValue = "0", description = "the card's dense BF16/FP16 peak, TFLOPS; 0 leaves the ratio out")
    double peakTflops;
    @Option(names = "--full-attention-blocks", defaultValue = "30", description = "DiT blocks with full self-attention (Wan 1.3B: 30)")
    int fullAttentionBlocks;
    @Option(names = "--out", description = "the rendered video (default: a temporary file, deleted)")
    Path out;

    /**
     * Runs the command.
     *
     * @param args command-line arguments ({@code --help} lists them)
     */
    public static void main(String[] args) {
        System.exit(new CommandLine(new GpuRunBook()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        Path video = out != null ? out : Files.createTempFile("a4j-gpu-", ".mp4");
        try (AvatarModel m = AvatarModel.builder(model).backend(TimedBackendProvider.NAME).load()) {
            if (warmupAudio != null) { // engines deserialised, kernels loaded, allocator warm
                Avatar.from(image).speak(warmupAudio).model(m).size(width, height).steps(1).render(video);
            }
            GraphTimer.Snapshot g0 = GraphTimer.snapshot();
            long[] b0 = TimedBackend.transferredBytes();
            long t0 = System.nanoTime();
            var result = Avatar.from(image).speak(audio).model(m).size(width, height).steps(steps).render(video);
            double wall = (System.nanoTime() - t0) / 1e9;
            GraphTimer.Snapshot graphs = GraphTimer.snapshot().minus(g0);
            long[] b1 = TimedBackend.transferredBytes();
            long toDevice = b1[0] - b0[0];
            long toHost = b1[1] - b0[1];
            StableAvatarConfig cfg = StableAvatarEngine.configOf(Bundle.open(model).manifest());
            int frames = result.frames();
            double seconds = frames / (double) cfg.fps();
            int latentFrames = (frames - 1) / cfg.temporalStride() + 1;
            StringBuilder line = new StringBuilder("RESULT");
            kv(line, "size", width + "x" + height);
            kv(line, "steps", steps);
            kv(line, "video_s", fmt(seconds));
            kv(line, "wall_s", fmt(wall));
            kv(line, "s_per_video_s", fmt(wall / seconds));
            kv(line, "h2d_bytes", toDevice);
            kv(line, "d2h_bytes", toHost);
            kv(line, "bus_bytes_per_latent_frame", (toDevice + toHost) / Math.max(1, latentFrames));
            for (Map.Entry<String, long[]> e : graphs.byGraph().entrySet()) {
                long[] v = e.getValue();
                if (v[1] > 0) {
                    kv(line, "ms_per_call." + e.getKey(), fmt(v[0] / 1e6 / v[1]));
                    kv(line, "calls." + e.getKey(), v[1]);
                }
            }
            long[] dit = graphs.byGraph().get("dit");
            if (dit != null && dit[1] > 0) {
                DitFlops f = DitFlops.of(Bundle.open(model).graphFile("dit"), 2L * cfg.latentChannels() + 4,
                        StableAvatarPlan.BRANCHES, cfg.windowLatents(), height / cfg.spatialStride(),
                        width / cfg.spatialStride(), cfg.patch()[1], cfg.patch()[2], fullAttentionBlocks);
                double ditFlops = f.total() * dit[1];
                kv(line, "dit_tflops", fmt(ditFlops / (dit[0] / 1e9) / 1e12));
                if (peakTflops > 0) {
                    kv(line, "dit_of_peak", fmt(ditFlops / (dit[0] / 1e9) / (peakTflops * 1e12)));
                    kv(line, "e2e_of_peak", fmt(ditFlops / wall / (peakTflops * 1e12)));
                }
            }
            System.out.println(line); // the run book's output, read by bench/gpu/run
            return 0;
        } finally {
            if (out == null) {
                Files.deleteIfExists(video);
            }
        }
    }

    private static void kv(StringBuilder b, String k, Object v) {
        b.append(' ').append(k).append('=').append(v);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4g", v);
    }
}
