package dev.avatar4j.examples.cli;

import dev.avatar4j.AudioMode;
import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarException;
import dev.avatar4j.Generation;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.Region;
import dev.avatar4j.RenderResult;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.FrameSinks;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code avatar4j generate}: renders a talking-avatar MP4 (H.264 + AAC) from a portrait and speech.
 *
 * <p>Inputs are checked before anything heavy is loaded. The MP4 appears only when complete (the
 * SDK writes it atomically); the optional PNG frames are staged and moved into place only on
 * success. Any failure or a Ctrl-C leaves no partial output.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = VersionProvider.class,
        description = "Renders a talking-avatar MP4 (H.264 + AAC) from a portrait and speech audio.",
        footer = {"", "Examples:", "  avatar4j generate --image face.png --audio speech.wav --out talk.mp4",
                "  avatar4j generate --image face.png --audio speech.wav --out talk.mp4 \\",
                "      --steps 8 --seed 42 --width 512 --height 512 --png-dir frames/",
                "  avatar4j generate --model longcat-bundle --image two.png --out talk.mp4 \\",
                "      --speaker 0,0,0.5,1:left.wav --speaker 0.5,0,0.5,1:right.wav"})
final class GenerateCommand implements Callable<Integer> {
    private final Avatar4jCli cli;

    @Spec
    CommandSpec spec;

    @Option(names = "--image", required = true, paramLabel = "P",
            description = "Portrait image: PNG, JPEG or any format FFmpeg reads.")
    Path image;

    @Option(names = "--audio", paramLabel = "P",
            description = "Speech audio: WAV or any format FFmpeg reads. Required unless --speaker is given.")
    Path audio;

    @Option(names = "--speaker", paramLabel = "X,Y,W,H:FILE",
            description = "A person of a multi-person video (repeat for each): the region as fractions of the frame "
                    + "and that person's speech, e.g. 0,0,0.5,1:left.wav; or just FILE for the default region "
                    + "(two persons: left and right halves with a 10%% margin). Needs a longcat-avatar model.")
    List<String> speakers = new ArrayList<>();

    @Option(names = "--silent", paramLabel = "X,Y,W,H",
            description = "A person who does not speak (repeatable), with --speaker.")
    List<String> silent = new ArrayList<>();

    @Option(names = "--audio-mode", paramLabel = "parallel|sequential",
            description = "With several speakers: parallel (tracks overlap, the default) or sequential (turn-taking).")
    String audioMode;

    @Option(names = "--out", required = true, paramLabel = "P",
            description = "The MP4 file to write (replaced if it exists). Its directory must exist.")
    Path out;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Model bundle directory or .zip file. Default: $AVATAR4J_MODEL, else the built-in preview model.")
    Path model;

    @Option(names = "--steps", paramLabel = "N", description = "Denoising steps (>= 1). Default: the model's.")
    Integer steps;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the noise, for a reproducible video. Default: random.")
    Long seed;

    @Option(names = "--width", paramLabel = "W", description = "Video width, a multiple of 16 (with --height). Default: the model's.")
    Integer width;

    @Option(names = "--height", paramLabel = "H", description = "Video height, a multiple of 16 (with --width). Default: the model's.")
    Integer height;

    @Option(names = "--prompt", paramLabel = "T", description = "Text prompt describing the video. Default: the model's.")
    String prompt;

    @Option(names = "--guidance", paramLabel = "TEXT,AUDIO",
            description = "Guidance scales for the prompt and the audio, e.g. 3,5. Default: the model's.")
    String guidance;

    @Mixin
    BackendOption backendOption = new BackendOption();

    @Mixin
    EncodingOptions encoding = new EncodingOptions();

    @Option(names = "--png-dir", paramLabel = "DIR",
            description = "Also write every frame as frame_NNNNNN.png into DIR (created if missing).")
    Path pngDir;

    @Option(names = {"-q", "--quiet"}, description = "Print nothing but errors.")
    boolean quiet;

    GenerateCommand(Avatar4jCli cli) {
        this.cli = cli;
    }

    @Override
    public Integer call() {
        CountDownLatch finished = new CountDownLatch(1);
        try {
            return generate(finished);
        } catch (RuntimeException | LinkageError e) {
            return cli.handleFailure(e);
        } finally {
            cli.shutdown().ended();
            finished.countDown();
        }
    }

    private int generate(CountDownLatch finished) {
        long started = System.nanoTime();
        validateFiles();
        String requestedBackend = backendOption.validate();
        Avatar request = buildRequest();
        String backendName = BackendOption.resolve(requestedBackend);
        try (BackendOption.LoadedModel loaded = BackendOption.load(model, backendName)) {
            request = request.model(loaded.model());
            Path target = out.toAbsolutePath().normalize();
            GuardedSink png = null;
            boolean createdPngDir = false;
            ProgressDisplay progress = null;
            Generation generation;
            try {
                if (pngDir != null) {
                    createdPngDir = !Files.exists(pngDir);
                    png = new GuardedSink(FrameSinks.pngSequence(pngDir));
                    request = request.onFrame(png::accept);
                }
                if (showProgress()) {
                    progress = new ProgressDisplay(cli.err());
                    request = request.onProgress(progress::update);
                }
                Avatar toStart = request;
                generation = cli.shutdown().start(() -> toStart.start(target), finished); // Ctrl-C cancels it
            } catch (RuntimeException e) {
                cleanUp(png, createdPngDir, progress);
                throw e;
            }
            RenderResult result;
            try {
                result = generation.await();
                if (png != null) {
                    completePngs(png, target);
                }
            } catch (RuntimeException e) {
                cleanUp(png, createdPngDir, progress);
                throw e;
            }
            if (progress != null) {
                progress.close();
            }
            if (!quiet) {
                double seconds = (System.nanoTime() - started) / 1e9;
                cli.out().println(Avatar4jCli.format("wrote %s (%d frames, %dx%d, %.2f s) in %.1f s", out,
                        result.frames(), result.width(), result.height(), result.videoDuration().toNanos() / 1e9,
                        seconds));
            }
            return Avatar4jCli.EXIT_OK;
        }
    }

    private boolean showProgress() {
        return !quiet && ProgressDisplay.onTerminal(cli);
    }

    /** Moves the PNG frames into place; if that fails, the MP4 is removed too so that no half result remains. */
    private static void completePngs(GuardedSink png, Path target) {
        try {
            png.complete();
        } catch (RuntimeException e) {
            try {
                Files.deleteIfExists(target);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new AvatarException("cannot write the PNG frames: " + e.getMessage(), e);
        }
    }

    private void cleanUp(GuardedSink png, boolean createdPngDir, ProgressDisplay progress) {
        if (progress != null) {
            progress.close();
        }
        if (png != null) {
            png.abort();
            if (createdPngDir) {
                try {
                    Files.deleteIfExists(pngDir); // only if empty: frames of an earlier run stay
                } catch (IOException ignored) {
                    // not empty or not deletable: nothing of this run is in it
                }
            }
        }
    }

    /** Checks the files before anything heavy is loaded. */
    private void validateFiles() {
        MediaRegistry.checkReadable(image, "image");
        if (audio == null && speakers.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "give --audio, or --speaker for each person");
        }
        if (audio != null) {
            MediaRegistry.checkReadable(audio, "audio");
        }
        for (String sp : speakers) {
            Path track = speakerFile(sp);
            MediaRegistry.checkReadable(track, "--speaker audio");
            if (sameFile(out, track)) {
                throw new InvalidInputException("--out " + out + " would overwrite an input file; choose another name");
            }
        }
        if ((!silent.isEmpty() || audioMode != null) && speakers.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--silent and --audio-mode need --speaker");
        }
        if (Files.isDirectory(out)) {
            throw new InvalidInputException("--out " + out + " is a directory; give a file name such as "
                    + out.resolve("out.mp4"));
        }
        Path parent = out.toAbsolutePath().normalize().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new InvalidInputException("output directory does not exist: " + (out.getParent() != null
                    ? out.getParent() : parent) + " (create it first)");
        }
        if (!Files.isWritable(parent)) {
            throw new InvalidInputException("output directory is not writable: " + parent);
        }
        if (sameFile(out, image) || (audio != null && sameFile(out, audio))) {
            throw new InvalidInputException("--out " + out + " would overwrite an input file; choose another name");
        }
        if (pngDir != null && Files.exists(pngDir) && !Files.isDirectory(pngDir)) {
            throw new InvalidInputException("--png-dir " + pngDir + " exists and is not a directory");
        }
        if ((width == null) != (height == null)) {
            throw new ParameterException(spec.commandLine(), "--width and --height must be given together");
        }
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.exists(a) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    /** The request without model and listeners; its methods validate steps, size, guidance. */
    /** The file of a {@code --speaker X,Y,W,H:FILE} (or {@code FILE}) value; the region is checked too. */
    private Path speakerFile(String value) {
        return speakerArg(value).file();
    }

    private SpeakerArg speakerArg(String value) {
        try {
            return SpeakerArg.parse(value);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private Avatar buildRequest() {
        // decoded here, before any model loads, so that a broken image fails fast; the same
        // decoder the SDK would use, so the result is identical
        RgbImage decoded = MediaRegistry.global().readImage(image);
        // frameBuffer(1): the CLI never iterates Generation.frames(), so keep no rolling window of
        // frames (64 x width*height*3 bytes by default); kept frames outlive young collections, get
        // promoted and make the old generation, hence the resident heap, grow with the video length
        Avatar request = Avatar.from(decoded).frameBuffer(1);
        if (speakers.isEmpty()) {
            request = request.speak(audio);
        } else {
            for (String sp : speakers) {
                SpeakerArg a = speakerArg(sp);
                request = a.region() != null ? request.speaker(a.region(), a.file()) : request.speaker(a.file());
            }
            for (String r : silent) {
                request = request.silent(Region.parse(r));
            }
            if (audioMode != null) {
                request = request.audioMode(switch (audioMode.strip().toLowerCase(java.util.Locale.ROOT)) {
                    case "parallel" -> AudioMode.PARALLEL;
                    case "sequential" -> AudioMode.SEQUENTIAL;
                    default -> throw new ParameterException(spec.commandLine(),
                            "--audio-mode must be parallel or sequential, got '" + audioMode + "'");
                });
            }
        }
        request = encoding.apply(request);
        if (steps != null) {
            request = request.steps(steps);
        }
        if (seed != null) {
            request = request.seed(seed);
        }
        if (width != null) {
            request = request.size(width, height);
        }
        if (prompt != null) {
            request = request.prompt(prompt);
        }
        if (guidance != null) {
            String[] parts = guidance.split(",", -1);
            if (parts.length != 2) {
                throw new ParameterException(spec.commandLine(),
                        "--guidance wants two numbers TEXT,AUDIO (e.g. 3,5), got '" + guidance + "'");
            }
            try {
                request = request.guidance(Double.parseDouble(parts[0].strip()), Double.parseDouble(parts[1].strip()));
            } catch (NumberFormatException e) {
                throw new ParameterException(spec.commandLine(),
                        "--guidance wants two numbers TEXT,AUDIO (e.g. 3,5), got '" + guidance + "'");
            }
        }
        return request;
    }
}
