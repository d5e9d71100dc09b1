package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.TestMedia;
import dev.avatar4j.testing.TestMedia.RecordingSink;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Generation#toFuture()} cancellation, {@link Progress#activity()} through a run, and
 * {@link RenderResult#steps()}, on the fake stableavatar backend.
 */
@Timeout(120)
class GenerationFutureAndActivityTest {
    @TempDir
    static Path dir;
    static AvatarModel model;
    static final int RATE = 16000;

    @BeforeAll
    static void load() throws Exception {
        model = AvatarModel.builder(FakeBundles.write(dir.resolve("bundle"))).backend("fake").load();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static Avatar request(double seconds) {
        return Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(seconds, RATE), RATE)
                .model(model).seed(7).steps(2);
    }

    @Test
    void cancellingTheFutureCancelsTheGeneration() throws Exception {
        CountDownLatch firstFrame = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        RecordingSink sink = new RecordingSink();
        Generation g = request(8.0).onFrame(f -> {
            firstFrame.countDown();
            try { // hold the generation until the future was cancelled: it could finish first otherwise
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }).start(sink);
        CompletableFuture<RenderResult> future = g.toFuture();
        assertThat(firstFrame.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(future.cancel(true)).isTrue();
        release.countDown();
        assertThatThrownBy(g::await).isInstanceOf(GenerationCancelledException.class);
        assertThat(sink.aborted).as("the output was aborted").isTrue();
        assertThat(sink.completed).isFalse();
        assertThatThrownBy(future::join).isInstanceOf(CancellationException.class);
        assertThatThrownBy(() -> g.toFuture().join()).hasCauseInstanceOf(GenerationCancelledException.class);
    }

    @Test
    void aFinishedFutureStaysFinishedAndOtherFuturesAreIndependent() {
        Generation g = request(2.0).start(new RecordingSink());
        RenderResult r = g.toFuture().join();
        assertThat(g.toFuture().cancel(true)).as("cancelling a copy after the end").isFalse();
        assertThat(g.await()).isEqualTo(r);
        assertThat(r.steps()).as("the steps that ran").isEqualTo(2);
    }

    @Test
    void progressSaysWhatRunsNowWindowByWindowAndStepByStep() {
        List<Progress> ps = Collections.synchronizedList(new ArrayList<>());
        request(6.0).onProgress(ps::add).render(new RecordingSink());
        List<String> activities = ps.stream().map(Progress::activity).distinct().toList();
        assertThat(activities).contains("encoding prompt and image", "encoding audio, window 1/3",
                "denoising window 1/3, step 1/2", "denoising window 3/3, step 2/2", "decoding latent frame 1/38",
                "finishing", "done");
        // before the first frame exists, the work (and so the share shown) already moves
        assertThat(ps).anyMatch(p -> p.framesDone() == 0 && p.workDone() > 0
                && p.activity().startsWith("denoising window"));
        assertThat(new Progress(Progress.Stage.DECODING, 0, 1, 0, 1, java.time.Duration.ZERO).activity())
                .isEqualTo("decoding");
    }
}
