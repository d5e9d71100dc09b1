package dev.avatar4j.examples.cli;

import dev.avatar4j.Avatar;
import dev.avatar4j.Dub;
import dev.avatar4j.Generation;
import dev.avatar4j.NoFace;
import dev.avatar4j.RenderResult;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code avatar4j dub}: re-syncs the lips of the face in a video to new speech with a
 * {@code latentsync} model and writes an MP4 with the input's resolution and the speech's duration.
 * Exit codes as for {@code generate}: 2 for bad input (including a frame without a face under
 * {@code --no-face fail}, named by its index), 3 for a bundle that is not a dubbing model, 4 for
 * backend failures. {@code --backend} is resolved as for {@code generate} ({@link BackendOption}).
 */
@Command(name = "dub", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = VersionProvider.class,
        description = {"Dubs a talking-head video: regenerates the mouth to match new speech (LatentSync family). "
                + "The output keeps the video's resolution and lasts as long as the speech."},
        footer = {"", "Examples:", "  avatar4j dub --model latentsync-bundle --video talk.mp4 --audio new.wav --out dubbed.mp4",
                "  avatar4j dub --model latentsync-bundle --video talk.mp4 --audio new.wav --out dubbed.mp4 --no-face passthrough"})
final class DubCommand implements Callable<Integer> {
    private final Avatar4jCli cli;

    @Option(names = "--video", required = true, paramLabel = "P", description = "The video to dub (any format FFmpeg reads).")
    Path video;

    @Option(names = "--audio", required = true, paramLabel = "P", description = "The new speech (WAV or any format FFmpeg reads).")
    Path audio;

    @Option(names = "--out", required = true, paramLabel = "P", description = "Output video: .mp4 (default), .m4v, .mov, .mkv or .webm.")
    Path out;

    @Option(names = "--model", paramLabel = "DIR",
            description = "A latentsync model bundle directory or .zip file. Default: $AVATAR4J_MODEL (the built-in "
                    + "preview model cannot dub).")
    Path model;

    @Option(names = "--steps", paramLabel = "N", description = "DDIM steps (1..1000). Default: the model's (20).")
    Integer steps;

    @Option(names = "--guidance", paramLabel = "G",
            description = "Guidance scale, silence as the unconditional branch (1 = off). Default: the model's (1.5).")
    Double guidance;

    @Option(names = "--no-face", paramLabel = "fail|passthrough|hold",
            description = "Frames without a face: fail (naming the frame), passthrough (copied unchanged) or hold "
                    + "(the last face position). Default: fail.")
    NoFace noFace = NoFace.FAIL;

    @Option(names = "--seed", paramLabel = "N",
            description = "Seed of the shared noise frame and of the VAE posterior samples. Default: random.")
    Long seed;

    @Option(names = "--posterior-mean",
            description = "Use the VAE posterior mean for the faces' latents instead of sampling it (the reference"
                    + " samples; bundles without a posterior std always use the mean).")
    boolean posteriorMean;

    @Mixin
    BackendOption backendOption = new BackendOption();

    @Mixin
    EncodingOptions encoding = new EncodingOptions();

    @Option(names = {"-q", "--quiet"}, description = "Print nothing but errors.")
    boolean quiet;

    DubCommand(Avatar4jCli cli) {
        this.cli = cli;
    }

    @Override
    public Integer call() {
        CountDownLatch finished = new CountDownLatch(1);
        try {
            return dub(finished);
        } finally {
            cli.shutdown().ended();
            finished.countDown();
        }
    }

    private int dub(CountDownLatch finished) {
        Dub request = encoding.apply(Avatar.dub(video).speak(audio).noFace(noFace));
        if (steps != null) {
            request = request.steps(steps);
        }
        if (guidance != null) {
            request = request.guidance(guidance);
        }
        if (seed != null) {
            request = request.seed(seed);
        }
        if (posteriorMean) {
            request = request.posteriorMean(true);
        }
        try (BackendOption.LoadedModel loaded = backendOption.load(model);
             ProgressDisplay progress = !quiet && ProgressDisplay.onTerminal(cli) ? new ProgressDisplay(cli.err()) : null) {
            if (progress != null) {
                request = request.onProgress(progress::update);
            }
            Dub dub = request.model(loaded.model());
            Generation generation = cli.shutdown().start(() -> dub.start(out), finished); // Ctrl-C cancels it
            RenderResult r = generation.await();
            if (progress != null) {
                progress.close();
            }
            if (!quiet) {
                cli.out().println(Avatar4jCli.format("wrote %s: %d frames, %dx%d, %d fps, %d steps, seed %d, %s",
                        out, r.frames(), r.width(), r.height(), r.fps(), r.steps(), r.seed(), r.backend()));
            }
            return 0;
        }
    }
}
