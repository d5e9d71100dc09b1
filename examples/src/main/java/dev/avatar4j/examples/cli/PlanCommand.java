package dev.avatar4j.examples.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.AudioMode;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.Plan;
import dev.avatar4j.PlanRequest;
import dev.avatar4j.Region;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
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
 * model. The numbers come from {@link AvatarModel#plan(Path, PlanRequest)}, which runs the code the
 * family's engine itself runs with; this command only parses the options and prints the {@link Plan}.
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
            List<SpeakerArg> args = speakers.stream().map(SpeakerArg::parse).toList();
            Plan plan = AvatarModel.plan(model, request(args));
            if (!plan.diffusion() && (steps != null || overlap != null || weights != null || shift != null)) {
                throw new InvalidInputException("--steps, --overlap, --weights and --shift describe a diffusion plan; "
                        + "the " + modelName(plan) + " has none (pass --model DIR with a diffusion bundle, e.g. "
                        + "models/stableavatar-tiny)");
            }
            // the persons of a multi-person family: their regions, with the plan's layout of their tracks
            boolean multiPerson = plan.details().containsKey("persons") && !args.isEmpty();
            List<Person> persons = new ArrayList<>();
            if (multiPerson) {
                for (int i = 0; i < args.size(); i++) {
                    SpeakerArg a = args.get(i);
                    Region region = a.region() != null ? a.region() : Region.defaultFor(i, args.size());
                    Plan.Track track = plan.tracks().get(i);
                    persons.add(new Person(a.file().toString(), region, track.offset(), track.samples()));
                }
            }
            PrintStream out = cli.out();
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>(plan.details());
                if (multiPerson) {
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
                    out.println(JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT).asString(m));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write the plan as JSON", e);
                }
            } else {
                if (!plan.diffusion()) {
                    out.println("model     " + modelName(plan) + ": no diffusion, so no windows, steps or schedule to "
                            + "plan (pass --model DIR with a diffusion bundle for those, e.g. models/stableavatar-tiny)");
                }
                Object label = audio != null ? audio
                        : plan.details().containsKey("persons") ? "longest track" : plan.tracks().getFirst().file();
                out.println(Avatar4jCli.format("audio     %s: %d samples at %d Hz (%.2f s)", label, plan.audioSamples(),
                        plan.sampleRate(), plan.audioSamples() / (double) plan.sampleRate()));
                plan.summary().forEach(out::println);
                if (multiPerson) {
                    printPersons(out, persons);
                }
            }
            out.flush();
            return Avatar4jCli.EXIT_OK;
        } catch (RuntimeException | LinkageError e) {
            return cli.handleFailure(e);
        }
    }

    /** The request of the options, with the parsed --speaker arguments. */
    private PlanRequest request(List<SpeakerArg> args) {
        PlanRequest r;
        if (args.isEmpty()) {
            r = PlanRequest.audio(audio);
        } else {
            List<Path> files = args.stream().map(SpeakerArg::file).toList();
            r = PlanRequest.speakers(files, sequential() ? AudioMode.SEQUENTIAL : AudioMode.PARALLEL);
        }
        if (steps != null) {
            r = r.steps(steps);
        }
        if (overlap != null) {
            r = r.overlap(overlap);
        }
        if (weights != null) {
            r = r.weights(weights);
        }
        if (width != null) {
            r = r.width(width);
        }
        if (height != null) {
            r = r.height(height);
        }
        if (shift != null) {
            r = r.shift(shift);
        }
        return r;
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

    /** How the messages name the model: the built-in one, or the family and directory of a bundle. */
    private String modelName(Plan plan) {
        Path dir = model != null ? model : configuredDefault();
        return dir == null ? "built-in " + plan.family() + " model" : plan.family() + " model " + dir;
    }

    /** The default model's directory as the SDK finds it ({@code -Davatar4j.model}, then $AVATAR4J_MODEL). */
    private static Path configuredDefault() {
        String p = System.getProperty(AvatarModel.MODEL_PROPERTY);
        if (p == null || p.isBlank()) {
            p = System.getenv(AvatarModel.MODEL_ENV);
        }
        return p == null || p.isBlank() ? null : Path.of(p);
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

    /** Prints one line per person. */
    private static void printPersons(PrintStream out, List<Person> persons) {
        for (int i = 0; i < persons.size(); i++) {
            Person q = persons.get(i);
            Region r = q.region();
            out.println(Avatar4jCli.format("person %d  %s: %d samples from %d, region %s,%s,%s,%s", i, q.file(),
                    q.samples(), q.offset(), r.x(), r.y(), r.w(), r.h()));
        }
    }
}
