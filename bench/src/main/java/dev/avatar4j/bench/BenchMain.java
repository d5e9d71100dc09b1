package dev.avatar4j.bench;

import dev.avatar4j.AvatarModel;
import dev.avatar4j.audio.WhisperLogMel;
import dev.avatar4j.audio.WhisperLogMelWholeFile;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.BundleManifest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The benchmark harness behind {@code bench/run}: measures SDK overhead, memory vs audio length,
 * time to first frame, pipelining, concurrency, the audio front end (vs numpy) and the DiT's
 * arithmetic, on the tiny bundle and a mid-size synthetic bundle, and writes BENCHMARKS.md with
 * PNG plots. Everything in the report is produced by this run; nothing is edited by hand.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "avatar4j benchmarks -> BENCHMARKS.md")
public final class BenchMain implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(BenchMain.class);

    @Option(names = "--out", description = "report file (default ${DEFAULT-VALUE})")
    Path out = Path.of("BENCHMARKS.md");
    @Option(names = "--plots", description = "plot directory, referenced relative to the report (default ${DEFAULT-VALUE})")
    Path plots = Path.of("docs/bench");
    @Option(names = "--tiny", description = "tiny bundle (default ${DEFAULT-VALUE})")
    Path tiny = Path.of("models/stableavatar-tiny");
    @Option(names = "--mid", description = "mid-size bundle from tools/make_midsize_stableavatar.py (default ${DEFAULT-VALUE})")
    Path mid = Path.of("target/bench-bundles/stableavatar-mid");
    @Option(names = "--backend", description = "onnx | onnx-cuda | tensorrt (default ${DEFAULT-VALUE})")
    String backend = "onnx";
    @Option(names = "--precision", description = "fp32 | fp16: recorded, and passed to backends that build engines (default ${DEFAULT-VALUE})")
    String precision = "fp32";
    @Option(names = "--threads", description = "intra-op threads per graph run, 0 = backend default (default ${DEFAULT-VALUE})")
    int threads;
    @Option(names = "--size", description = "output width = height (default ${DEFAULT-VALUE})")
    int size = 256;
    @Option(names = "--reps", description = "measured repetitions per point (default ${DEFAULT-VALUE})")
    int reps = 3;
    @Option(names = "--steps", description = "denoising steps of the overhead/pipeline runs (default ${DEFAULT-VALUE})")
    int steps = 4;
    @Option(names = "--overhead-seconds", description = "audio length of the overhead runs (default ${DEFAULT-VALUE})")
    double overheadSeconds = 10;
    @Option(names = "--ttff-lengths", split = ",", description = "audio lengths, s (default ${DEFAULT-VALUE})")
    double[] ttffLengths = {10, 30, 120, 600};
    @Option(names = "--ttff-steps", split = ",", description = "steps for TTFF vs steps (default ${DEFAULT-VALUE})")
    int[] ttffSteps = {1, 2, 4, 8};
    @Option(names = "--memory-lengths", split = ",", description = "audio lengths, s; the first is the baseline (default ${DEFAULT-VALUE})")
    double[] memoryLengths = {30, 120, 600};
    @Option(names = "--memory-steps", description = "steps of the memory runs (default ${DEFAULT-VALUE})")
    int memorySteps = 2;
    @Option(names = "--memory-sizes", split = ",", description = "video sizes (width = height) of the memory runs (default ${DEFAULT-VALUE})")
    int[] memorySizes = {128, 512};
    @Option(names = "--memory-outputs", split = ",", description = "mp4 and/or png (mp4 plus --png-dir) (default ${DEFAULT-VALUE})")
    List<String> memoryOutputs = List.of("mp4");
    @Option(names = "--memory-bundles", split = ",", description = "bundle names measured for memory, 'preview' for "
            + "the built-in default model (default: preview and the tiny bundle; the mid bundle at 512x512 for 10 "
            + "minutes of speech would take hours on a CPU)")
    List<String> memoryBundles;
    @Option(names = "--pipeline-seconds", description = "audio length of the pipelining runs (default ${DEFAULT-VALUE})")
    double pipelineSeconds = 10;
    @Option(names = "--concurrency", split = ",", description = "parallel generations (default ${DEFAULT-VALUE})")
    int[] concurrency = {1, 2, 4};
    @Option(names = "--concurrency-seconds", description = "audio length per concurrent generation (default ${DEFAULT-VALUE})")
    double concurrencySeconds = 4;
    @Option(names = "--concurrency-steps", description = "steps per concurrent generation (default ${DEFAULT-VALUE})")
    int concurrencySteps = 2;
    @Option(names = "--peak-tflops", description = "device peak (dense) TFLOPS for utilisation; 0 = estimate for CPU (default ${DEFAULT-VALUE})")
    double peakTflops;
    @Option(names = "--full-attention-blocks", description = "full self-attention blocks of the DiT for the FLOPs (real Wan 1.3B: 30); 0 for the synthetic bundles (default ${DEFAULT-VALUE})")
    int fullAttentionBlocks;
    @Option(names = "--sections", split = ",", description = "overhead,ttff,memory,pipeline,concurrency,frontend,flops (default all)")
    List<String> sections = List.of("overhead", "ttff", "memory", "pipeline", "concurrency", "frontend", "flops");
    @Option(names = "--python", description = "python with numpy for the reference timings; empty skips them (default ${DEFAULT-VALUE})")
    String python = "/usr/bin/python3";
    @Option(names = "--quick", description = "smoke test: tiny bundle only, one short point per section")
    boolean quick;
    @Option(names = "--command", description = "the command line to print in the report", hidden = true)
    String command = "bench/run";

    private final Report report = new Report();
    String loadAtStart = "n/a";
    private final Map<String, Path> bundles = new LinkedHashMap<>();
    private final Map<String, Double> ditMsPerCall = new LinkedHashMap<>();

    /** Entry point. */
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the harness; returns the exit status. */
    public static int run(String... args) {
        System.setProperty("java.awt.headless", "true");
        return new CommandLine(new BenchMain()).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        configureBackend();
        bundles.put(name(tiny), tiny);
        if (!quick) {
            if (!Files.isRegularFile(mid.resolve(BundleManifest.FILE_NAME))) {
                throw new CommandLine.ParameterException(new CommandLine(this), "no mid-size bundle at " + mid
                        + ": bench/run generates it with tools/make_midsize_stableavatar.py");
            }
            bundles.put(name(mid), mid);
        } else {
            reps = 1;
            overheadSeconds = 2;
            ttffLengths = new double[] {2, 6};
            ttffSteps = new int[] {1, 2};
            memoryLengths = new double[] {2, 4};
            memorySteps = 1;
            pipelineSeconds = 2;
            concurrency = new int[] {1, 2};
            concurrencySeconds = 1;
            concurrencySteps = 1;
        }
        Files.createDirectories(plots.toAbsolutePath());
        Instant started = Instant.now();
        loadAtStart = Machine.loadAverage();
        Map<String, AvatarModel> models = new LinkedHashMap<>();
        try {
            for (var e : bundles.entrySet()) {
                models.put(e.getKey(), AvatarModel.builder(e.getValue()).backend(TimedBackendProvider.NAME)
                        .threads(threads).load());
            }
            Sections s = new Sections(this, models);
            if (sections.contains("overhead")) {
                s.overhead();
            }
            if (sections.contains("ttff")) {
                s.ttff();
            }
            if (sections.contains("pipeline")) {
                s.pipeline();
            }
            if (sections.contains("concurrency")) {
                s.concurrency();
            }
        } finally {
            models.values().forEach(AvatarModel::close);
        }
        if (sections.contains("memory")) {
            memory();
        }
        if (sections.contains("frontend")) {
            frontEnd();
        }
        if (sections.contains("flops")) {
            flops();
        }
        report.write(this, started);
        log.info("wrote {} and plots in {} in {} s", out, plots, ChronoUnit.SECONDS.between(started, Instant.now()));
        return 0;
    }

    private void configureBackend() {
        switch (backend.toLowerCase(Locale.ROOT)) {
            case "onnx" -> System.setProperty(TimedBackendProvider.INNER_PROPERTY, "onnx");
            case "onnx-cuda" -> {
                System.setProperty(TimedBackendProvider.INNER_PROPERTY, "onnx");
                System.setProperty("avatar4j.onnx.cuda", "true");
            }
            case "tensorrt" -> System.setProperty(TimedBackendProvider.INNER_PROPERTY, "tensorrt");
            default -> throw new CommandLine.ParameterException(new CommandLine(this),
                    "--backend must be onnx, onnx-cuda or tensorrt");
        }
        if (!precision.equals("fp32") && !precision.equals("fp16")) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--precision must be fp32 or fp16");
        }
        System.setProperty(PRECISION_PROPERTY, precision);
    }

    /** The TensorRT backend's engine precision ({@code TrtOptions}): fp16 or fp32 engines. */
    static final String PRECISION_PROPERTY = "avatar4j.tensorrt.precision";

    static String name(Path bundle) {
        try {
            return Bundle.open(bundle).manifest().name();
        } catch (RuntimeException e) {
            return bundle.getFileName().toString();
        }
    }

    Map<String, Path> bundlesForReport() {
        return bundles;
    }

    void recordDitMs(String bundle, double ms) {
        ditMsPerCall.put(bundle, ms);
    }

    // --- memory: one fresh JVM per (bundle, length) -------------------------------------------------

    /**
     * One {@code bin/avatar4j generate} run: its peak resident set ({@code hwmKiB}), frames and wall
     * time; {@code model} names the bundle ("preview" for the built-in default), {@code series}
     * the curve it belongs to (model, size, output).
     */
    record MemoryPoint(String model, int size, String output, double seconds, Map<String, Double> v) {
        String series() {
            return model + " " + size + "x" + size + " " + output;
        }

        double mib(String key) {
            return v.get(key) / (key.endsWith("KiB") ? 1024.0 : 1024.0 * 1024.0);
        }
    }

    /** The CLI the memory runs use: the tool as users run it. */
    static final Path CLI = Path.of("bin", "avatar4j");

    private void memory() throws IOException, InterruptedException {
        if (!Files.isExecutable(CLI)) {
            throw new IllegalStateException("no " + CLI + ": run bench/run from the repository root");
        }
        Map<String, Path> models = new LinkedHashMap<>();
        models.put("preview", null);
        models.putAll(bundles);
        List<MemoryPoint> points = new ArrayList<>();
        List<String> measured = memoryBundles != null ? memoryBundles : List.of("preview", name(tiny));
        for (var e : models.entrySet()) {
            if (!measured.contains(e.getKey())) {
                continue;
            }
            for (int sz : memorySizes) {
                for (String output : memoryOutputs) {
                    for (double sec : memoryLengths) {
                        points.add(cliRun(e.getKey(), e.getValue(), sz, output, sec));
                    }
                }
            }
        }
        report.memory(this, points);
    }

    /**
     * Runs {@code bin/avatar4j generate} in a clean environment (no AVATAR4J_JAVA_OPTS,
     * JDK_JAVA_OPTIONS, JAVA_TOOL_OPTIONS, MALLOC_ARENA_MAX or AVATAR4J_MODEL: the tool's own heap
     * policy) and reads its peak RSS from {@code /usr/bin/time}, else by polling {@code VmHWM}.
     */
    private MemoryPoint cliRun(String model, Path bundle, int sz, String output, double seconds)
            throws IOException, InterruptedException {
        Path tmp = Files.createTempDirectory("avatar4j-bench-memory");
        Path wav = Workload.writeWav(seconds, tmp.resolve("speech.wav"));
        Path timeFile = tmp.resolve("time.txt");
        boolean gnuTime = Files.isExecutable(Path.of("/usr/bin/time"));
        List<String> cmd = new ArrayList<>();
        if (gnuTime) {
            cmd.addAll(List.of("/usr/bin/time", "-o", timeFile.toString(), "-f", "%M"));
        }
        cmd.addAll(List.of(CLI.toString(), "generate", "--image", Path.of("examples", "media", "portrait.png").toString(),
                "--audio", wav.toString(), "--out", tmp.resolve("out.mp4").toString(), "--width", Integer.toString(sz),
                "--height", Integer.toString(sz), "--steps", Integer.toString(memorySteps)));
        if (bundle != null) {
            cmd.addAll(List.of("--model", bundle.toString()));
        }
        if (output.equals("png")) {
            cmd.addAll(List.of("--png-dir", tmp.resolve("frames").toString()));
        }
        log.info("memory: bin/avatar4j {} {}x{} {} {} s", model, sz, sz, output, seconds);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        for (String var : List.of("AVATAR4J_JAVA_OPTS", "JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "MALLOC_ARENA_MAX",
                "AVATAR4J_MODEL", "AVATAR4J_BACKEND")) {
            pb.environment().remove(var);
        }
        long started = System.nanoTime();
        Process p = pb.start();
        long polledHwm = -1;
        StringBuilder all = new StringBuilder();
        Thread reader = Thread.ofPlatform().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (all) {
                        all.append(line).append('\n');
                    }
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
        while (!p.waitFor(100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            if (!gnuTime) { // bin/avatar4j execs the JVM, so the process's pid becomes the JVM's
                polledHwm = Math.max(polledHwm, hwmKiB(p.pid()));
            }
        }
        reader.join();
        double wall = (System.nanoTime() - started) / 1e9;
        String text;
        synchronized (all) {
            text = all.toString();
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException("bin/avatar4j failed (" + p.exitValue() + "): " + cmd + "\n" + text);
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\((\\d+) frames").matcher(text);
        Map<String, Double> v = new LinkedHashMap<>();
        v.put("hwmKiB", (double) (gnuTime ? Long.parseLong(Files.readString(timeFile).strip().lines()
                .reduce((a, b) -> b).orElseThrow()) : polledHwm));
        v.put("frames", m.find() ? Double.parseDouble(m.group(1)) : Double.NaN);
        v.put("wall", wall);
        try (var files = Files.walk(tmp)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
        return new MemoryPoint(model, sz, output, seconds, v);
    }

    /** {@code VmHWM} of process {@code pid} in KiB, or -1. */
    private static long hwmKiB(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    // --- audio front end: JMH vs numpy -----------------------------------------------------------

    private void frontEnd() throws Exception {
        OptionsBuilder ob = new OptionsBuilder();
        ob.include(FrontEndBenchmarks.class.getName() + ".*").forks(1)
                .warmupIterations(quick ? 1 : 3).warmupTime(TimeValue.milliseconds(quick ? 100 : 500))
                .measurementIterations(quick ? 1 : 5).measurementTime(TimeValue.milliseconds(quick ? 100 : 500))
                .jvmArgsAppend("-Xmx1g").shouldFailOnError(true);
        Options opts = ob.build();
        Map<String, double[]> java = new LinkedHashMap<>();
        for (RunResult r : new Runner(opts).run()) {
            String bench = r.getParams().getBenchmark();
            var stats = r.getPrimaryResult().getStatistics();
            java.put(bench.substring(bench.lastIndexOf('.') + 1), new double[] {stats.getMean(),
                    stats.getN() > 1 ? stats.getMeanErrorAt(0.999) : Double.NaN});
        }
        Map<String, Double> numpy = new LinkedHashMap<>();
        String numpyVersion = null;
        if (python != null && !python.isBlank() && Files.isExecutable(Path.of(python))) {
            Path raw = Files.createTempFile("avatar4j-bench-audio", ".f32");
            // Java's log-mels of the same audio: the script reports how far its numpy ones are from them
            Path mel128 = Files.createTempFile("avatar4j-bench-mel128", ".f32");
            Path mel80 = Files.createTempFile("avatar4j-bench-mel80", ".f32");
            try {
                float[] a = Workload.audio(FrontEndBenchmarks.CLIP / (double) Workload.SAMPLE_RATE);
                writeFloats(raw, a);
                writeFloats(mel128, new WhisperLogMel(128).chunk(a, 0));
                float[][] m80 = new WhisperLogMelWholeFile().compute(a);
                float[] flat = new float[m80.length * m80[0].length];
                for (int r = 0; r < m80.length; r++) {
                    System.arraycopy(m80[r], 0, flat, r * m80[0].length, m80[0].length);
                }
                writeFloats(mel80, flat);
                Process p = new ProcessBuilder(python, "tools/bench_frontend_numpy.py", raw.toString(),
                        mel128.toString(), mel80.toString()).redirectErrorStream(true).start();
                String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (p.waitFor() == 0) {
                    Matcher m = Pattern.compile("\"(\\w+)\": ([0-9.eE+-]+)").matcher(text);
                    while (m.find()) {
                        numpy.put(m.group(1), Double.parseDouble(m.group(2)));
                    }
                    Matcher v = Pattern.compile("\"numpy\": \"([^\"]+)\"").matcher(text);
                    numpyVersion = v.find() ? v.group(1) : "?";
                } else {
                    log.warn("numpy reference failed: {}", text);
                }
            } finally {
                Files.deleteIfExists(raw);
                Files.deleteIfExists(mel128);
                Files.deleteIfExists(mel80);
            }
        }
        report.frontEnd(java, numpy, numpyVersion);
    }

    private static void writeFloats(Path file, float[] a) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(a.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(a);
        Files.write(file, b.array());
    }

    // --- DiT arithmetic ---------------------------------------------------------------------------

    private void flops() throws IOException {
        List<String[]> rows = new ArrayList<>();
        double peak = peakTflops > 0 ? peakTflops * 1e12 : Machine.cpuPeakFlops();
        for (var e : bundles.entrySet()) {
            BundleManifest mf = Bundle.open(e.getValue()).manifest();
            var cfg = dev.avatar4j.family.stableavatar.StableAvatarEngine.configOf(mf);
            int stride = cfg.spatialStride();
            int lh = size / stride;
            int lw = size / stride;
            DitFlops f = DitFlops.of(Bundle.open(e.getValue()).graphFile("dit"), 2L * cfg.latentChannels() + 4, 3,
                    cfg.windowLatents(), lh, lw, cfg.patch()[1], cfg.patch()[2], fullAttentionBlocks);
            Double ms = ditMsPerCall.get(e.getKey());
            double achieved = ms == null ? Double.NaN : f.total() / (ms / 1000.0);
            rows.add(new String[] {e.getKey(), String.format(Locale.ROOT, "%,d", f.parameters()),
                    Long.toString(f.width()), String.format(Locale.ROOT, "%,d", f.tokens()),
                    Report.fmt(f.total() / 1e9, 2), ms == null ? "–" : Report.fmt(ms, 1),
                    Double.isNaN(achieved) ? "–" : Report.fmt(achieved / 1e9, 1),
                    Double.isNaN(achieved) || peak <= 0 ? "–" : Report.fmt(100 * achieved / peak, 1) + " %"});
        }
        report.flops(rows, peak, peakTflops > 0);
    }

    // --- the sections that share loaded models ----------------------------------------------------

    /** Overhead, TTFF, pipelining and concurrency: in this JVM, on models loaded once. */
    static final class Sections {
        private final BenchMain b;
        private final Map<String, AvatarModel> models;

        Sections(BenchMain b, Map<String, AvatarModel> models) {
            this.b = b;
            this.models = models;
        }

        private Workload.Run run(AvatarModel m, double seconds, int steps, long seed, Workload.Output o, Path mp4,
                                 boolean stop, boolean digest) {
            return Workload.generate(m, Workload.image(256), Workload.audio(seconds), steps, seed, b.size, o, mp4,
                    stop, digest);
        }

        void overhead() {
            Map<String, List<Workload.Run>> runs = new LinkedHashMap<>();
            for (var e : models.entrySet()) {
                log.info("overhead: {} ({} s audio, {} steps)", e.getKey(), b.overheadSeconds, b.steps);
                run(e.getValue(), Math.min(b.overheadSeconds, 3), b.steps, 0, Workload.Output.DISCARD, null, false,
                        false); // warm-up: JIT, ORT arenas
                List<Workload.Run> rs = new ArrayList<>();
                for (int i = 0; i < b.reps; i++) {
                    rs.add(run(e.getValue(), b.overheadSeconds, b.steps, 1, Workload.Output.DISCARD, null, false, false));
                }
                runs.put(e.getKey(), rs);
                Workload.Run med = Report.median(rs, Workload.Run::overhead);
                b.recordDitMs(e.getKey(), med.graphs().nanos("dit") / 1e6 / Math.max(1, med.graphs().calls("dit")));
            }
            b.report.overhead(b, runs);
        }

        void ttff() {
            Map<String, double[][]> byLength = new LinkedHashMap<>();
            Map<String, double[][]> bySteps = new LinkedHashMap<>();
            for (var e : models.entrySet()) {
                double[][] l = new double[b.ttffLengths.length][];
                for (int i = 0; i < b.ttffLengths.length; i++) {
                    l[i] = ttffPoint(e.getValue(), b.ttffLengths[i], b.steps);
                    log.info("ttff: {} {} s audio: {} s", e.getKey(), b.ttffLengths[i], l[i][0]);
                }
                double[][] s = new double[b.ttffSteps.length][];
                for (int i = 0; i < b.ttffSteps.length; i++) {
                    s[i] = ttffPoint(e.getValue(), b.ttffLengths[Math.min(1, b.ttffLengths.length - 1)], b.ttffSteps[i]);
                    log.info("ttff: {} {} steps: {} s", e.getKey(), b.ttffSteps[i], s[i][0]);
                }
                byLength.put(e.getKey(), l);
                bySteps.put(e.getKey(), s);
            }
            b.report.ttff(b, byLength, bySteps);
        }

        /** {median TTFF s, median graph s until then, DiT calls until then}. */
        private double[] ttffPoint(AvatarModel m, double seconds, int steps) {
            List<Workload.Run> rs = new ArrayList<>();
            for (int i = 0; i < b.reps; i++) {
                rs.add(run(m, seconds, steps, 1, Workload.Output.DISCARD, null, true, false));
            }
            Workload.Run med = Report.median(rs, r -> r.firstFrameNanos());
            return new double[] {med.firstFrameNanos() / 1e9, med.graphSeconds(), med.graphs().calls("dit")};
        }

        void pipeline() throws IOException {
            Map<String, double[]> res = new LinkedHashMap<>();
            Path dir = Files.createTempDirectory("avatar4j-bench");
            try {
                for (var e : models.entrySet()) {
                    log.info("pipeline: {} ({} s audio)", e.getKey(), b.pipelineSeconds);
                    List<Workload.Run> alone = new ArrayList<>();
                    List<Workload.Run> mp4 = new ArrayList<>();
                    Path file = dir.resolve("out.mp4");
                    run(e.getValue(), Math.min(3, b.pipelineSeconds), b.steps, 1, Workload.Output.MP4, file, false, false);
                    for (int i = 0; i < b.reps; i++) { // interleaved, so drift hits both alike
                        alone.add(run(e.getValue(), b.pipelineSeconds, b.steps, 1, Workload.Output.DISCARD, null, false,
                                false));
                        mp4.add(run(e.getValue(), b.pipelineSeconds, b.steps, 1, Workload.Output.MP4, file, false, false));
                    }
                    double a = Report.median(alone, Workload.Run::wallSeconds).wallSeconds();
                    double v = Report.median(mp4, Workload.Run::wallSeconds).wallSeconds();
                    res.put(e.getKey(), new double[] {a, v, v / a, Files.size(file), alone.get(0).frames()});
                    Files.deleteIfExists(file);
                }
            } finally {
                Files.deleteIfExists(dir);
            }
            b.report.pipeline(b, res);
        }

        void concurrency() throws Exception {
            Map<String, List<double[]>> res = new LinkedHashMap<>();
            int maxN = Arrays.stream(b.concurrency).max().orElse(1);
            for (var e : models.entrySet()) {
                AvatarModel m = e.getValue();
                String[] sequential = new String[maxN];
                for (int i = 0; i < maxN; i++) {
                    sequential[i] = run(m, b.concurrencySeconds, b.concurrencySteps, 100 + i, Workload.Output.DISCARD,
                            null, false, true).digest();
                }
                List<double[]> rows = new ArrayList<>();
                double base = Double.NaN;
                for (int n : b.concurrency) {
                    log.info("concurrency: {} x{}", e.getKey(), n);
                    ExecutorService pool = Executors.newFixedThreadPool(n);
                    try {
                        long t0 = System.nanoTime();
                        List<Future<Workload.Run>> fs = new ArrayList<>();
                        for (int i = 0; i < n; i++) {
                            long seed = 100 + i;
                            fs.add(pool.submit(() -> run(m, b.concurrencySeconds, b.concurrencySteps, seed,
                                    Workload.Output.DISCARD, null, false, true)));
                        }
                        int frames = 0;
                        boolean same = true;
                        for (int i = 0; i < n; i++) {
                            Workload.Run r = fs.get(i).get(10, TimeUnit.MINUTES); // a deadlock fails the run
                            frames += r.frames();
                            same &= r.digest().equals(sequential[i]);
                        }
                        double wall = (System.nanoTime() - t0) / 1e9;
                        double fps = frames / wall;
                        if (Double.isNaN(base)) {
                            base = fps;
                        }
                        rows.add(new double[] {n, wall, fps, fps / base, same ? 1 : 0});
                    } finally {
                        pool.shutdownNow();
                    }
                }
                res.put(e.getKey(), rows);
            }
            b.report.concurrency(b, res);
        }
    }
}
