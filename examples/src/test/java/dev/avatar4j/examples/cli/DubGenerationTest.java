package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Dub;
import dev.avatar4j.Frame;
import dev.avatar4j.Generation;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.NoFace;
import dev.avatar4j.Progress;
import dev.avatar4j.RenderResult;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoSpec;
import dev.avatar4j.testing.CountingBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A dub is started, streamed and cancelled like a portrait generation (issue 16): {@link Dub#start()}
 * returns a {@link Generation} whose frames arrive through the listeners, the iterator and the
 * publisher, whose progress is monotonic, and whose cancel — from a listener, from the handle's future —
 * stops the model calls at once (counted with {@link CountingBackend}, not timed) and leaves no file.
 * The model is the tiny {@code latentsync} bundle on ONNX Runtime behind a counting backend; the clip
 * is 25 frames of the NASA portrait panned (examples/media/PROVENANCE.md), dubbed with one second of
 * hello.wav.
 */
class DubGenerationTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final int W = 320;
    private static final int H = 240;
    private static final int FRAMES = 25;

    @TempDir
    static Path tmp;
    private static Path clip;
    private static AudioClip speech;
    private static AvatarModel model;
    private static CountingBackend calls;

    @BeforeAll
    static void makeClip() {
        MediaRegistry media = MediaRegistry.global();
        RgbImage portrait = media.readImage(REPO.resolve("examples/media/portrait.png"));
        clip = tmp.resolve("clip.mp4");
        FrameSink sink = media.openVideoWriter(clip, new VideoSpec(W, H, 25, new AudioClip(new float[FRAMES * 640], 16_000),
                null));
        for (int f = 0; f < FRAMES; f++) {
            sink.accept(new Frame(f, 25, RgbImage.of(W, H, DubEndToEndTest.crop(portrait, 20 + 2 * f, 0))));
        }
        sink.complete();
        float[] hello = media.readAudio(REPO.resolve("examples/media/hello.wav"), 16_000).samples();
        speech = new AudioClip(Arrays.copyOf(hello, 16_000), 16_000);
        model = AvatarModel.builder(REPO.resolve("models/latentsync-tiny")).backend("counting-onnx").load();
        calls = CountingOnnxProvider.backend();
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    @BeforeEach
    void noHook() {
        calls.afterRun = n -> { };
        calls.reset();
    }

    private static Dub request() {
        return Avatar.dub(clip).speak(speech.samples(), 16_000).model(model).steps(2).seed(3)
                .noFace(NoFace.PASSTHROUGH);
    }

    /** The frames' pixels, compared by content. */
    private static List<ByteBuffer> pixels(List<Frame> frames) {
        return frames.stream().map(f -> ByteBuffer.wrap(f.image().toRgbArray())).toList();
    }

    /** The frames of a blocking dub into a sink, the reference of the streamed ones. */
    private static List<ByteBuffer> rendered() {
        List<Frame> got = new ArrayList<>();
        request().render(new FrameSink() {
            @Override
            public void accept(Frame frame) {
                got.add(new Frame(frame.index(), frame.fps(), RgbImage.of(frame.width(), frame.height(), frame.image().toRgbArray())));
            }

            @Override
            public void complete() {
            }

            @Override
            public void abort() {
            }
        });
        return pixels(got);
    }

    @Test
    void aStartedDubStreamsItsFramesToTheListenerAndTheIteratorAsRenderMakesThem() {
        List<ByteBuffer> reference = rendered();
        int callsOfADub = calls.runs();
        calls.reset();
        List<Frame> heard = new CopyOnWriteArrayList<>();
        Generation dub = request().onFrame(heard::add).start();
        List<Frame> iterated = new ArrayList<>();
        for (Iterator<Frame> it = dub.iterator(); it.hasNext(); ) {
            iterated.add(it.next());
        }
        RenderResult r = dub.await();
        assertThat(r.frames()).isEqualTo(FRAMES);
        assertThat(r.width()).isEqualTo(W);
        assertThat(r.height()).isEqualTo(H);
        assertThat(r.output()).isEmpty();
        assertThat(iterated).extracting(Frame::index).containsExactlyElementsOf(
                java.util.stream.IntStream.range(0, FRAMES).boxed().toList());
        assertThat(pixels(iterated)).containsExactlyElementsOf(reference);
        assertThat(pixels(heard)).containsExactlyElementsOf(reference);
        assertThat(calls.runs()).as("the same model calls as render").isEqualTo(callsOfADub);
        assertThat(dub.progress().stage()).isEqualTo(Progress.Stage.DONE);
    }

    @Test
    void aDubPublishesItsFramesToASubscriber() throws Exception {
        Generation dub = request().start();
        List<Frame> got = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        dub.publisher().subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(Frame item) {
                got.add(item);
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onComplete() {
                done.complete(null);
            }
        });
        done.get(5, TimeUnit.MINUTES);
        assertThat(got).hasSize(FRAMES);
        assertThat(dub.await().frames()).isEqualTo(FRAMES);
    }

    @Test
    void progressIsMonotonicFromPreparingToDoneAndTheHandleShowsTheLastSnapshot() {
        List<Progress> seen = new CopyOnWriteArrayList<>();
        Generation dub = request().onProgress(seen::add).start(tmp.resolve("progress.mp4"));
        RenderResult r = dub.await();
        assertThat(r.output()).contains(tmp.resolve("progress.mp4").toAbsolutePath());
        assertThat(seen.getFirst().stage()).isEqualTo(Progress.Stage.PREPARING);
        assertThat(seen.getFirst().framesTotal()).isEqualTo(FRAMES);
        for (int i = 1; i < seen.size(); i++) {
            Progress a = seen.get(i - 1);
            Progress b = seen.get(i);
            assertThat(b.stage().ordinal() >= a.stage().ordinal() || a.stage() == Progress.Stage.DECODING
                    && b.stage() == Progress.Stage.DENOISING).as("stage %s after %s", b.stage(), a.stage()).isTrue();
            assertThat(b.framesDone()).isGreaterThanOrEqualTo(a.framesDone());
            assertThat(b.workDone()).isGreaterThanOrEqualTo(a.workDone());
            assertThat(b.framesTotal()).isEqualTo(FRAMES);
            if (a.workTotal() > 0) {
                assertThat(b.workTotal()).isEqualTo(a.workTotal());
                assertThat(b.fraction()).isGreaterThanOrEqualTo(a.fraction());
            }
        }
        Progress last = seen.getLast();
        assertThat(last.stage()).isEqualTo(Progress.Stage.DONE);
        assertThat(last.framesDone()).isEqualTo(FRAMES);
        assertThat(last.workDone()).isEqualTo(last.workTotal()).isPositive();
        assertThat(seen).extracting(Progress::activity).contains("muxing");
        assertThat(dub.progress()).isEqualTo(last);
    }

    @Test
    void aCancelFromTheFrameListenerStopsTheModelCallsAndLeavesNoFile() throws IOException {
        Path out = tmp.resolve("cancelled-by-listener.mp4");
        CompletableFuture<Generation> started = new CompletableFuture<>();
        AtomicInteger callsAtCancel = new AtomicInteger(-1);
        List<Frame> heard = new CopyOnWriteArrayList<>();
        Generation dub = request().onFrame(f -> {
            heard.add(f);
            if (f.index() == 2) {
                Generation g = started.join();
                callsAtCancel.set(calls.runs());
                assertThat(g.cancel()).isTrue();
            }
        }).start(out);
        started.complete(dub);
        assertThatThrownBy(dub::await).isInstanceOf(GenerationCancelledException.class);
        assertThat(calls.runs()).as("no model call after the cancel").isEqualTo(callsAtCancel.get());
        assertThat(heard).as("no frame after the cancel").hasSize(3);
        assertThat(out).doesNotExist();
        assertThat(parts()).isEmpty();
        assertThat(dub.cancel()).as("once ended, cancel does nothing").isFalse();
    }

    @Test
    void cancellingTheFutureCancelsTheDubBeforeItsNextModelCall() throws IOException {
        Path out = tmp.resolve("cancelled-by-future.mp4");
        CompletableFuture<CompletableFuture<RenderResult>> future = new CompletableFuture<>();
        AtomicInteger callsAtCancel = new AtomicInteger(-1);
        Generation dub = request().onProgress(p -> {
            if (p.stage() == Progress.Stage.DENOISING && callsAtCancel.get() < 0) { // after the first UNet step
                callsAtCancel.set(calls.runs());
                assertThat(future.join().cancel(true)).isTrue();
            }
        }).start(out);
        future.complete(dub.toFuture());
        assertThatThrownBy(dub::await).isInstanceOf(GenerationCancelledException.class);
        assertThat(callsAtCancel.get()).as("the dub reached the UNet").isPositive();
        assertThat(calls.runs()).as("model calls: none after the cancel").isEqualTo(callsAtCancel.get());
        assertThat(dub.progress().framesDone()).isZero();
        assertThat(out).doesNotExist();
        assertThat(parts()).isEmpty();
    }

    @Test
    void aDubOnAPortraitModelFailsThroughTheHandle() {
        Generation g = Avatar.dub(clip).speak(speech.samples(), 16_000)
                .model(AvatarModel.defaultModel()).start();
        assertThatThrownBy(g::await).isInstanceOf(dev.avatar4j.BundleException.class)
                .hasMessageContaining("dubbing needs a latentsync bundle");
    }

    private static List<Path> parts() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".part")).toList();
        }
    }
}
