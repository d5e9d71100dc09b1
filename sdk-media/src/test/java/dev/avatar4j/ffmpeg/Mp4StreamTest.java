package dev.avatar4j.ffmpeg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarException;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Frame;
import dev.avatar4j.Generation;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.RenderResult;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.TestMedia;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fragmented MP4 to an {@link OutputStream} ({@link Avatar#render(OutputStream)}): probed with
 * {@code ffprobe} while incomplete and when complete; byte and stream inputs through FFmpeg.
 */
class Mp4StreamTest {
    static final int RATE = 16000;
    @TempDir
    static Path bundles;
    static AvatarModel model;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws IOException {
        model = AvatarModel.builder(FakeBundles.write(bundles.resolve("bundle"))).backend("fake").load();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** What a client has received so far; records whether anybody closed it. */
    static final class Received extends OutputStream {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        volatile boolean closed;
        volatile int flushes;

        @Override
        public synchronized void write(int b) {
            bytes.write(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            bytes.write(b, off, len);
        }

        @Override
        public void flush() {
            flushes++;
        }

        @Override
        public void close() {
            closed = true;
        }

        synchronized byte[] snapshot() {
            return bytes.toByteArray();
        }
    }

    private Path save(byte[] data, String name) throws IOException {
        return Files.write(dir.resolve(name), data);
    }

    private static int decodedVideoFrames(Path f) throws Exception {
        Map<String, Object> v = Mp4FrameSinkTest.stream(Mp4FrameSinkTest.ffprobe(f), "video");
        assertThat(v.get("codec_name")).isEqualTo("h264");
        return (int) Mp4FrameSinkTest.number(v, "nb_read_frames");
    }

    @Test
    void anIncompleteStreamIsAlreadyPlayableAndTheCompleteOneHasEveryFrameAndTheSpeech() throws Exception {
        assumeTrue(MediaFixtures.hasTool("ffprobe"), "ffprobe not installed");
        Received client = new Received();
        // the publisher holds the generation at 120 frames of demand (+ its frame buffer)
        Generation g = Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(12.0, RATE), RATE)
                .model(model).seed(3).frameBuffer(4).start(client);
        CountDownLatch subscribed = new CountDownLatch(1);
        Flow.Subscription[] sub = new Flow.Subscription[1];
        g.publisher().subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                sub[0] = s;
                subscribed.countDown();
            }

            @Override
            public void onNext(Frame item) {
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onComplete() {
            }
        });
        try {
            probeWhileRunning(g, client, subscribed, sub);
        } finally {
            g.cancel(); // a failed assertion must not leave the generation waiting for demand
        }
    }

    private void probeWhileRunning(Generation g, Received client, CountDownLatch subscribed, Flow.Subscription[] sub)
            throws Exception {
        assertThat(subscribed.await(30, TimeUnit.SECONDS)).isTrue();
        sub[0].request(120);
        // fragments end at key frames (every 50 frames): at least the first must arrive while it waits
        int partialFrames = 0;
        Path partial = null;
        for (int tries = 0; tries < 300 && partialFrames < 50; tries++) {
            Thread.sleep(100);
            byte[] now = client.snapshot();
            if (now.length > 0) {
                partial = save(now, "partial.mp4");
                try {
                    partialFrames = decodedVideoFrames(partial);
                } catch (Exception e) {
                    partialFrames = 0; // not even the header yet
                }
            }
        }
        assertThat(g.isDone()).as("the generation is still running").isFalse();
        assertThat(partialFrames).as("frames decodable from the incomplete stream of %d bytes",
                client.snapshot().length).isBetween(50, 125);
        // the incomplete stream decodes to the first frame's picture
        assertThat(new FfmpegMediaCodec().readImage(partial).width()).isEqualTo(32);

        sub[0].request(Long.MAX_VALUE);
        RenderResult r = g.await();
        assertThat(r.output()).isEmpty();
        Path full = save(client.snapshot(), "full.mp4");
        Map<String, Object> probe = Mp4FrameSinkTest.ffprobe(full);
        assertThat(decodedVideoFrames(full)).isEqualTo(r.frames());
        Map<String, Object> a = Mp4FrameSinkTest.stream(probe, "audio");
        assertThat(a.get("codec_name")).isEqualTo("aac");
        assertThat(Mp4FrameSinkTest.number(a, "duration")).isCloseTo(12.0, org.assertj.core.data.Offset.offset(0.1));
        assertThat(client.closed).as("the caller owns the stream").isFalse();
        assertThat(client.flushes).isPositive();
        // fragmented: an empty moov up front, then moof boxes
        String head = new String(client.snapshot(), 0, 4096, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(head).contains("moov").contains("mvex").contains("moof");
    }

    @Test
    void aClientThatGoesAwayFailsTheGenerationWithItsIOException() {
        OutputStream broken = new OutputStream() {
            int written;

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                written += len;
                if (written > 2000) {
                    throw new IOException("Broken pipe");
                }
            }
        };
        assertThatThrownBy(() -> Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(8.0, RATE), RATE)
                .model(model).seed(3).render(broken)).isInstanceOf(AvatarException.class)
                .hasMessageContaining("Broken pipe").hasRootCauseMessage("Broken pipe");
    }

    @Test
    void aCancelledGenerationStopsWritingAndLeavesTheStreamOpen() throws Exception {
        Received client = new Received();
        Generation g = Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(8.0, RATE), RATE)
                .model(model).seed(3).onFrame(f -> {
                }).frameBuffer(2).start(client);
        var it = g.iterator();
        for (int i = 0; i < 10; i++) {
            it.next();
        }
        g.cancel();
        assertThatThrownBy(g::await).isInstanceOf(GenerationCancelledException.class);
        int size = client.snapshot().length;
        Thread.sleep(100);
        assertThat(client.snapshot()).hasSize(size);
        assertThat(client.closed).isFalse();
    }

    @Test
    void theSinkWritesOnlyInOrderToAPipe() throws Exception {
        assumeTrue(MediaFixtures.hasTool("ffprobe"), "ffprobe not installed");
        java.io.PipedInputStream in = new java.io.PipedInputStream(1 << 16);
        java.io.PipedOutputStream pipe = new java.io.PipedOutputStream(in);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                in.transferTo(got);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try (FrameSink sink = new FfmpegMediaCodec().openVideoWriter(pipe, Mp4FrameSinkTest.spec(3.0, null))) {
            for (int i = 0; i < 75; i++) {
                sink.accept(Mp4FrameSinkTest.frame(i, 64, 48, Mp4FrameSinkTest.colour(i)));
            }
            sink.complete();
        }
        pipe.close(); // ours to close: the sink does not
        reader.join(10_000);
        Path f = save(got.toByteArray(), "piped.mp4");
        assertThat(decodedVideoFrames(f)).isEqualTo(75);
        FfmpegImageTest.assertColour(new FfmpegMediaCodec().readImage(f), 32, 24, Mp4FrameSinkTest.colour(0), 6);
    }

    @Test
    void imageAndSpeechBytesDecodeThroughFfmpeg() throws Exception {
        assumeTrue(MediaFixtures.hasTool("ffmpeg"), "ffmpeg not installed");
        Path wav = MediaFixtures.writeWav(dir.resolve("s.wav"), RATE, false, TestMedia.speechLike(3.0, RATE));
        Path m4a = dir.resolve("s.m4a"); // its index may sit at the end: needs seeking, hence the spool
        MediaFixtures.run("ffmpeg", "-v", "error", "-y", "-i", wav.toString(), "-c:a", "aac", m4a.toString());
        Path jpg = dir.resolve("f.jpg");
        javax.imageio.ImageIO.write(TestMedia.gradient(40, 30).toBufferedImage(), "jpg", jpg.toFile());
        Received client = new Received();
        RenderResult fromBytes = Avatar.from(Files.readAllBytes(jpg))
                .speak(new ByteArrayInputStream(Files.readAllBytes(m4a))).model(model).seed(3).render(client);
        RenderResult fromFiles = Avatar.from(jpg).speak(m4a).model(model).seed(3).render(dir.resolve("f.mp4"));
        assertThat(fromBytes.frames()).isEqualTo(fromFiles.frames());
        Path full = save(client.snapshot(), "bytes.mp4");
        assertThat(decodedVideoFrames(full)).isEqualTo(fromBytes.frames());
        assertThat(Mp4FrameSinkTest.stream(Mp4FrameSinkTest.ffprobe(full), "audio").get("codec_name"))
                .isEqualTo("aac");
    }
}
