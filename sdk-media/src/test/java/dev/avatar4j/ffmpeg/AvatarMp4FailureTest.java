package dev.avatar4j.ffmpeg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarException;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Generation;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.Progress;
import dev.avatar4j.RenderResult;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.TestMedia;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Avatar#start(Path)} on the real MP4 sink, the model on the fake backend: whatever fails
 * (a listener, a cancel), the output directory holds either the complete old file or the complete
 * new one, and never a {@code .part} file.
 */
class AvatarMp4FailureTest {
    static final int RATE = 16000;
    static final byte[] OLD = "the complete old video".getBytes(java.nio.charset.StandardCharsets.UTF_8);

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

    static Avatar request() {
        return Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(3.0, RATE), RATE).model(model)
                .seed(3);
    }

    private List<String> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void failingListenerLeavesNoVideoAndNoPartFile() throws Exception {
        Path out = dir.resolve("out.mp4");
        Generation g = request().onFrame(f -> {
            if (f.index() == 10) {
                throw new IllegalStateException("preview window closed");
            }
        }).start(out);
        assertThatThrownBy(g::await).isInstanceOf(AvatarException.class)
                .hasMessageContaining("frame listener failed on frame 10").hasMessageContaining("preview window closed");
        assertThat(files()).isEmpty();
    }

    @Test
    void failingListenerLeavesAnExistingFileUntouched() throws Exception {
        Path out = Files.write(dir.resolve("out.mp4"), OLD);
        Generation g = request().onFrame(f -> {
            if (f.index() == 10) {
                throw new IllegalStateException("preview window closed");
            }
        }).start(out);
        assertThatThrownBy(g::await).isInstanceOf(AvatarException.class);
        assertThat(files()).containsExactly("out.mp4");
        assertThat(Files.readAllBytes(out)).isEqualTo(OLD);
    }

    @Test
    void cancelLeavesAnExistingFileUntouched() throws Exception {
        Path out = Files.write(dir.resolve("out.mp4"), OLD);
        CountDownLatch some = new CountDownLatch(5);
        CountDownLatch cancelIssued = new CountDownLatch(1);
        Generation g = request().onFrame(f -> {
            some.countDown();
            if (some.getCount() == 0) {
                try { // hold the generation until cancel() is issued, so it cannot finish first on a loaded machine
                    cancelIssued.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }).start(out);
        assertThat(some.await(30, TimeUnit.SECONDS)).isTrue();
        g.cancel();
        cancelIssued.countDown();
        assertThatThrownBy(g::await).isInstanceOf(GenerationCancelledException.class);
        assertThat(files()).containsExactly("out.mp4");
        assertThat(Files.readAllBytes(out)).isEqualTo(OLD);
    }

    @Test
    void cancelWhileFinishingNeverLeavesANewFileBehindAFalseCancelReport() throws Exception {
        Path out = Files.write(dir.resolve("out.mp4"), OLD);
        Generation[] self = new Generation[1];
        boolean[] requested = new boolean[1];
        CountDownLatch started = new CountDownLatch(1);
        Generation g = request().onProgress(p -> {
            if (p.stage() == Progress.Stage.FINISHING) {
                try {
                    started.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                requested[0] = self[0].cancel();
            }
        }).start(out);
        self[0] = g;
        started.countDown();
        assertThatThrownBy(g::await).isInstanceOf(GenerationCancelledException.class);
        assertThat(requested[0]).isTrue();
        assertThat(Files.readAllBytes(out)).as("the old file").isEqualTo(OLD);
        assertThat(files()).containsExactly("out.mp4");
    }

    @Test
    void successReplacesAnExistingFileAtomically() throws Exception {
        Path out = Files.write(dir.resolve("out.mp4"), OLD);
        RenderResult r = request().start(out).await();
        assertThat(r.output()).contains(out.toAbsolutePath());
        assertThat(files()).containsExactly("out.mp4");
        byte[] now = Files.readAllBytes(out);
        assertThat(now).isNotEqualTo(OLD);
        assertThat(new String(now, 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1)).isEqualTo("ftyp");
        assertThat(new FfmpegMediaCodec().readImage(out).width()).isEqualTo(32);
    }
}
