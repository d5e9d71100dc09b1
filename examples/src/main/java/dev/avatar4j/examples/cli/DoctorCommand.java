package dev.avatar4j.examples.cli;

import dev.avatar4j.AvatarException;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Backends;
import dev.avatar4j.Frame;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.MediaCodec;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.UnsupportedMediaException;
import dev.avatar4j.media.VideoClip;
import dev.avatar4j.media.VideoSpec;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code avatar4j doctor}: what this installation can run — the JDK, every backend with its probe
 * result (and why it is unavailable), the backend {@code auto} picks, the media codecs and the
 * default model. Exits 0 when at least one backend is available, else 4.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Checks the installation: JDK, inference backends, media codecs and the default model.")
final class DoctorCommand implements Callable<Integer> {
    /** Backends the project ships, listed even when their module is not on the class path. */
    private static final Map<String, String> KNOWN_BACKENDS = new LinkedHashMap<>();

    static {
        KNOWN_BACKENDS.put("tensorrt", "dev.avatar4j:sdk-runtime-tensorrt");
        KNOWN_BACKENDS.put("onnx", "dev.avatar4j:sdk-runtime-onnx");
    }

    private final Avatar4jCli cli;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Also load this model bundle (directory or .zip) and report on it (default: only the default model).")
    Path model;

    DoctorCommand(Avatar4jCli cli) {
        this.cli = cli;
    }

    @Override
    public Integer call() {
        PrintStream out = cli.out();
        String dash = out.charset().newEncoder().canEncode('\u2014') ? "\u2014" : "-";

        out.println("avatar4j " + VersionProvider.version());
        out.println(Avatar4jCli.format("java      %s (%s), %s", Runtime.version(),
                System.getProperty("java.vendor"), System.getProperty("java.home")));
        out.println(Avatar4jCli.format("os        %s %s (%s), %d processors, max heap %d MiB",
                System.getProperty("os.name"), System.getProperty("os.version"), System.getProperty("os.arch"),
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20));

        out.println("backends  (preferred first)");
        String firstAvailable = null;
        List<String> names = new ArrayList<>();
        for (Backends.Status b : Backends.probe()) {
            names.add(b.name().toLowerCase(Locale.ROOT));
            if (b.available() && firstAvailable == null) {
                firstAvailable = b.name();
            }
            out.println(Avatar4jCli.format("  %-10s rank %-3d %s", b.name(), b.rank(), b.available()
                    ? "available " + dash + " " + b.detail()
                    : "unavailable " + dash + " " + b.detail()));
        }
        for (Map.Entry<String, String> known : KNOWN_BACKENDS.entrySet()) {
            if (!names.contains(known.getKey())) {
                out.println(Avatar4jCli.format("  %-10s %-8s unavailable %s not on the class path (add %s)",
                        known.getKey(), "", dash, known.getValue()));
            }
        }
        out.println("auto      " + (firstAvailable != null ? firstAvailable : "none: no backend is available"));
        String configured = Backends.configured().orElse(null);
        if (configured != null) {
            out.println("selected  " + configured + " (by -D" + Backends.PROPERTY + " or " + Backends.ENV + ")");
        }

        out.println("media     (preferred first)");
        for (String line : mediaReport(Backends.mediaCodecs(), dash)) {
            out.println("  " + line);
        }
        if (Backends.mediaCodecs().stream().allMatch(c -> c.name().equals("jdk"))) {
            out.println("          no MP4 output: add dev.avatar4j:sdk-media");
        }

        if (firstAvailable != null) {
            // as generate does: load on the backend auto picks, without the SDK's fallback warning
            out.println("model     " + describeDefaultModel(configured == null ? firstAvailable : null, dash));
            if (model != null) {
                out.println("--model   " + describe(model, dash));
            }
        } else {
            out.println("model     not loaded " + dash + " no backend is available");
        }
        out.flush();
        return firstAvailable != null ? Avatar4jCli.EXIT_OK : Avatar4jCli.EXIT_BACKEND;
    }

    /**
     * One line per media codec. A codec that writes video is reported available only after it
     * wrote a tiny MP4 (picture and sound) and decoded it back in this process; otherwise the line
     * says why, in the codec's own words (for FFmpeg: the shared library that could not be loaded
     * and what to install).
     */
    static List<String> mediaReport(List<MediaCodec> codecs, String dash) {
        List<String> lines = new ArrayList<>();
        for (MediaCodec c : codecs) {
            lines.add(Avatar4jCli.format("%-10s rank %-3d %s", c.name(), c.rank(), selfTest(c, dash)));
        }
        return lines;
    }

    private static String selfTest(MediaCodec c, String dash) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("avatar4j-doctor");
            Path clip = dir.resolve("test.mp4");
            int w = 32;
            int h = 32;
            float[] tone = new float[8000];
            for (int i = 0; i < tone.length; i++) {
                tone[i] = (float) (0.3 * Math.sin(2 * Math.PI * 440 * i / 16_000.0));
            }
            try (FrameSink sink = c.openVideoWriter(clip, new VideoSpec(w, h, 25, new AudioClip(tone, 16_000), null))) {
                for (int k = 0; k < 5; k++) {
                    byte[] rgb = new byte[w * h * 3];
                    Arrays.fill(rgb, (byte) (40 * k));
                    sink.accept(new Frame(k, 25, RgbImage.of(w, h, rgb)));
                }
                sink.complete();
            }
            VideoClip back = c.readVideo(clip, 25, 10);
            AudioClip sound = c.readAudio(clip, 16_000);
            if (back.frameCount() != 5 || back.width() != w || sound.length() < 4000) {
                return "unavailable " + dash + " its test clip decoded to " + back.frameCount() + " frames of "
                        + back.width() + "x" + back.height() + " and " + sound.length() + " samples";
            }
            return "available " + dash + " wrote and decoded a test MP4 (video and audio)";
        } catch (UnsupportedMediaException e) {
            String m = Avatar4jCli.oneLine(e.getMessage());
            return c.name().equals("jdk") && m.contains("MP4") ? "images (PNG, JPEG, ...) and WAV only " + dash + " " + m
                    : "unavailable " + dash + " " + m;
        } catch (RuntimeException | java.io.IOException | LinkageError e) {
            return "unavailable " + dash + " " + Avatar4jCli.oneLine(String.valueOf(e.getMessage()));
        } finally {
            deleteTree(dir);
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException | RuntimeException e) {
            // a temporary folder left behind is not worth failing the report
        }
    }

    private static String describeDefaultModel(String backend, String dash) {
        String source = System.getProperty(AvatarModel.MODEL_PROPERTY) != null ? "-D" + AvatarModel.MODEL_PROPERTY
                : System.getenv(AvatarModel.MODEL_ENV) != null ? "$" + AvatarModel.MODEL_ENV : "built-in preview";
        try {
            AvatarModel m = backend != null ? BackendOption.defaultModelOn(backend) : AvatarModel.defaultModel();
            return summary(m) + " [" + source + "]";
        } catch (AvatarException | IllegalStateException e) {
            return "unavailable " + dash + " " + Avatar4jCli.oneLine(e.getMessage()) + " [" + source + "]";
        }
    }

    private static String describe(Path dir, String dash) {
        try (AvatarModel m = AvatarModel.load(dir)) {
            return summary(m);
        } catch (AvatarException | IllegalStateException e) {
            return "unavailable " + dash + " " + Avatar4jCli.oneLine(e.getMessage());
        }
    }

    private static String summary(AvatarModel m) {
        return Avatar4jCli.format("%s (%s) on %s, %dx%d, %d fps, %d steps by default, %s",
                Avatar4jCli.printable(m.name()), Avatar4jCli.printable(m.family()),
                m.backendName(), m.defaultWidth(), m.defaultHeight(), m.fps(), m.defaultSteps(), m.directory());
    }
}
