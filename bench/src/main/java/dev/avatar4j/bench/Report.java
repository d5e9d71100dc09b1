package dev.avatar4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Collects the sections' results and writes BENCHMARKS.md and its PNG plots. */
final class Report {
    /** Graph keys in pipeline order (file names without .onnx). */
    static final List<String> STAGES = List.of("text_encoder", "image_encoder", "vae_encoder", "audio_encoder", "dit",
            "vae_decoder");

    /** Every section name of {@code --sections}. */
    static final List<String> ALL_SECTIONS = List.of("overhead", "ttff", "memory", "pipeline", "concurrency", "frontend",
            "flops");
    /** Report headings in order. */
    static final List<String> SECTION_ORDER = List.of("SDK overhead", "Time to first frame", "Pipelining (encoding + muxing)",
            "Concurrency", "Memory vs audio length", "Audio front end and elementwise math (JMH vs numpy)",
            "DiT arithmetic and utilisation");
    /** The summary line prefix each section writes. */
    static final Map<String, String> VERDICT_OF = Map.of("overhead", "SDK overhead", "ttff", "TTFF", "memory", "Memory",
            "pipeline", "Pipelining", "concurrency", "Concurrency", "frontend", "Front end");

    private final Map<String, String> sections = new LinkedHashMap<>();
    private final List<Chart<?, ?>> pending = new ArrayList<>();
    private final List<String> pendingNames = new ArrayList<>();
    private final List<String> verdicts = new ArrayList<>();

    static String fmt(double v, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    static <T> T median(List<T> xs, ToDoubleFunction<T> key) {
        List<T> s = new ArrayList<>(xs);
        s.sort(Comparator.comparingDouble(key));
        return s.get((s.size() - 1) / 2);
    }

    private void plot(String file, Chart<?, ?> chart) {
        pending.add(chart);
        pendingNames.add(file);
    }

    private static String img(BenchMain b, String file, String alt) {
        Path rel = b.out.toAbsolutePath().getParent().relativize(b.plots.toAbsolutePath().resolve(file));
        return "![" + alt + "](" + rel.toString().replace('\\', '/') + ")\n";
    }

    private static XYChart xy(String title, String x, String y) {
        XYChart c = new XYChartBuilder().width(800).height(480).title(title).xAxisTitle(x).yAxisTitle(y).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        c.getStyler().setYAxisMin(0.0);
        return c;
    }

    // --- sections ---------------------------------------------------------------------------------

    void overhead(BenchMain b, Map<String, List<Workload.Run>> runs) {
        StringBuilder s = new StringBuilder();
        s.append("SDK overhead = generation wall time ÷ summed graph-run time inside it (same run; graph runs timed "
                + "by a decorator backend around every `GraphSession.run`/`runInto`). ")
                .append(fmt(b.overheadSeconds, 0)).append(" s of audio, ").append(b.steps).append(" steps, ")
                .append(b.size).append('x').append(b.size).append(", frames discarded; one warm-up generation, then ")
                .append(b.reps).append(" measured; the median run by ratio is shown, with the range over the runs.\n\n");
        s.append("The machine may be shared: when other processes compete for the cores, the generation thread "
                + "also waits for a core between graph runs, which the wall-time ratio counts as SDK overhead. The "
                + "CPU-time ratio (graph time + CPU time the generation thread spent outside graph runs, ÷ graph "
                + "time) removes that wait and equals the wall ratio on an idle machine; the load average during "
                + "the run is in the header.\n\n");
        s.append("| bundle | frames | DiT calls | DiT ms/call | wall s | graphs s | outside graphs s | **overhead** wall (min–max) | **overhead** CPU (min–max) |\n");
        s.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        CategoryChart chart = new CategoryChartBuilder().width(800).height(480)
                .title("Where a generation's wall time goes").xAxisTitle("bundle").yAxisTitle("% of wall time").build();
        chart.getStyler().setStacked(true);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        List<String> names = new ArrayList<>(runs.keySet());
        Map<String, List<Double>> share = new LinkedHashMap<>();
        StringBuilder stages = new StringBuilder("| bundle | " + String.join(" | ", STAGES) + " | outside graphs |\n|---|"
                + "---:|".repeat(STAGES.size() + 1) + "\n");
        for (var e : runs.entrySet()) {
            Workload.Run m = median(e.getValue(), Workload.Run::overhead);
            double lo = e.getValue().stream().mapToDouble(Workload.Run::overhead).min().orElse(Double.NaN);
            double hi = e.getValue().stream().mapToDouble(Workload.Run::overhead).max().orElse(Double.NaN);
            double clo = e.getValue().stream().mapToDouble(Workload.Run::cpuOverhead).min().orElse(Double.NaN);
            double chi = e.getValue().stream().mapToDouble(Workload.Run::cpuOverhead).max().orElse(Double.NaN);
            double dit = m.graphs().nanos("dit") / 1e6 / Math.max(1, m.graphs().calls("dit"));
            s.append("| ").append(e.getKey()).append(" | ").append(m.frames()).append(" | ")
                    .append(m.graphs().calls("dit")).append(" | ").append(fmt(dit, 1)).append(" | ")
                    .append(fmt(m.wallSeconds(), 3)).append(" | ").append(fmt(m.graphSeconds(), 3)).append(" | ")
                    .append(fmt(m.wallSeconds() - m.graphSeconds(), 3)).append(" | **").append(fmt(m.overhead(), 3))
                    .append("** (").append(fmt(lo, 3)).append("–").append(fmt(hi, 3)).append(") | **")
                    .append(fmt(m.cpuOverhead(), 3)).append("** (").append(fmt(clo, 3)).append("–").append(fmt(chi, 3))
                    .append(") |\n");
            stages.append("| ").append(e.getKey());
            for (String st : STAGES) {
                double pct = 100.0 * m.graphs().nanos(st) / m.wallNanos();
                share.computeIfAbsent(st, k -> new ArrayList<>()).add(pct);
                stages.append(" | ").append(fmt(m.graphs().nanos(st) / 1e9, 3)).append(" s (").append(fmt(pct, 1))
                        .append(" %)");
            }
            double outside = 100.0 * (m.wallNanos() - m.graphs().totalNanos()) / m.wallNanos();
            share.computeIfAbsent("outside graphs (SDK)", k -> new ArrayList<>()).add(outside);
            stages.append(" | ").append(fmt(m.wallSeconds() - m.graphSeconds(), 3)).append(" s (").append(fmt(outside, 1))
                    .append(" %) |\n");
            verdicts.add("SDK overhead, " + e.getKey() + ": wall **" + fmt(m.overhead(), 3) + "**, CPU **"
                    + fmt(m.cpuOverhead(), 3) + "** (target ≤ 1.03)");
        }
        share.forEach((k, v) -> chart.addSeries(k, names, v));
        plot("overhead-per-stage.png", chart);
        s.append("\nTime per stage in the median run (graph-run time of each graph; \"outside graphs\" is everything "
                + "else: SDK glue, guidance arithmetic, copies, frame conversion, thread hand-offs):\n\n")
                .append(stages).append('\n').append(img(b, "overhead-per-stage.png", "share of wall time per stage"));
        sections.put("SDK overhead", s.toString());
    }

    void ttff(BenchMain b, Map<String, double[][]> byLength, Map<String, double[][]> bySteps) {
        StringBuilder s = new StringBuilder();
        s.append("Time from `start()` to the first frame delivered (the generation is cancelled right after it). ")
                .append(b.steps).append(" steps for the length sweep; ")
                .append(fmt(b.ttffLengths[Math.min(1, b.ttffLengths.length - 1)], 0))
                .append(" s of audio for the steps sweep; median of ").append(b.reps).append(".\n\n");
        s.append("| bundle | audio s | TTFF s | graph s before it | DiT calls before it |\n|---|---:|---:|---:|---:|\n");
        XYChart c = xy("Time to first frame vs audio length (" + b.steps + " steps)", "audio length (s)", "TTFF (s)");
        for (var e : byLength.entrySet()) {
            double[] xs = b.ttffLengths.clone();
            double[] ys = new double[xs.length];
            for (int i = 0; i < xs.length; i++) {
                double[] p = e.getValue()[i];
                ys[i] = p[0];
                s.append("| ").append(e.getKey()).append(" | ").append(fmt(xs[i], 0)).append(" | ").append(fmt(p[0], 3))
                        .append(" | ").append(fmt(p[1], 3)).append(" | ").append((long) p[2]).append(" |\n");
            }
            c.addSeries(e.getKey(), xs, ys).setMarker(SeriesMarkers.CIRCLE);
            verdicts.add("TTFF " + e.getKey() + ": " + fmt(ys[ys.length - 1] / ys[0], 2) + "× from " + fmt(xs[0], 0)
                    + " s to " + fmt(xs[xs.length - 1], 0) + " s of audio (flat = 1)");
        }
        plot("ttff-vs-length.png", c);
        s.append('\n').append(img(b, "ttff-vs-length.png", "time to first frame vs audio length"));
        s.append("\n| bundle | steps | TTFF s | graph s before it | DiT calls before it |\n|---|---:|---:|---:|---:|\n");
        XYChart c2 = xy("Time to first frame vs steps", "denoising steps", "TTFF (s)");
        for (var e : bySteps.entrySet()) {
            double[] xs = new double[b.ttffSteps.length];
            double[] ys = new double[xs.length];
            for (int i = 0; i < xs.length; i++) {
                double[] p = e.getValue()[i];
                xs[i] = b.ttffSteps[i];
                ys[i] = p[0];
                s.append("| ").append(e.getKey()).append(" | ").append(b.ttffSteps[i]).append(" | ").append(fmt(p[0], 3))
                        .append(" | ").append(fmt(p[1], 3)).append(" | ").append((long) p[2]).append(" |\n");
            }
            c2.addSeries(e.getKey(), xs, ys).setMarker(SeriesMarkers.CIRCLE);
        }
        plot("ttff-vs-steps.png", c2);
        s.append('\n').append(img(b, "ttff-vs-steps.png", "time to first frame vs steps"));
        sections.put("Time to first frame", s.toString());
    }

    void memory(BenchMain b, List<BenchMain.MemoryPoint> points) {
        StringBuilder s = new StringBuilder();
        s.append("Each point is one `bin/avatar4j generate` run as users run it: a fresh process, no "
                        + "`AVATAR4J_JAVA_OPTS` (nor `JDK_JAVA_OPTIONS`, `JAVA_TOOL_OPTIONS`, `MALLOC_ARENA_MAX`), so the "
                        + "tool's own heap policy (docs/USER-GUIDE.md, memory); the repository's portrait, speech from a 16-bit WAV "
                        + "file (streamed), ").append(b.memorySteps).append(" steps, an MP4 written (`png`: plus "
                        + "`--png-dir`). Peak RSS = the process's maximum resident set (`/usr/bin/time` `%M`, else "
                        + "`VmHWM`): heap, JVM native, ONNX Runtime, FFmpeg and code together. The ratio is against the "
                        + "first length of the same model, size and output; the target is ≤ 1.1.\n\n");
        s.append("| model | size | output | audio s | frames | wall s | **peak RSS MiB** | **ratio** |\n"
                + "|---|---|---|---:|---:|---:|---:|---:|\n");
        XYChart c = xy("Peak RSS of bin/avatar4j vs audio length (" + b.memorySteps + " steps)", "audio length (s)",
                "MiB");
        Map<String, List<BenchMain.MemoryPoint>> by = new LinkedHashMap<>();
        points.forEach(p -> by.computeIfAbsent(p.series(), k -> new ArrayList<>()).add(p));
        for (var e : by.entrySet()) {
            List<BenchMain.MemoryPoint> ps = e.getValue();
            double base = ps.get(0).mib("hwmKiB");
            for (BenchMain.MemoryPoint p : ps) {
                s.append("| ").append(p.model()).append(" | ").append(p.size()).append('x').append(p.size())
                        .append(" | ").append(p.output()).append(" | ").append(fmt(p.seconds(), 0)).append(" | ")
                        .append(Double.isNaN(p.v().get("frames")) ? "?" : Long.toString((long) (double) p.v().get("frames")))
                        .append(" | ").append(fmt(p.v().get("wall"), 1)).append(" | **").append(fmt(p.mib("hwmKiB"), 0))
                        .append("** | **").append(fmt(p.mib("hwmKiB") / base, 3)).append("** |\n");
            }
            c.addSeries(e.getKey(), ps.stream().mapToDouble(BenchMain.MemoryPoint::seconds).toArray(),
                    ps.stream().mapToDouble(p -> p.mib("hwmKiB")).toArray()).setMarker(SeriesMarkers.CIRCLE);
            BenchMain.MemoryPoint last = ps.get(ps.size() - 1);
            verdicts.add("Memory " + e.getKey() + ": peak RSS " + fmt(last.seconds(), 0) + " s ÷ "
                    + fmt(ps.get(0).seconds(), 0) + " s = **" + fmt(last.mib("hwmKiB") / base, 3) + "** (target ≤ 1.1)");
        }
        plot("memory-vs-length.png", c);
        s.append('\n').append(img(b, "memory-vs-length.png", "peak RSS vs audio length"));
        sections.put("Memory vs audio length", s.toString());
    }

    void pipeline(BenchMain b, Map<String, double[]> res) {
        StringBuilder s = new StringBuilder();
        s.append("Wall time writing an MP4 (H.264 + AAC through `sdk-media`, `start(Path)`) vs the same generation "
                + "with frames discarded; ").append(fmt(b.pipelineSeconds, 0)).append(" s of audio, ").append(b.steps)
                .append(" steps, median of ").append(b.reps).append(" interleaved pairs. Frames are encoded as they "
                        + "are produced, on an encoder thread fed through a bounded queue, so encoding overlaps with "
                        + "the next frames' generation; on a machine whose cores are all busy with the graphs "
                        + "(ONNX Runtime uses every core), the encoder's CPU time still shows in the wall time.\n\n");
        s.append("| bundle | frames | generation alone s | with MP4 s | **ratio** | MP4 bytes |\n|---|---:|---:|---:|---:|---:|\n");
        res.forEach((k, v) -> {
            s.append("| ").append(k).append(" | ").append((long) v[4]).append(" | ").append(fmt(v[0], 3)).append(" | ")
                    .append(fmt(v[1], 3)).append(" | **").append(fmt(v[2], 3)).append("** | ")
                    .append(String.format(Locale.ROOT, "%,d", (long) v[3])).append(" |\n");
            verdicts.add("Pipelining " + k + ": MP4 ÷ alone = **" + fmt(v[2], 3) + "** (target ≤ 1.05)");
        });
        sections.put("Pipelining (encoding + muxing)", s.toString());
    }

    void concurrency(BenchMain b, Map<String, List<double[]>> res) {
        StringBuilder s = new StringBuilder();
        s.append("N generations started together on one shared `AvatarModel` (seeds 100…100+N−1), ")
                .append(fmt(b.concurrencySeconds, 0)).append(" s of audio and ").append(b.concurrencySteps)
                .append(" steps each; \"identical\" compares the SHA-256 of every frame with a sequential run of the "
                        + "same seed. A deadlock would fail the run (10 min limit per generation).\n\n");
        s.append("| bundle | N | wall s | frames/s | speed-up vs N=1 | outputs identical to sequential |\n|---|---:|---:|---:|---:|---|\n");
        XYChart c = xy("Throughput vs parallel generations", "parallel generations N", "frames / s");
        res.forEach((k, rows) -> {
            for (double[] r : rows) {
                s.append("| ").append(k).append(" | ").append((int) r[0]).append(" | ").append(fmt(r[1], 2)).append(" | ")
                        .append(fmt(r[2], 1)).append(" | ").append(fmt(r[3], 2)).append(" | ")
                        .append(r[4] == 1 ? "yes" : "**NO**").append(" |\n");
            }
            c.addSeries(k, rows.stream().mapToDouble(r -> r[0]).toArray(), rows.stream().mapToDouble(r -> r[2]).toArray())
                    .setMarker(SeriesMarkers.CIRCLE);
            verdicts.add("Concurrency " + k + ": outputs identical to sequential: "
                    + (rows.stream().allMatch(r -> r[4] == 1) ? "yes" : "**NO**"));
        });
        plot("concurrency.png", c);
        s.append('\n').append(img(b, "concurrency.png", "throughput vs parallel generations"));
        sections.put("Concurrency", s.toString());
    }

    void frontEnd(Map<String, double[]> java, Map<String, Double> numpy, String numpyVersion) {
        StringBuilder s = new StringBuilder();
        s.append("JMH (1 fork, 3 × 0.5 s warm-up, 5 × 0.5 s measured, mean ± 99.9 % error) for Java; the numpy "
                + "reference (`tools/bench_frontend_numpy.py`, numpy ").append(numpyVersion == null ? "not run" : numpyVersion)
                .append(", median of 15) on the same synthetic audio, started by the harness in the same run. "
                        + "Ratio > 1 means Java is faster. The log-mel rows are the two Whisper front ends "
                        + "(`WhisperLogMel`, 128 mel bins, HF semantics, LongCat; `WhisperLogMelWholeFile`, 80 "
                        + "mel bins, openai-whisper semantics, LatentSync) on 30 s, against the vectorised numpy "
                        + "form of the same float64 arithmetic (strided frames, batched `rfft`, dense filter-bank "
                        + "matrix product, on as many threads as numpy's BLAS uses; the Java front ends run on one); "
                        + "Java skips the filter bank's zero weights, which changes no bit. The wav2vec2 "
                        + "normaliser reproduces numpy's float32 pairwise summation bit for bit, which is why its "
                        + "sums are scalar code.\n\n");
        s.append("| benchmark | Java µs/call | numpy µs/call | **numpy ÷ Java** |\n|---|---:|---:|---:|\n");
        java.forEach((k, v) -> {
            Double np = numpy.get(k);
            s.append("| ").append(k).append(" | ").append(fmt(v[0], 1)).append(Double.isNaN(v[1]) ? "" : " ± " + fmt(v[1], 1))
                    .append(" | ").append(np == null ? "–" : fmt(np, 1)).append(" | **")
                    .append(np == null ? "–" : fmt(np / v[0], 2)).append("** |\n");
            if (np != null) {
                verdicts.add("Front end " + k + ": numpy ÷ Java = **" + fmt(np / v[0], 2) + "** (Java not slower: ≥ 1)");
            }
        });
        List<String> agreement = java.keySet().stream().filter(k -> numpy.containsKey("maxAbsDiff_" + k))
                .map(k -> "- " + k + ": largest |numpy − Java| over all values = "
                        + String.format(Locale.ROOT, "%.1e", numpy.get("maxAbsDiff_" + k)) + "\n").toList();
        if (!agreement.isEmpty()) {
            s.append("\nSame values, not just the same work (numpy's outputs against Java's, float32):\n\n");
            agreement.forEach(s::append);
        }
        sections.put("Audio front end and elementwise math (JMH vs numpy)", s.toString());
    }

    void flops(List<String[]> rows, double peak, boolean given) {
        StringBuilder s = new StringBuilder();
        s.append("Arithmetic of one guided DiT call (3 branches batched, one 21-latent window) from the bundle's "
                + "DiT graph (parameters read from the ONNX initializers, width from the patch embedding) and the "
                + "request geometry: dense FLOPs = 2 × parameters × tokens (an upper bound for these synthetic "
                + "bundles, whose context/adapter weights see fewer tokens; add `--full-attention-blocks 30` for a "
                + "real Wan 1.3B export to include 4·L·B·S²·D of full self-attention). Achieved = FLOPs ÷ the "
                + "measured mean DiT call of the overhead runs; utilisation against ")
                .append(given ? "the given peak of " + fmt(peak / 1e12, 1) + " TFLOPS"
                        : "an estimated CPU float32 peak of " + fmt(peak / 1e9, 0)
                        + " GFLOP/s (cores × clock × 32 FLOPs/cycle for two FMA units; an upper bound)")
                .append(".\n\n");
        s.append("| bundle | DiT parameters | width D | tokens/call | GFLOPs/call | measured ms/call | achieved GFLOP/s | utilisation |\n");
        s.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (String[] r : rows) {
            s.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        sections.put("DiT arithmetic and utilisation", s.toString());
    }

    // --- output -----------------------------------------------------------------------------------

    void write(BenchMain b, Instant started) throws IOException {
        for (int i = 0; i < pending.size(); i++) {
            BitmapEncoder.saveBitmap(pending.get(i), b.plots.resolve(pendingNames.get(i)).toString(),
                    BitmapEncoder.BitmapFormat.PNG);
        }
        Map<String, String> old = new LinkedHashMap<>();
        List<String> oldVerdicts = new ArrayList<>();
        String oldHeader = null;
        boolean partial = !b.sections.containsAll(ALL_SECTIONS) && Files.isRegularFile(b.out) && !b.quick;
        if (partial) { // keep the sections this run did not measure, from the previous report
            String[] parts = Files.readString(b.out).split("\n## ");
            oldHeader = parts[0];
            for (int i = 1; i < parts.length; i++) {
                int nl = parts[i].indexOf('\n');
                String title = parts[i].substring(0, nl);
                String body = parts[i].substring(nl + 1).replaceFirst("^\n", "");
                if (title.equals("Summary")) {
                    for (String line : body.split("\n")) {
                        if (line.startsWith("- ") && VERDICT_OF.entrySet().stream().noneMatch(
                                e -> b.sections.contains(e.getKey()) && line.startsWith("- " + e.getValue()))) {
                            oldVerdicts.add(line.substring(2));
                        }
                    }
                } else if (!title.startsWith("GPU runs")) {
                    old.put(title, body);
                }
            }
            old.keySet().removeIf(sections::containsKey);
            old.putAll(sections);
            Map<String, String> ordered = new LinkedHashMap<>();
            for (String t : SECTION_ORDER) {
                if (old.containsKey(t)) {
                    ordered.put(t, old.remove(t));
                }
            }
            ordered.putAll(old);
            sections.clear();
            sections.putAll(ordered);
            oldVerdicts.addAll(verdicts);
            verdicts.clear();
            verdicts.addAll(oldVerdicts);
        }
        if (Files.isRegularFile(b.out)) { // sections written by other tools survive a full run too
            handWrittenSections(Files.readString(b.out)).forEach(sections::putIfAbsent);
        }
        StringBuilder md = new StringBuilder();
        if (oldHeader != null) {
            md.append(oldHeader.stripTrailing()).append('\n');
            md.append("- **Updated:** sections ").append(String.join(", ", b.sections)).append(" re-measured by `")
                    .append(b.command.strip()).append("` at ").append(started.truncatedTo(ChronoUnit.SECONDS)).append(", ")
                    .append(ChronoUnit.SECONDS.between(started, Instant.now())).append(" s, load average at start ")
                    .append(b.loadAtStart).append(", at end ").append(Machine.loadAverage()).append('\n');
        } else {
        md.append("# Benchmarks\n\n");
        md.append("<!-- Generated by the benchmark harness (bench/, dev.avatar4j.bench.BenchMain). Do not edit: re-run "
                + "the command below. -->\n\n");
        md.append("Performance evidence for the quality bars of docs/ARCHITECTURE.md §7, produced in one run of:\n\n```\n")
                .append(b.command).append("\n```\n\n");
        md.append("- **Machine:** ").append(Machine.describe()).append('\n');
        md.append("- **Backend:** `").append(b.backend).append("` (").append(b.precision).append("), intra-op threads ")
                .append(b.threads == 0 ? "backend default" : b.threads).append('\n');
        md.append("- **Bundles:** ");
        Set<String> names = new LinkedHashSet<>();
        b.bundlesForReport().forEach((n, p) -> names.add("`" + n + "` (" + describeBundle(p) + ")"));
        md.append(String.join("; ", names)).append('\n');
        md.append("- **Load average** (1/5/15 min) at start: ").append(b.loadAtStart).append(", at end: ")
                .append(Machine.loadAverage()).append(" (").append(Runtime.getRuntime().availableProcessors())
                .append(" cores; above that, other processes competed for the CPU)\n");
        md.append("- **Run:** ").append(started.truncatedTo(ChronoUnit.SECONDS)).append(", ")
                .append(ChronoUnit.SECONDS.between(started, Instant.now())).append(" s").append(b.quick ? " (--quick smoke run)" : "")
                .append('\n');
        }
        md.append("\n## Summary\n\n");
        verdicts.forEach(v -> md.append("- ").append(v).append('\n'));
        sections.forEach((k, v) -> md.append("\n## ").append(k).append("\n\n").append(v));
        md.append("\n## GPU runs (prepared, not run here: no GPU on this machine)\n\n");
        md.append("The same harness selects the inner backend and precision, and prints utilisation against the "
                + "GPU's peak:\n\n```\n"
                + "bench/run --backend onnx-cuda --precision fp32 --peak-tflops 67    # H100 SXM FP32 dense\n"
                + "bench/run --backend onnx-cuda --precision fp16 --peak-tflops 989   # H100 SXM FP16 dense (tensor cores)\n"
                + "bench/run --backend tensorrt  --precision fp16 --peak-tflops 989\n"
                + "```\n\n"
                + "- `onnx-cuda` runs the ONNX Runtime backend with `-Davatar4j.onnx.cuda=true` (needs the "
                + "`onnxruntime_gpu` build on the class path); `tensorrt` runs the TensorRT backend "
                + "(`sdk-runtime-tensorrt`: needs the NVIDIA driver, TensorRT 10 and the avatar4j shim library, see "
                + "docs/TENSORRT.md; engines are built on first use and cached, so the warm-up generation pays "
                + "for the build and the measured ones do not).\n"
                + "- `--precision` is recorded in the report and passed as `-Davatar4j.tensorrt.precision` for backends that "
                + "build engines (TensorRT builder flags; it then overrides the bundle's per-graph precisions, which "
                + "`bench/gpu/run` keeps). ONNX Runtime runs a graph in the precision it was "
                + "exported in: an FP16 comparison on `onnx-cuda` needs an FP16 export of the bundle passed with `--mid`.\n"
                + "- Use `--size 512` (or the bundle's native size) and `--full-attention-blocks` for real bundles so "
                + "that the FLOPs match the graph; on a GPU the SDK overhead ratio is the number to watch, since "
                + "the graphs get 10–100× faster while the CPU-side glue does not.\n");
        Files.writeString(b.out, md.toString());
    }

    /** Marks a section of BENCHMARKS.md that another tool measured (the exporter's rehearsal). */
    static final String HAND_WRITTEN = "<!-- Not generated by bench/run";

    /**
     * The sections of a previous report that carry {@link #HAND_WRITTEN}, by title, in their order: a
     * run of the harness, whichever sections it measures, keeps them instead of dropping figures it
     * cannot reproduce.
     */
    static Map<String, String> handWrittenSections(String report) {
        Map<String, String> kept = new LinkedHashMap<>();
        String[] parts = report.split("\n## ");
        for (int i = 1; i < parts.length; i++) {
            int nl = parts[i].indexOf('\n');
            if (nl < 0) {
                continue;
            }
            String body = parts[i].substring(nl + 1).replaceFirst("^\n", "");
            if (body.contains(HAND_WRITTEN)) {
                kept.put(parts[i].substring(0, nl), body);
            }
        }
        return kept;
    }

    private static String describeBundle(Path p) {
        try {
            var mf = dev.avatar4j.bundle.Bundle.open(p).manifest();
            long params = OnnxStats.parameters(dev.avatar4j.bundle.Bundle.open(p).graphFile("dit"));
            return String.format(Locale.ROOT, "DiT %,d parameters", params) + ", " + mf.family();
        } catch (Exception e) {
            return p.toString();
        }
    }
}
