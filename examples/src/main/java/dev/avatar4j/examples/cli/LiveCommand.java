package dev.avatar4j.examples.cli;

import dev.avatar4j.Avatar;
import dev.avatar4j.Frame;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.LiveOptions;
import dev.avatar4j.LiveSession;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.AudioStream;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code avatar4j live}: runs a live session as an interactive application would, with a speech
 * file standing in for a text-to-speech engine: the file is pushed at real-time pace in chunks
 * (fixed or random sizes), repeated with pauses for as long as asked, each repetition an utterance
 * ended by {@code endOfSpeech()}; the frames are paced by the session. It reports what a user of a
 * live avatar feels — the latency from a push to the frame showing that speech, the frame pacing,
 * memory and CPU over the session — and can write the session as an MP4 whose audio track is the
 * speech each frame showed (silence under idle frames), so picture and sound are as a viewer got them.
 *
 * <p>With {@code --port} instead of {@code --audio} it serves the browser demo ({@link LiveWebServer}):
 * a page that streams the microphone or an audio file to a live session over a WebSocket and shows
 * its frames, until Ctrl-C.
 */
@Command(name = "live", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = VersionProvider.class,
        description = {"Runs a live session: pushes a speech file at real-time pace, reports latency, pacing "
                + "and memory, optionally writes what it showed as an MP4.",
                "With --port instead of --audio: serves a web page (and a WebSocket on the same port) that streams "
                + "the microphone or an audio file from the browser and shows the avatar's frames, until Ctrl-C."},
        footer = {"", "Examples:", "  avatar4j live --image face.png --audio speech.wav --out live.mp4",
                "  avatar4j live --image face.png --audio speech.wav --chunk-ms 10-250 --duration 60m \\",
                "      --report live.json",
                "  avatar4j live --image face.png --port 8080        # then open http://localhost:8080"})
final class LiveCommand implements Callable<Integer> {
    private final Avatar4jCli cli;

    @Spec
    CommandSpec spec;

    @Option(names = "--image", required = true, paramLabel = "P", description = "Portrait image.")
    Path image;

    @Option(names = "--audio", paramLabel = "P",
            description = "Speech pushed as if it were being spoken: WAV or any format FFmpeg reads.")
    Path audio;

    @Option(names = "--port", paramLabel = "N",
            description = "Instead of --audio: serve the browser demo on this port (0: any free port).")
    Integer port;

    @Option(names = "--host", paramLabel = "H", defaultValue = "127.0.0.1",
            description = "With --port: the interface to listen on. Default: 127.0.0.1 (this machine only).")
    String host;

    @Option(names = "--max-sessions", paramLabel = "N", defaultValue = "4",
            description = "With --port: browsers served at once, each with its own session; more are refused. "
                    + "Default: 4.")
    int maxSessions;

    @Option(names = "--out", paramLabel = "P",
            description = "Also write the session as an MP4 (the speech each frame showed as its audio).")
    Path out;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Model bundle with a live mode. Default: $AVATAR4J_MODEL, else the built-in preview model.")
    Path model;

    @Option(names = "--chunk-ms", paramLabel = "MS|MIN-MAX", defaultValue = "20",
            description = "Push size in milliseconds, or a range for random sizes (seeded by --seed). Default: 20.")
    String chunkMs;

    @Option(names = "--push-rate", paramLabel = "HZ", defaultValue = "16000",
            description = "Sample rate the speech is pushed at (the session resamples it). Default: 16000.")
    int pushRate;

    @Option(names = "--pcm16", description = "Push 16-bit PCM bytes instead of float samples.")
    boolean pcm16;

    @Option(names = "--duration", paramLabel = "D",
            description = "Keep the session going this long (e.g. 90s, 60m), repeating the speech. Default: once.")
    String duration;

    @Option(names = "--gap-ms", paramLabel = "MS", defaultValue = "1000",
            description = "Silence between repetitions, in milliseconds (idle frames). Default: 1000.")
    int gapMs;

    @Option(names = "--width", paramLabel = "W", description = "Video width (with --height). Default: the model's.")
    Integer width;

    @Option(names = "--height", paramLabel = "H", description = "Video height (with --width). Default: the model's.")
    Integer height;

    @Option(names = "--steps", paramLabel = "N",
            description = "Denoising steps of a diffusion model (stableavatar, longcat-avatar). Default: the model's.")
    Integer steps;

    @Option(names = "--low-latency",
            description = "A diffusion model's low-latency mode (LiveOptions.lowLatency): each window finished before "
                    + "the next; frames no longer equal an offline generation's.")
    boolean lowLatency;

    @Option(names = "--fps", paramLabel = "N",
            description = "Frame rate of the session (LiveOptions.fps), 1..120: the preview family renders at any rate, "
                    + "a diffusion model only at its own. Default: the model's.")
    Integer fps;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "Seed of the idle motion and the chunk sizes.")
    long seed;

    @Option(names = "--report", paramLabel = "P", description = "Write the measurements as JSON.")
    Path report;

    @Option(names = "--memory-every", paramLabel = "S", defaultValue = "10",
            description = "Print a memory and CPU line every S seconds (0: never). Default: 10.")
    int memoryEvery;

    @Mixin
    BackendOption backendOption = new BackendOption();

    @Option(names = {"-q", "--quiet"}, description = "Print only the summary.")
    boolean quiet;

    LiveCommand(Avatar4jCli cli) {
        this.cli = cli;
    }

    @Override
    public Integer call() {
        try {
            return live();
        } catch (RuntimeException | LinkageError e) {
            return cli.handleFailure(e);
        }
    }

    private int live() throws RuntimeException {
        if ((audio == null) == (port == null)) {
            throw new ParameterException(spec.commandLine(), audio == null
                    ? "give --audio P (push a speech file) or --port N (serve the browser demo)"
                    : "--audio and --port exclude each other");
        }
        MediaRegistry.checkReadable(image, "image");
        if ((width == null) != (height == null)) {
            throw new ParameterException(spec.commandLine(), "--width and --height must be given together");
        }
        if (port != null) {
            return serve();
        }
        MediaRegistry.checkReadable(audio, "audio");
        if (pushRate < 8000 || pushRate > 192_000) {
            throw new ParameterException(spec.commandLine(), "--push-rate must be 8000..192000, got " + pushRate);
        }
        if (fps != null && (fps < 1 || fps > LiveOptions.MAX_FPS)) {
            throw new ParameterException(spec.commandLine(), "--fps must be 1.." + LiveOptions.MAX_FPS + ", got " + fps);
        }
        int[] chunk = chunkRange();
        long runFor = duration == null ? 0 : parseDuration(duration).toNanos();
        String requestedBackend = backendOption.validate();
        RgbImage portrait = MediaRegistry.global().readImage(image);
        float[] speech = MediaRegistry.global().readAudio(audio, pushRate).samples();
        if (speech.length == 0) {
            throw new InvalidInputException("the speech is empty: " + audio);
        }
        try (BackendOption.LoadedModel loaded = BackendOption.load(model, BackendOption.resolve(requestedBackend))) {
            int rate = loaded.model().sampleRate();
            long utterance = (long) Math.floor((double) speech.length * rate / pushRate + 0.5);
            float[] shown = MediaRegistry.global().readAudio(audio, rate).samples(); // what the MP4 plays
            LiveStats stats = new LiveStats(utterance);
            Avatar request = Avatar.from(portrait).model(loaded.model()).seed(seed);
            if (width != null) {
                request = request.size(width, height);
            }
            if (steps != null) {
                request = request.steps(steps);
            }
            AudioPipe pipe = out == null ? null : new AudioPipe();
            int fps = this.fps != null ? this.fps : loaded.model().fps();
            request = request.onFrame(f -> {
                stats.frame(f);
                if (pipe != null) {
                    pipe.add(frameAudio(f, shown, utterance, rate, fps));
                }
            });
            LiveOptions options = (out == null ? LiveOptions.defaults()
                    : LiveOptions.defaults().slowConsumer(LiveOptions.SlowConsumer.BACK_PRESSURE).frameBuffer(64))
                    .lowLatency(lowLatency).fps(this.fps != null ? this.fps : 0);
            long start = System.nanoTime();
            Thread writer = null;
            Throwable[] writeFailure = new Throwable[1];
            long dropped;
            try (LiveSession live = request.live(options)) {
                if (out != null) {
                    writer = startWriter(live, pipe, rate, fps, loaded.model(), writeFailure);
                }
                // as an application would: the face is found while the call is set up, speech comes later
                long ready = System.nanoTime() + 60_000_000_000L;
                while (stats.frames() == 0 && live.isOpen() && System.nanoTime() < ready) {
                    sleepMillis(5);
                }
                if (!live.isOpen()) {
                    live.await(); // throws what ended it (no face, say)
                }
                long utterances = push(live, speech, chunk, runFor, stats, start, rate, utterance);
                // the last utterance to its end (a diffusion model shows it seconds later), then idle frames
                long deadline = System.nanoTime() + 120_000_000_000L;
                while (stats.lastShownEnd() < utterance * utterances && System.nanoTime() < deadline) {
                    sleepMillis(20);
                }
                sleepMillis(500);
                dropped = live.droppedFrames();
            }
            if (pipe != null) {
                pipe.close();
            }
            if (writer != null) {
                try {
                    writer.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                if (writeFailure[0] != null) {
                    throw new InvalidInputException("cannot write " + out + ": " + writeFailure[0].getMessage());
                }
            }
            stats.sampleMemory(start);
            cli.out().println(stats.summary(dropped));
            if (report != null) {
                try {
                    Files.writeString(report, stats.json(dropped));
                } catch (IOException e) {
                    throw new InvalidInputException("cannot write the report " + report + ": " + e.getMessage());
                }
            }
            if (out != null && !quiet) {
                cli.out().println("wrote " + out);
            }
            return Avatar4jCli.EXIT_OK;
        }
    }

    /**
     * Serves the browser demo until the server stops (Ctrl-C, or the command's thread is interrupted).
     * The face is found before the server starts, so a portrait without one fails here (exit code
     * 2) rather than in every browser.
     */
    private int serve() {
        if (port < 0 || port > 65_535) {
            throw new ParameterException(spec.commandLine(), "--port must be 0..65535, got " + port);
        }
        if (maxSessions < 1) {
            throw new ParameterException(spec.commandLine(), "--max-sessions must be at least 1, got " + maxSessions);
        }
        for (String[] o : new String[][] {{"--out", out == null ? null : "x"}, {"--report", report == null ? null : "x"},
                {"--duration", duration}, {"--fps", fps == null ? null : "x"}}) {
            if (o[1] != null) {
                throw new ParameterException(spec.commandLine(), o[0] + " applies to --audio, not to --port");
            }
        }
        String requestedBackend = backendOption.validate();
        RgbImage portrait = MediaRegistry.global().readImage(image);
        try (BackendOption.LoadedModel loaded = BackendOption.load(model, BackendOption.resolve(requestedBackend))) {
            Avatar request = Avatar.from(portrait).model(loaded.model()).seed(seed);
            if (width != null) {
                request = request.size(width, height);
            }
            checkFace(request);
            try (LiveWebServer server = LiveWebServer.start(request, loaded.model(), host, port, maxSessions)) {
                Thread stop = new Thread(server::close, "avatar4j-live-web-stop");
                Runtime.getRuntime().addShutdownHook(stop);
                cli.out().println("avatar4j live: open " + server.uri() + " in a browser (the microphone needs "
                        + "localhost or HTTPS); Ctrl-C stops");
                cli.out().flush();
                try {
                    server.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return Avatar4jCli.EXIT_CANCELLED;
                } finally {
                    try {
                        Runtime.getRuntime().removeShutdownHook(stop);
                    } catch (IllegalStateException e) {
                        // the JVM is shutting down: the hook runs
                    }
                }
                return Avatar4jCli.EXIT_OK;
            }
        }
    }

    /** Starts a session and waits for its first frame: fails as the session does (no face, no live mode). */
    private static void checkFace(Avatar request) {
        java.util.concurrent.CountDownLatch first = new java.util.concurrent.CountDownLatch(1);
        try (LiveSession probe = request.onFrame(f -> first.countDown()).live()) {
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (first.getCount() > 0 && probe.isOpen() && System.nanoTime() < deadline) {
                try {
                    first.await(20, java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new dev.avatar4j.GenerationCancelledException("interrupted while finding the face");
                }
            }
            if (first.getCount() > 0 && !probe.isOpen()) {
                probe.await(); // throws what ended it
            }
        }
    }

    /**
     * Pushes the speech at real-time pace, repeated with gaps until the duration is reached.
     *
     * @return the utterances pushed
     */
    private long push(LiveSession live, float[] speech, int[] chunk, long runFor, LiveStats stats, long start,
                      int rate, long utterance) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long clock = System.nanoTime(); // when the next sample is due
        long nextMemory = start;
        long utterances = 0;
        do {
            for (int i = 0; i < speech.length; ) {
                int n = Math.min(speech.length - i, (int) ((long) pushRate
                        * (chunk[0] + (chunk[1] > chunk[0] ? rnd.nextInt(chunk[1] - chunk[0] + 1) : 0)) / 1000));
                n = Math.max(1, n);
                LockSupport.parkNanos(Math.max(0, clock - System.nanoTime()));
                // where the chunk starts in the session's positions (the model's rate)
                stats.pushed(utterances * utterance + (long) i * rate / pushRate, System.nanoTime());
                if (pcm16) {
                    live.pushPcm16(toPcm16(speech, i, n), pushRate);
                } else {
                    live.push(speech, i, n, pushRate);
                }
                i += n;
                clock += (long) n * 1_000_000_000L / pushRate; // the chunk was spoken in this much time
                if (memoryEvery > 0 && System.nanoTime() >= nextMemory) {
                    stats.sampleMemory(start);
                    if (!quiet) {
                        cli.err().println(stats.memoryLine());
                    }
                    nextMemory += memoryEvery * 1_000_000_000L;
                }
            }
            live.endOfSpeech();
            utterances++;
            clock += gapMs * 1_000_000L;
            LockSupport.parkNanos(Math.max(0, clock - System.nanoTime()));
        } while (System.nanoTime() - start < runFor);
        return utterances;
    }

    private static byte[] toPcm16(float[] s, int off, int n) {
        byte[] b = new byte[n * 2];
        for (int i = 0; i < n; i++) {
            short v = (short) Math.round(Math.clamp(s[off + i], -1f, 1f) * 32767);
            b[2 * i] = (byte) v;
            b[2 * i + 1] = (byte) (v >> 8);
        }
        return b;
    }

    /** The audio under frame {@code f}: the speech its span shows, padded with silence to a frame's length. */
    private static float[] frameAudio(Frame f, float[] shown, long utterance, int rate, int fps) {
        long i = f.index();
        float[] a = new float[(int) ((i + 1) * rate / fps - i * rate / fps)];
        f.speech().ifPresent(s -> {
            for (long p = s.start(); p < s.end() && p - s.start() < a.length; p++) {
                long inUtterance = p % utterance;
                a[(int) (p - s.start())] = inUtterance < shown.length ? shown[(int) inUtterance] : 0f;
            }
        });
        return a;
    }

    /** Writes the frames of the session's iterator to the MP4, its audio from the pipe, on its own thread. */
    private Thread startWriter(LiveSession live, AudioPipe pipe, int rate, int fps, dev.avatar4j.AvatarModel m,
                               Throwable[] failure) {
        Iterator<Frame> frames = live.iterator();
        Thread t = new Thread(() -> {
            FrameSink sink = null;
            try {
                while (frames.hasNext()) {
                    Frame f = frames.next();
                    if (sink == null) {
                        sink = MediaRegistry.global().openVideoWriter(out, new VideoSpec(f.width(), f.height(), fps,
                                new AudioClip(new float[0], rate), null, () -> pipe));
                    }
                    sink.accept(f);
                }
                if (sink != null) {
                    pipe.close();
                    sink.complete();
                }
            } catch (Throwable e) {
                failure[0] = e;
                pipe.close();
                if (sink != null) {
                    sink.abort();
                }
                live.close();
            }
        }, "avatar4j-live-writer");
        t.start();
        return t;
    }

    private int[] chunkRange() {
        try {
            String[] p = chunkMs.strip().split("-", -1);
            int lo = Integer.parseInt(p[0].strip());
            int hi = p.length == 2 ? Integer.parseInt(p[1].strip()) : lo;
            if (p.length > 2 || lo < 1 || hi < lo || hi > 10_000) {
                throw new NumberFormatException();
            }
            return new int[] {lo, hi};
        } catch (NumberFormatException e) {
            throw new ParameterException(spec.commandLine(), "--chunk-ms wants MS or MIN-MAX (1..10000), got '"
                    + chunkMs + "'");
        }
    }

    private Duration parseDuration(String d) {
        String s = d.strip().toLowerCase(Locale.ROOT);
        try {
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            } else if (s.endsWith("s")) {
                return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)));
            } else if (s.endsWith("m")) {
                return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1)));
            } else if (s.endsWith("h")) {
                return Duration.ofHours(Long.parseLong(s.substring(0, s.length() - 1)));
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new ParameterException(spec.commandLine(), "--duration wants a number and a unit (90s, 60m, 1h), got '"
                + d + "'");
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The audio track of the MP4: each frame's audio as the session made it (the listener adds it),
     * read by the video writer as it muxes, one chunk ahead of the frames; blocks until there is
     * audio or the session has ended.
     */
    private static final class AudioPipe implements AudioStream {
        private final ArrayDeque<float[]> chunks = new ArrayDeque<>();
        private int offset;
        private boolean closed;

        synchronized void add(float[] a) {
            chunks.add(a);
            notifyAll();
        }

        @Override
        public synchronized int read(float[] dst, int off, int len) {
            while (chunks.isEmpty() && !closed) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return -1;
                }
            }
            if (chunks.isEmpty()) {
                return -1;
            }
            int n = 0;
            while (n < len && !chunks.isEmpty()) {
                float[] head = chunks.peek();
                int k = Math.min(len - n, head.length - offset);
                System.arraycopy(head, offset, dst, off + n, k);
                n += k;
                offset += k;
                if (offset == head.length) {
                    chunks.poll();
                    offset = 0;
                }
            }
            return n;
        }

        @Override
        public synchronized void close() {
            closed = true;
            notifyAll();
        }
    }
}
