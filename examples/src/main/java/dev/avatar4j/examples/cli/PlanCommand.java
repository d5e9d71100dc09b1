package dev.avatar4j.examples.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.BundleException;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.Region;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.bundle.DefaultBundle;
import dev.avatar4j.bundle.ZipBundle;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.family.longcat.LongCatConfig;
import dev.avatar4j.family.longcat.LongCatPlan;
import dev.avatar4j.family.preview.PreviewConfig;
import dev.avatar4j.family.stableavatar.StableAvatarConfig;
import dev.avatar4j.family.stableavatar.StableAvatarEngine;
import dev.avatar4j.family.stableavatar.StableAvatarPlan;
import dev.avatar4j.family.stableavatar.Window;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code avatar4j plan}: what a generation of this audio would compute — frames, latent frames,
 * the sliding windows, each window's audio, the sigma/timestep schedule, the overlap weights, the
 * DiT forward passes and the peak memory of the latents — without running, or even loading, a
 * model. The numbers come from {@link StableAvatarPlan}, the code the engine itself runs with.
 *
 * <p>Only the bundle's manifest is read: graph files are neither verified nor opened. The audio
 * is decoded exactly as {@code generate} decodes it, so the sample count is the engine's.
 */
@Command(name = "plan", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = VersionProvider.class,
        description = {"Shows what a generation would compute (frames, windows, schedule, forward passes, "
                + "latent memory) without running or loading the model. The built-in preview model (the default "
                + "without --model) has no diffusion: for it, plan shows the frames, duration and size only."},
        footer = {"", "Examples:", "  avatar4j plan --audio speech.wav",
                "  avatar4j plan --model longcat-bundle --speaker left.wav --speaker right.wav --json",
                "  avatar4j plan --audio speech.wav --steps 30 --overlap 10 --weights uniform --json"})
final class PlanCommand implements Callable<Integer> {
    /** Manifests larger than this are refused, as by the SDK (they are a few kB). */
    private static final long MAX_MANIFEST_BYTES = 1 << 20;
    /** Windows listed in full by the text summary; longer plans are abbreviated. */
    private static final int LISTED_WINDOWS = 8;

    private final Avatar4jCli cli;

    @Option(names = "--audio", paramLabel = "P",
            description = "Speech audio: WAV or any format FFmpeg reads. Required unless --speaker is given.")
    Path audio;

    @Option(names = "--speaker", paramLabel = "X,Y,W,H:FILE",
            description = "A person of a multi-person video (repeat for each), as for generate: X,Y,W,H:FILE or "
                    + "FILE for the default region. The plan covers the longest track (longcat-avatar).")
    List<String> speakers = new ArrayList<>();

    @Option(names = "--audio-mode", paramLabel = "parallel|sequential",
            description = "With several speakers: parallel (tracks overlap, the default) or sequential (turn-taking).")
    String audioMode;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Model bundle directory (only its manifest is read) or .zip file. Default: $AVATAR4J_MODEL, "
                    + "else the built-in demo model.")
    Path model;

    @Option(names = "--steps", paramLabel = "N", description = "Denoising steps (>= 1). Default: the model's.")
    Integer steps;

    @Option(names = "--overlap", paramLabel = "N",
            description = "Latent frames shared by consecutive windows, 2 to window length - 1. Default: the model's.")
    Integer overlap;

    @Option(names = "--weights", paramLabel = "log|uniform",
            description = "Overlap blend weights: log or uniform. Default: the model's.")
    String weights;

    @Option(names = "--width", paramLabel = "W", description = "Video width (for the memory figure). Default: the model's.")
    Integer width;

    @Option(names = "--height", paramLabel = "H", description = "Video height (for the memory figure). Default: the model's.")
    Integer height;

    @Option(names = "--json", description = "Print the plan as JSON on standard output.")
    boolean json;

    @Option(names = "--shift", paramLabel = "X",
            description = "Flow-matching time shift (longcat-avatar bundles). Default: the model's.")
    Double shift;

    PlanCommand(Avatar4jCli cli) {
        this.cli = cli;
    }

    @Override
    public Integer call() {
        try {
            if (audio == null && speakers.isEmpty()) {
                throw new InvalidInputException("give --audio, or --speaker for each person");
            }
            if (audio != null && !speakers.isEmpty()) {
                throw new InvalidInputException("give either --audio or --speaker, not both");
            }
            if (audioMode != null && speakers.isEmpty()) {
                throw new InvalidInputException("--audio-mode needs --speaker");
            }
            List<LongCatPlanReport.Person> persons = new ArrayList<>();
            LongCatPlan longCat = longCatPlan(persons);
            if (longCat != null) {
                if (json) {
                    cli.out().println(LongCatPlanReport.toJson(longCat, persons));
                } else {
                    LongCatPlanReport.printSummary(cli.out(), audio != null ? audio : "longest track", longCat);
                    LongCatPlanReport.printPersons(cli.out(), persons);
                }
                cli.out().flush();
                return Avatar4jCli.EXIT_OK;
            }
            if (previewPlan()) {
                return Avatar4jCli.EXIT_OK;
            }
            StableAvatarPlan plan = plan();
            PrintStream out = cli.out();
            if (json) {
                out.println(toJson(plan));
            } else {
                printSummary(out, plan);
            }
            out.flush();
            return Avatar4jCli.EXIT_OK;
        } catch (RuntimeException | LinkageError e) {
            return cli.handleFailure(e);
        }
    }

    /**
     * The plan of a {@code longcat-avatar} bundle, or null when the bundle is of another family.
     *
     * @param persons receives the persons (their regions with defaults applied, their placed tracks)
     */
    LongCatPlan longCatPlan(List<LongCatPlanReport.Person> persons) {
        Path dir = model != null ? model : configuredDefault();
        BundleManifest manifest = dir != null ? readManifest(dir) : DefaultBundle.open().manifest();
        if (!LongCatConfig.FAMILY.equals(manifest.family())) {
            return null;
        }
        LongCatConfig cfg;
        try {
            cfg = LongCatConfig.from(manifest);
        } catch (BundleException e) {
            throw dir == null ? e : new BundleException(dir + ": " + e.getMessage(), e);
        }
        if (shift != null) {
            cfg = LongCatPlanReport.withShift(cfg, shift);
        }
        long samples;
        if (speakers.isEmpty()) {
            samples = MediaRegistry.global().countAudio(audio, cfg.sampleRate());
        } else {
            // laid out as the SDK lays them out: in parallel the longest track, in turns their sum
            boolean sequential = sequential();
            long total = 0;
            for (int i = 0; i < speakers.size(); i++) {
                SpeakerArg a = SpeakerArg.parse(speakers.get(i));
                Region region = a.region() != null ? a.region() : Region.defaultFor(i, speakers.size());
                long n = MediaRegistry.global().countAudio(a.file(), cfg.sampleRate());
                persons.add(new LongCatPlanReport.Person(a.file().toString(), region, sequential ? total : 0, n));
                total = sequential ? total + n : Math.max(total, n);
            }
            samples = total;
        }
        return LongCatPlanReport.plan(cfg, samples, steps, width, height);
    }

    private boolean sequential() {
        if (audioMode == null) {
            return false;
        }
        return switch (audioMode.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "parallel" -> false;
            case "sequential" -> true;
            default -> throw new InvalidInputException("--audio-mode must be parallel or sequential, got '" + audioMode
                    + "'");
        };
    }

    /**
     * For a {@code preview} model (the built-in default when no --model is given): says that it has
     * no diffusion plan, and prints what it does plan — frames, duration, size, work — then returns
     * true; false for any other family.
     */
    private boolean previewPlan() {
        Path dir = model != null ? model : configuredDefault();
        BundleManifest manifest = dir != null ? readManifest(dir) : DefaultBundle.open().manifest();
        if (!PreviewConfig.FAMILY.equals(manifest.family())) {
            return false;
        }
        PreviewConfig cfg;
        try {
            cfg = PreviewConfig.from(manifest);
        } catch (BundleException e) {
            throw dir == null ? e : new BundleException(dir + ": " + e.getMessage(), e);
        }
        if (steps != null || overlap != null || weights != null || shift != null) {
            throw new InvalidInputException("--steps, --overlap, --weights and --shift describe a diffusion plan; the "
                    + (dir == null ? "built-in preview model" : "preview model " + dir) + " has none (pass --model "
                    + "DIR with a diffusion bundle, e.g. models/stableavatar-tiny)");
        }
        Path file = singleAudio(PreviewConfig.FAMILY);
        long samples = MediaRegistry.global().countAudio(file, cfg.sampleRate());
        int frames = cfg.framesFor(samples);
        int w = width != null ? width : cfg.width();
        int h = height != null ? height : cfg.height();
        String name = dir == null ? "built-in preview model" : "preview model " + dir;
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("family", PreviewConfig.FAMILY);
            m.put("diffusion", false);
            m.put("audioSamples", samples);
            m.put("sampleRate", cfg.sampleRate());
            m.put("fps", cfg.fps());
            m.put("frames", frames);
            m.put("width", w);
            m.put("height", h);
            m.put("workUnits", frames + 2L);
            try {
                cli.out().println(JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT).asString(m));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the plan as JSON", e);
            }
        } else {
            PrintStream out = cli.out();
            out.println("model     " + name + ": no diffusion, so no windows, steps or schedule to plan (pass "
                    + "--model DIR with a diffusion bundle for those, e.g. models/stableavatar-tiny)");
            out.println(Avatar4jCli.format("audio     %s: %d samples at %d Hz (%.2f s)", file, samples, cfg.sampleRate(),
                    samples / (double) cfg.sampleRate()));
            out.println(Avatar4jCli.format("video     %d frames at %d fps (%.2f s), %dx%d", frames, cfg.fps(),
                    frames / (double) cfg.fps(), w, h));
            out.println(Avatar4jCli.format("cost      face detection once, speech analysis once, one warp per frame "
                    + "(%d work units)", frames + 2L));
        }
        cli.out().flush();
        return true;
    }

    /** The one speech file of a single-speaker family's plan. */
    private Path singleAudio(String family) {
        if (speakers.isEmpty()) {
            return audio;
        }
        if (speakers.size() > 1) {
            throw new InvalidInputException("family " + family + " animates one speaker; use a longcat-avatar model "
                    + "for several");
        }
        return SpeakerArg.parse(speakers.get(0)).file();
    }

    /** Reads the manifest, measures the audio and plans with the options or the model's defaults. */
    StableAvatarPlan plan() {
        Path dir = model != null ? model : configuredDefault();
        BundleManifest manifest = dir != null ? readManifest(dir) : DefaultBundle.open().manifest();
        StableAvatarConfig cfg;
        try {
            cfg = StableAvatarEngine.configOf(manifest);
        } catch (BundleException e) {
            throw dir == null ? new BundleException("the built-in default model (family \"" + manifest.family()
                    + "\") has no diffusion plan; pass --model DIR with a stableavatar bundle (e.g. models/stableavatar-tiny)", e)
                    : new BundleException(dir + ": " + e.getMessage(), e);
        }
        // counted without holding the samples: a 16 kHz PCM WAV from its header, anything else by
        // a streaming decode pass, so that hours of audio plan in bounded memory
        long samples = MediaRegistry.global().countAudio(singleAudio(manifest.family()), cfg.sampleRate());
        return StableAvatarPlan.create(cfg, samples, steps != null ? steps : cfg.defaultSteps(),
                overlap != null ? overlap : cfg.overlap(), weights != null ? weights : cfg.weights(),
                width != null ? width : cfg.width(), height != null ? height : cfg.height());
    }

    /** The default model's directory as the SDK finds it ({@code -Davatar4j.model}, then $AVATAR4J_MODEL). */
    private static Path configuredDefault() {
        String p = System.getProperty(AvatarModel.MODEL_PROPERTY);
        if (p == null || p.isBlank()) {
            p = System.getenv(AvatarModel.MODEL_ENV);
        }
        return p == null || p.isBlank() ? null : Path.of(p);
    }

    /** The manifest of bundle {@code dir}, with the SDK's messages for a missing or non-bundle directory. */
    static BundleManifest readManifest(Path dir) {
        if (!Files.exists(dir)) {
            throw new BundleException("model bundle not found: " + dir);
        }
        if (ZipBundle.isZip(dir)) {
            return Bundle.open(dir).manifest(); // checked and extracted like any zip bundle
        }
        if (!Files.isDirectory(dir)) {
            throw new BundleException("model bundle must be a directory or a .zip file: " + dir);
        }
        Path file = dir.resolve(BundleManifest.FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new BundleException(dir + " is not a model bundle: it has no " + BundleManifest.FILE_NAME);
        }
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_MANIFEST_BYTES) {
                throw new BundleException(file + " is too large");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new BundleException("cannot read " + file + ": " + e.getMessage(), e);
        }
        try {
            return BundleManifest.parse(bytes);
        } catch (BundleException e) {
            throw new BundleException(dir + ": " + e.getMessage(), e);
        }
    }

    /** The plan as a JSON object; floats are written as their float32 shortest decimal (round-trips). */
    static String toJson(StableAvatarPlan p) {
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
        try {
            return JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT).asString(m);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the plan as JSON", e);
        }
    }

    /** Boxed float32 values: jackson-jr writes a {@link Float} with {@link Float#toString(float)}. */
    private static List<Float> floats(float[] values) {
        List<Float> list = new ArrayList<>(values.length);
        for (float v : values) {
            list.add(v);
        }
        return list;
    }

    private void printSummary(PrintStream out, StableAvatarPlan p) {
        out.println(Avatar4jCli.format("audio     %s: %d samples at %d Hz (%.2f s)", singleAudio(p.family()),
                p.audioSamples(),
                p.sampleRate(), p.audioSamples() / (double) p.sampleRate()));
        out.println(Avatar4jCli.format("video     %d frames at %d fps (%.2f s), %dx%d", p.frames(), p.fps(),
                p.frames() / (double) p.fps(), p.width(), p.height()));
        out.println(Avatar4jCli.format("latents   %d latent frames, %d window%s of %d, overlap %d (stride %d), "
                        + "%s weights", p.latentFrames(), p.windows().size(), p.windows().size() == 1 ? "" : "s",
                p.windowLatents(), p.overlap(), p.stride(), p.weightsScheme()));
        out.println("windows   " + windowList(p.windows()));
        float[] t = p.timesteps();
        out.println(Avatar4jCli.format("sampler   %d steps, shift %s (%s), timesteps %s .. %s", p.steps(), p.shift(),
                p.shiftModeName(), t[0], t[t.length - 1]));
        out.println(Avatar4jCli.format("cost      %d DiT forward passes (x %d guidance branches = %d batch rows), "
                + "%d decoder calls", p.forwardPasses(), p.branches(), p.batchRows(), p.decoderCalls()));
        out.println(Avatar4jCli.format("first     frame final after at most %d forward passes",
                p.forwardPassesBeforeFirstFrame()));
        out.println(Avatar4jCli.format("memory    latents peak at most %d frames x %s = %s", p.peakLatentFrames(),
                bytes(p.latentBytesPerFrame()), bytes(p.peakLatentBytes())));
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
        return Avatar4jCli.format("%.1f %s", v, units[u]);
    }
}
