package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.testing.FakeBackendProvider;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.TestMedia;
import dev.avatar4j.testing.TestMedia.RecordingSink;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Service use on the fake backend: byte and stream inputs, and {@link Generation#publisher()}. */
class StreamsApiTest {
    @TempDir
    static Path dir;
    static AvatarModel model;
    static final int RATE = 16000;
    static Path png;
    static Path wav;

    @BeforeAll
    static void load() throws Exception {
        model = AvatarModel.builder(FakeBundles.write(dir.resolve("bundle"))).backend("fake").load();
        png = dir.resolve("face.png");
        ImageIO.write(TestMedia.gradient(40, 30).toBufferedImage(), "png", png.toFile());
        wav = TestMedia.writeWav(dir.resolve("speech.wav"), TestMedia.speechLike(3.0, RATE), RATE, 1);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @BeforeEach
    void reset() {
        FakeBackendProvider.INSTANCE.failOn = null;
        FakeBackendProvider.INSTANCE.runs.clear();
    }

    private static List<byte[]> frames(Avatar a) {
        RecordingSink sink = new RecordingSink();
        a.model(model).seed(3).render(sink);
        return sink.frames.stream().map(f -> f.image().toRgbArray()).toList();
    }

    private static Set<Path> spooled() throws IOException {
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("avatar4j-input-")).collect(Collectors.toSet());
        }
    }

    // --- inputs -----------------------------------------------------------------------------------

    @Test
    void bytesAndStreamsDecodeLikeTheFilesAndLeaveNoTemporaryFile() throws Exception {
        Set<Path> before = spooled();
        List<byte[]> fromFiles = frames(Avatar.from(png).speak(wav));
        byte[] image = Files.readAllBytes(png);
        byte[] speech = Files.readAllBytes(wav);
        List<byte[]> fromBytes = frames(Avatar.from(image).speak(speech));
        List<byte[]> fromStreams = frames(Avatar.from(new ByteArrayInputStream(image))
                .speak(new ByteArrayInputStream(speech)));
        assertThat(fromFiles).isNotEmpty();
        assertThat(fromBytes).hasSameSizeAs(fromFiles);
        assertThat(fromStreams).hasSameSizeAs(fromFiles);
        for (int i = 0; i < fromFiles.size(); i++) {
            assertThat(fromBytes.get(i)).isEqualTo(fromFiles.get(i));
            assertThat(fromStreams.get(i)).isEqualTo(fromFiles.get(i));
        }
        assertThat(spooled()).as("spooled inputs are deleted").isSubsetOf(before);
    }

    @Test
    void byteInputsAreCopiedAndReusable() throws Exception {
        byte[] image = Files.readAllBytes(png);
        byte[] speech = Files.readAllBytes(wav);
        Avatar a = Avatar.from(image).speak(speech);
        List<byte[]> first = frames(a);
        java.util.Arrays.fill(image, (byte) 0); // the request holds its own copy
        java.util.Arrays.fill(speech, (byte) 0);
        List<byte[]> second = frames(a);
        assertThat(second).hasSameSizeAs(first);
        for (int i = 0; i < first.size(); i++) {
            assertThat(second.get(i)).isEqualTo(first.get(i));
        }
    }

    @Test
    void aSpeechStreamIsReadOnceAndASecondGenerationIsRefused() throws Exception {
        Avatar a = Avatar.from(png).speak(new ByteArrayInputStream(Files.readAllBytes(wav)));
        assertThat(frames(a)).isNotEmpty();
        assertThatThrownBy(() -> frames(a)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("the speech stream was already read")
                .hasMessageContaining("byte[]");
        assertThatThrownBy(() -> frames(a.steps(1))).as("derived requests share the stream")
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void brokenBytesFailWithTheFileWordingNamingTheInput() throws Exception {
        Set<Path> before = spooled();
        byte[] garbage = "this is not an image at all".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> frames(Avatar.from(garbage).speak(wav))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("cannot read the image bytes: unsupported format")
                .hasMessageNotContaining("avatar4j-input-");
        assertThatThrownBy(() -> frames(Avatar.from(png).speak(new ByteArrayInputStream(garbage))))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("the speech stream")
                .hasMessageNotContaining("avatar4j-input-");
        assertThatThrownBy(() -> Avatar.from(new byte[0])).isInstanceOf(InvalidInputException.class)
                .hasMessage("the image bytes is empty");
        assertThatThrownBy(() -> Avatar.from(new ByteArrayInputStream(new byte[0])))
                .isInstanceOf(InvalidInputException.class).hasMessage("the image stream is empty");
        assertThat(spooled()).isSubsetOf(before);
    }

    @Test
    void anImageStreamIsReadAtOnceAndBounded() {
        long[] read = {0};
        java.io.InputStream endless = new java.io.InputStream() {
            @Override
            public int read() {
                read[0]++;
                return 1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                java.util.Arrays.fill(b, off, off + len, (byte) 1);
                read[0] += len;
                return len;
            }
        };
        assertThatThrownBy(() -> Avatar.from(endless)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("the image stream is too large: more than 256 MiB");
        assertThat(read[0]).isLessThanOrEqualTo(StreamInput.MAX_IMAGE_BYTES + 1L);
    }

    // --- publisher --------------------------------------------------------------------------------

    /** A subscriber that records what it gets and requests what the test tells it. */
    static class Recorder implements Flow.Subscriber<Frame> {
        final List<String> signals = Collections.synchronizedList(new ArrayList<>());
        final List<Frame> frames = Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<Throwable> done = new CompletableFuture<>();
        volatile Flow.Subscription subscription;
        final CountDownLatch subscribed = new CountDownLatch(1);

        @Override
        public void onSubscribe(Flow.Subscription s) {
            signals.add("subscribe");
            subscription = s;
            subscribed.countDown();
        }

        @Override
        public void onNext(Frame f) {
            signals.add("next");
            frames.add(f);
        }

        @Override
        public void onError(Throwable t) {
            signals.add("error");
            done.complete(t);
        }

        @Override
        public void onComplete() {
            signals.add("complete");
            done.complete(null);
        }
    }

    private static Avatar request(double seconds) {
        return Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(seconds, RATE), RATE)
                .model(model).seed(7);
    }

    @Test
    void publisherDeliversEveryFrameInOrderThenCompletes() throws Exception {
        Generation g = request(3.5).frameBuffer(4).start();
        Recorder r = new Recorder();
        g.publisher().subscribe(r);
        assertThat(r.subscribed.await(30, TimeUnit.SECONDS)).isTrue();
        r.subscription.request(Long.MAX_VALUE);
        assertThat(r.done.get(60, TimeUnit.SECONDS)).isNull();
        RenderResult result = g.await();
        assertThat(r.frames).hasSize(result.frames());
        for (int i = 0; i < r.frames.size(); i++) {
            assertThat(r.frames.get(i).index()).isEqualTo(i);
        }
        assertThat(r.signals.getFirst()).isEqualTo("subscribe");
        assertThat(r.signals.getLast()).isEqualTo("complete");
    }

    @Test
    void aSlowSubscriberHoldsTheGenerationWithinTheBufferOfItsDemand() throws Exception {
        int buffer = 2;
        AtomicInteger produced = new AtomicInteger();
        AtomicInteger worstLead = new AtomicInteger();
        AtomicLong requested = new AtomicLong();
        Generation g = request(6.0).frameBuffer(buffer).onFrame(f -> produced.incrementAndGet()).start();
        Recorder r = new Recorder() {
            @Override
            public void onNext(Frame f) {
                super.onNext(f);
                worstLead.accumulateAndGet((int) (produced.get() - requested.get()), Math::max);
                try {
                    Thread.sleep(2); // slow: the generation must wait for it, not buffer ahead
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                requested.incrementAndGet();
                subscription.request(1);
            }
        };
        g.publisher().subscribe(r);
        assertThat(r.subscribed.await(30, TimeUnit.SECONDS)).isTrue();
        requested.set(3);
        r.subscription.request(3);
        // with no further demand than 3 frames, the generation stalls a buffer ahead of them
        while (r.frames.size() < 3) {
            Thread.sleep(5);
        }
        assertThat(r.done.get(60, TimeUnit.SECONDS)).isNull();
        int total = g.await().frames();
        assertThat(total).isGreaterThan(3 * (buffer + 2));
        assertThat(r.frames).hasSize(total);
        // a frame counts as produced when listeners see it, one before it waits for buffer space
        assertThat(worstLead.get()).isLessThanOrEqualTo(buffer + 1);
    }

    @Test
    void withoutDemandTheGenerationWaits() throws Exception {
        int buffer = 2;
        AtomicInteger produced = new AtomicInteger();
        Generation g = request(6.0).frameBuffer(buffer).onFrame(f -> produced.incrementAndGet()).start();
        Recorder r = new Recorder();
        g.publisher().subscribe(r);
        assertThat(r.subscribed.await(30, TimeUnit.SECONDS)).isTrue();
        r.subscription.request(2);
        while (r.frames.size() < 2) {
            Thread.sleep(5);
        }
        Thread.sleep(300); // time to run ahead if nothing held it (no timing is asserted)
        assertThat(g.isDone()).isFalse();
        assertThat(produced.get()).isLessThanOrEqualTo(2 + buffer + 1);
        assertThat(r.frames).hasSize(2);
        r.subscription.request(Long.MAX_VALUE);
        assertThat(r.done.get(60, TimeUnit.SECONDS)).isNull();
        assertThat(r.frames).hasSize(g.await().frames());
    }

    @Test
    void cancellingTheSubscriptionCancelsTheGenerationAndAbortsItsOutput() throws Exception {
        RecordingSink sink = new RecordingSink();
        Generation g = request(6.0).frameBuffer(2).start(sink);
        Recorder r = new Recorder() {
            @Override
            public void onNext(Frame f) {
                super.onNext(f);
                if (frames.size() == 3) {
                    subscription.cancel();
                }
            }
        };
        g.publisher().subscribe(r);
        assertThat(r.subscribed.await(30, TimeUnit.SECONDS)).isTrue();
        r.subscription.request(Long.MAX_VALUE);
        assertThatThrownBy(g::await).isInstanceOf(GenerationCancelledException.class);
        assertThat(sink.aborted).isTrue();
        assertThat(sink.completed).isFalse();
        assertThat(r.frames).hasSize(3);
        assertThat(r.signals).doesNotContain("complete", "error");
    }

    @Test
    void aFailingGenerationSignalsOnErrorWithItsCause() throws Exception {
        FakeBackendProvider.INSTANCE.failAfter = 5;
        FakeBackendProvider.INSTANCE.failOn = "vae_decoder.onnx";
        Generation g = request(4.0).frameBuffer(4).start();
        Recorder r = new Recorder();
        g.publisher().subscribe(r);
        assertThat(r.subscribed.await(30, TimeUnit.SECONDS)).isTrue();
        r.subscription.request(Long.MAX_VALUE);
        Throwable t = r.done.get(60, TimeUnit.SECONDS);
        assertThat(t).isInstanceOf(AvatarException.class).hasMessageContaining("injected failure in vae_decoder.onnx");
        assertThatThrownBy(g::await).isInstanceOf(AvatarException.class);
        assertThat(r.signals.getLast()).isEqualTo("error");
        assertThat(r.signals).doesNotContain("complete");
    }

    @Test
    void aSecondSubscriberAndANonPositiveRequestAreErrors() throws Exception {
        Generation g = request(6.0).frameBuffer(2).start();
        Recorder first = new Recorder();
        g.publisher().subscribe(first);
        assertThat(first.subscribed.await(30, TimeUnit.SECONDS)).isTrue();
        Recorder second = new Recorder();
        g.publisher().subscribe(second);
        assertThat(second.done.get(10, TimeUnit.SECONDS)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("one subscriber");
        assertThat(second.signals).containsExactly("subscribe", "error");
        assertThatThrownBy(g::iterator).as("the publisher holds the iterator").isInstanceOf(IllegalStateException.class);

        first.subscription.request(0);
        assertThat(first.done.get(10, TimeUnit.SECONDS)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("3.9");
        assertThatThrownBy(g::await).as("the generation is cancelled").isInstanceOf(GenerationCancelledException.class);
        first.subscription.request(1); // after a terminal signal: nothing more
        Thread.sleep(50);
        assertThat(first.signals).containsExactly("subscribe", "error");
    }
}
