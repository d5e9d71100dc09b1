package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Frame;
import dev.avatar4j.Generation;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.tensor.TensorLeaks;
import dev.avatar4j.testing.SelfCancel;
import dev.avatar4j.testing.TestMedia;
import dev.avatar4j.testing.TestMedia.RecordingSink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reliability on ONNX Runtime with the committed tiny bundle: 8 threads × 50 generations on one
 * model equal the sequential ones bit for bit, and a soak of short generations (a third of them cancelled)
 * neither leaks tensors nor grows the process's resident memory.
 *
 * <p><b>Soak.</b> CI runs {@value #CI_SOAK} generations. The documented manual run is 1000:
 * <pre>
 * ./mvnw -o -q -pl sdk-runtime-onnx test -Dtest=OnnxReliabilityTest#soakKeepsResidentMemoryFlat -Davatar4j.soak.n=1000
 * </pre>
 * It logs the resident set every N/10 generations; the assertions are the same: no live tensor
 * left (exact); in a manual run (-Davatar4j.soak.n) also at most {@value #RSS_MARGIN_MB} MB of RSS growth over the last 70 % of the run (CI only reports it). For N = 1000
 * run it with a pre-touched heap (surefire {@code argLine} {@code -Xms1g -Xmx1g -XX:+AlwaysPreTouch}):
 * G1 touches committed-but-unused heap pages late and in steps, which the RSS cannot tell from a
 * native leak (with {@code -Xmx2g} one run went 296 → 552 MB between generations 600 and 800, the
 * heap committed constant at 380 MB and no tensor leaked; with the pre-touched heap: 1268 → 1291 MB
 * in all, flat after generation 300).
 */
class OnnxReliabilityTest {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxReliabilityTest.class);
    private static final Path BUNDLE = Path.of("..", "models", "stableavatar-tiny");
    private static final Path PORTRAIT = Path.of("..", "examples", "media", "portrait.png");
    static final int RATE = 16000;
    static final int CI_SOAK = 50;
    static final int RSS_MARGIN_MB = 30;

    private static AvatarModel model;
    private static RgbImage portrait;
    private static float[] speech;

    @BeforeAll
    static void load() {
        Assumptions.assumeTrue(Files.exists(BUNDLE.resolve("dit.onnx")), "tiny bundle not generated");
        model = AvatarModel.builder(BUNDLE).backend("onnx").load();
        portrait = MediaRegistry.global().readImage(PORTRAIT);
        speech = TestMedia.speechLike(2.0, RATE);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    static Avatar request(long seed) {
        return Avatar.from(portrait).speak(speech, RATE).size(64, 64).steps(1).seed(seed).model(model);
    }

    static List<byte[]> render(long seed) {
        return render(request(seed));
    }

    static List<byte[]> render(Avatar request) {
        RecordingSink sink = new RecordingSink();
        request.render(sink);
        assertThat(sink.completed).isTrue();
        List<byte[]> out = new ArrayList<>();
        for (Frame f : sink.frames) {
            out.add(f.image().toRgbArray());
        }
        return out;
    }

    /**
     * 8 threads × 50 generations on one ONNX model (issue #8 part 4): every thread renders the
     * same 50 distinct short requests (0.6 s of speech, different seeds), each thread starting at a
     * different one; every output equals the sequential run of that request, byte for byte.
     */
    @Test
    void eightThreadsTimesFiftyGenerationsEqualTheSequentialRuns() throws Exception {
        int threads = 8;
        int perThread = 50;
        float[] shortSpeech = TestMedia.speechLike(0.6, RATE);
        java.util.function.IntFunction<List<byte[]>> run = i -> render(Avatar.from(portrait).speak(shortSpeech, RATE)
                .size(64, 64).steps(1).seed(100 + i).model(model));
        List<List<byte[]>> sequential = new ArrayList<>();
        for (int i = 0; i < perThread; i++) {
            sequential.add(run.apply(i));
        }
        long liveBefore = TensorLeaks.live();
        long liveBeforeBytes = TensorLeaks.liveBytes();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int first = t * 7;
                results.add(pool.submit(() -> {
                    go.await();
                    for (int j = 0; j < perThread; j++) {
                        int i = (first + j) % perThread;
                        List<byte[]> got = run.apply(i);
                        List<byte[]> want = sequential.get(i);
                        assertThat(got).hasSameSizeAs(want);
                        for (int f = 0; f < want.size(); f++) {
                            assertThat(got.get(f)).as("request %d, frame %d", i, f).isEqualTo(want.get(f));
                        }
                    }
                    return perThread;
                }));
            }
            go.countDown();
            int done = 0;
            for (Future<Integer> f : results) {
                done += f.get(300, TimeUnit.SECONDS);
            }
            assertThat(done).isEqualTo(threads * perThread);
        } finally {
            pool.shutdownNow();
        }
        assertThat(TensorLeaks.live()).as("live tensors").isEqualTo(liveBefore);
        assertThat(TensorLeaks.liveBytes()).as("live tensor bytes").isEqualTo(liveBeforeBytes);
    }

    /**
     * Pure silence on the real graphs: each window's normalised audio is all zeros (no division
     * by zero, see Wav2Vec2NormalizerTest), the audio features, velocities and pixels pass the
     * engine's finiteness checks, and the video is deterministic. What the face does is up to
     * the model: the committed tiny bundle has random weights, so "calm, closed mouth" can only
     * be judged with real weights.
     */
    @Test
    void silenceRendersFiniteAndDeterministic() {
        float[] silence = new float[2 * RATE];
        Avatar quiet = Avatar.from(portrait).speak(silence, RATE).size(64, 64).steps(2).seed(9).model(model);
        List<byte[]> first = render(quiet);
        List<byte[]> again = render(quiet);
        assertThat(first).hasSize(49).hasSameSizeAs(again);
        for (int f = 0; f < first.size(); f++) {
            assertThat(again.get(f)).as("frame %d", f).isEqualTo(first.get(f));
        }
    }

    /**
     * {@code close()} while generations run on ONNX Runtime waits for them (no native session is
     * freed under a running graph), then refuses new ones; the JVM survives and nothing leaks.
     */
    @Test
    void closeWhileGenerationsRunWaitsThenRefuses() throws Exception {
        long liveBefore = TensorLeaks.live();
        long liveBeforeBytes = TensorLeaks.liveBytes();
        AvatarModel m = AvatarModel.builder(BUNDLE).backend("onnx").load();
        int n = 4;
        CountDownLatch started = new CountDownLatch(n);
        List<Generation> running = new ArrayList<>();
        List<RecordingSink> sinks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            RecordingSink sink = new RecordingSink();
            sinks.add(sink);
            java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
            running.add(Avatar.from(portrait).speak(speech, RATE).size(64, 64).steps(2).seed(i).model(m)
                    .onFrame(f -> {
                        if (once.compareAndSet(false, true)) {
                            started.countDown();
                        }
                    }).start(sink));
        }
        assertThat(started.await(120, TimeUnit.SECONDS)).isTrue();
        Thread closer = Thread.ofPlatform().start(m::close);
        closer.join(120_000);
        assertThat(closer.isAlive()).isFalse();
        for (int i = 0; i < n; i++) {
            assertThat(running.get(i).isDone()).as("close() waited for generation %d", i).isTrue();
            assertThat(running.get(i).await().frames()).isEqualTo(49);
            assertThat(sinks.get(i).completed).isTrue();
        }
        assertThatThrownBy(() -> Avatar.from(portrait).speak(speech, RATE).size(64, 64).steps(1).model(m)
                .render(new RecordingSink())).isInstanceOf(dev.avatar4j.AvatarException.class)
                .hasMessageContaining("is closed");
        assertThat(TensorLeaks.live()).as("live tensors").isEqualTo(liveBefore);
        assertThat(TensorLeaks.liveBytes()).as("live tensor bytes").isEqualTo(liveBeforeBytes);
    }

    @Test
    void soakKeepsResidentMemoryFlat() {
        Assumptions.assumeTrue(Files.isReadable(Path.of("/proc/self/status")), "needs /proc (Linux)");
        int n = Integer.getInteger("avatar4j.soak.n", CI_SOAK);
        int warmUp = Math.max(10, n / 10);
        for (int i = 0; i < warmUp; i++) {
            generate(i);
        }
        long liveBefore = TensorLeaks.live();
        long liveBeforeBytes = TensorLeaks.liveBytes();
        long rssBefore = rssKb();
        long t0 = System.nanoTime();
        long rssSettled = -1;
        for (int i = 0; i < n; i++) {
            generate(warmUp + i);
            if (i + 1 == (3 * n) / 10) {
                rssSettled = rssKb();
            }
            if ((i + 1) % Math.max(1, n / 10) == 0) {
                long rss = rssKb();
                LOG.info("soak: {} generations, RSS {} MB, Java heap committed {} MB", i + 1, rss / 1024,
                        Runtime.getRuntime().totalMemory() >> 20);
            }
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        long rssAfter = rssKb();
        LOG.info("soak: {} generations in {} ms, RSS {} MB -> {} MB, live tensors {} -> {}", n, ms, rssBefore / 1024,
                rssAfter / 1024, liveBefore, TensorLeaks.live());
        assertThat(TensorLeaks.live()).as("live tensors").isEqualTo(liveBefore);
        assertThat(TensorLeaks.liveBytes()).as("live tensor bytes").isEqualTo(liveBeforeBytes);
        // RSS is reported, and only asserted in a manual run (-Davatar4j.soak.n): a collector may touch
        // committed heap pages late and in steps, which would make a CI-sized bound flaky; the
        // live-tensor count above is the exact, deterministic leak check. G1 touches the pages of its
        // committed heap over the first few hundred generations (measured: +115 MB in the first 100 of
        // 1000, then +5 MB over the last 700), so the bound applies from 30 % of the run on, where a
        // leak shows as a steady climb: one leaked 256x256 frame per generation would add ~135 MB.
        if (System.getProperty("avatar4j.soak.n") != null) {
            assertThat((rssAfter - rssSettled) / 1024)
                    .as("RSS growth over the last 70%% of %d generations, MB (%d MB over the whole run)", n,
                            (rssAfter - rssBefore) / 1024)
                    .isLessThanOrEqualTo(RSS_MARGIN_MB);
        }
    }

    /** Generation i: every third one is cancelled on its frame (i % 40), the others run to the end. */
    private static void generate(int i) {
        if (i % 3 != 2) {
            assertThat(render(i)).hasSize(49);
            return;
        }
        Generation g = SelfCancel.atFrame(request(i), i % 40, new RecordingSink());
        assertThatThrownBy(g::await).isInstanceOf(GenerationCancelledException.class);
    }

    /** The resident set of this process, from /proc/self/status. */
    static long rssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
