package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.testing.FakeBackend;
import dev.avatar4j.testing.FakeBackendProvider;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.TestMedia;
import dev.avatar4j.testing.TestMedia.RecordingSink;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lifecycle of generations and models (issue 22, items 3, 6 and 9 and its closing paragraph):
 * interrupting a waiting thread cancels, closing a model from its own listener fails fast instead
 * of deadlocking, {@link AvatarModel#close(Duration)} gives up waiting, and an output that is one
 * of the inputs is refused.
 */
class LifecycleTest {
    @TempDir
    static Path dir;
    static AvatarModel model;
    static final int RATE = 16000;
    static final FakeBackend FAKE = FakeBackendProvider.INSTANCE;

    @BeforeAll
    static void load() throws Exception {
        model = AvatarModel.builder(FakeBundles.write(dir.resolve("bundle"))).backend("fake").load();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static Avatar request(AvatarModel m, double seconds) {
        return Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(seconds, RATE), RATE).model(m)
                .seed(3);
    }

    // --- item 3: an interrupt of the thread blocked in render() cancels ---------------------------

    @Test
    void interruptingTheRenderingThreadCancelsTheGenerationAndKeepsTheInterruptStatus() throws Exception {
        CountDownLatch atFrame = new CountDownLatch(1);
        CountDownLatch resume = new CountDownLatch(1);
        RecordingSink sink = new RecordingSink();
        Avatar req = request(model, 4.0).onFrame(f -> {
            if (f.index() == 1) {
                atFrame.countDown();
                try {
                    resume.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicBoolean interruptedAfter = new AtomicBoolean();
        Thread caller = Thread.ofPlatform().start(() -> {
            try {
                req.render(sink);
            } catch (Throwable t) {
                thrown.set(t);
            }
            interruptedAfter.set(Thread.currentThread().isInterrupted());
        });
        assertThat(atFrame.await(30, TimeUnit.SECONDS)).isTrue();
        caller.interrupt();
        Thread.sleep(50); // let the caller react; the generation is parked in the listener meanwhile
        resume.countDown();
        caller.join(30_000);
        assertThat(caller.isAlive()).isFalse();
        assertThat(thrown.get()).isInstanceOf(GenerationCancelledException.class);
        assertThat(interruptedAfter).as("interrupt status restored").isTrue();
        // render() returned only after the generation had stopped: its output was aborted, never completed
        assertThat(sink.completed).as("output completed after the interrupt").isFalse();
        assertThat(sink.aborted).isTrue();
    }

    @Test
    void interruptingAwaitWithATimeoutCancelsToo() throws Exception {
        CountDownLatch atFrame = new CountDownLatch(1);
        CountDownLatch resume = new CountDownLatch(1);
        RecordingSink sink = new RecordingSink();
        Generation g = request(model, 4.0).onFrame(f -> {
            if (f.index() == 0) {
                atFrame.countDown();
                try {
                    resume.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }).start(sink);
        assertThat(atFrame.await(30, TimeUnit.SECONDS)).isTrue();
        Thread.currentThread().interrupt();
        Thread.ofPlatform().start(() -> { // the listener resumes while await() is waiting
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            resume.countDown();
        });
        try {
            assertThatThrownBy(() -> g.await(Duration.ofSeconds(30))).isInstanceOf(GenerationCancelledException.class);
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
            resume.countDown();
        }
        assertThat(g.isDone()).isTrue();
        assertThat(sink.completed).isFalse();
    }

    // --- item 6: close() from a listener --------------------------------------------------------

    @Test
    void closingTheModelFromItsOwnListenerFailsFastInsteadOfDeadlocking() throws Exception {
        AvatarModel m = AvatarModel.builder(FakeBundles.write(dir.resolve("bundle-self-close"))).backend("fake").load();
        RecordingSink sink = new RecordingSink();
        Generation g = request(m, 3.0).onFrame(f -> {
            if (f.index() == 2) {
                m.close();
            }
        }).start(sink);
        try {
            g.await(Duration.ofSeconds(60));
            throw new AssertionError("the generation should have failed");
        } catch (TimeoutException e) {
            throw new AssertionError("close() from a listener deadlocked", e);
        } catch (AvatarException e) {
            assertThat(e).hasRootCauseInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("would wait for itself");
        }
        assertThat(sink.aborted).isTrue();
        // the model was not closed by the refused call: it still serves, and closes normally
        assertThat(request(m, 1.0).render(new RecordingSink()).frames()).isPositive();
        m.close();
        assertThatThrownBy(() -> request(m, 1.0).render(new RecordingSink())).hasMessageContaining("is closed");
    }

    @Test
    void closeWithATimeoutGivesUpOnABlockedListenerAndTheModelIsFreedWhenTheGenerationEnds() throws Exception {
        AvatarModel m = AvatarModel.builder(FakeBundles.write(dir.resolve("bundle-timeout"))).backend("fake").load();
        CountDownLatch blocked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        RecordingSink sink = new RecordingSink();
        Generation g = request(m, 2.0).onFrame(f -> {
            if (f.index() == 0) {
                blocked.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }).start(sink);
        assertThat(blocked.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(m.close(Duration.ofMillis(100))).as("freed while a listener blocks").isFalse();
        assertThatThrownBy(() -> request(m, 1.0).render(new RecordingSink())).hasMessageContaining("is closed");
        release.countDown();
        RenderResult r = g.await(Duration.ofSeconds(60));
        assertThat(sink.completed).isTrue();
        assertThat(r.frames()).isPositive();
        assertThat(m.close(Duration.ofSeconds(30))).as("freed once the generation has ended").isTrue();
        m.close(); // idempotent
    }

    // --- item 9: the output must not be an input -------------------------------------------------

    @Test
    void renderingOntoAnInputFileIsRefusedAndTheInputIsKept() throws Exception {
        Path image = dir.resolve("face.png");
        BufferedImage bi = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        ImageIO.write(bi, "png", image.toFile());
        Path audio = TestMedia.writeWav(dir.resolve("speech.wav"), TestMedia.speechLike(1.0, RATE), RATE, 1);
        byte[] imageBytes = Files.readAllBytes(image);
        byte[] audioBytes = Files.readAllBytes(audio);
        Path link = dir.resolve("link-to-speech.wav");
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, audio);
        Path hard = dir.resolve("hard-face.png");
        Files.deleteIfExists(hard);
        Files.createLink(hard, image);
        Path sameViaDots = dir.resolve("sub").resolve("..").resolve("speech.wav");
        Files.createDirectories(dir.resolve("sub"));

        Avatar req = Avatar.from(image).speak(audio).model(model);
        for (Path out : new Path[] {image, audio, link, hard, sameViaDots}) {
            assertThatThrownBy(() -> req.render(out)).as(out.toString()).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("would replace the input");
            assertThatThrownBy(() -> req.start(out)).isInstanceOf(InvalidInputException.class);
        }
        Path track = TestMedia.writeWav(dir.resolve("left.wav"), TestMedia.speechLike(1.0, RATE), RATE, 1);
        assertThatThrownBy(() -> Avatar.from(image).speaker(track).model(model).render(track))
                .isInstanceOf(InvalidInputException.class);
        Path video = dir.resolve("talk.mp4");
        Files.write(video, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> Avatar.dub(video).speak(audio).model(model).render(video))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("would replace the input");
        assertThatThrownBy(() -> Avatar.dub(video).speak(audio).model(model).render(audio))
                .isInstanceOf(InvalidInputException.class);
        assertThat(Files.readAllBytes(image)).isEqualTo(imageBytes);
        assertThat(Files.readAllBytes(audio)).isEqualTo(audioBytes);
        assertThat(Files.readAllBytes(video)).containsExactly(1, 2, 3);
    }
}
