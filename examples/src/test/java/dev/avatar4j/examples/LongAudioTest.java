package dev.avatar4j.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Generation;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.Progress;
import dev.avatar4j.testing.LongWav;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #8: a 10-hour WAV rendered to MP4 with every codec on the class path (FFmpeg decodes the
 * speech as a stream, the MP4 sink muxes the file as frames are written) starts producing frames
 * in bounded memory; cancelled, it leaves no file.
 */
class LongAudioTest {
    @TempDir
    Path dir;

    @Test
    void aTenHourWavStartsStreamingFramesIntoAnMp4() throws Exception {
        Path repo = Path.of("").toAbsolutePath();
        while (!Files.isRegularFile(repo.resolve("models/stableavatar-tiny/avatar-bundle.json"))) {
            repo = repo.getParent();
        }
        Path wav = dir.resolve("ten-hours.wav");
        long samples = LongWav.write(wav, 10 * 3600, 16000);
        Path out = dir.resolve("ten-hours.mp4");
        CountDownLatch frames = new CountDownLatch(100);
        AtomicReference<Progress> last = new AtomicReference<>();
        try (AvatarModel model = AvatarModel.builder(repo.resolve("models/stableavatar-tiny")).backend("onnx").load()) {
            Generation g = Avatar.from(repo.resolve("examples/media/portrait.png")).speak(wav).model(model)
                    .size(64, 64).steps(1).seed(1).onFrame(f -> frames.countDown()).onProgress(last::set)
                    .start(out);
            try {
                assertThat(frames.await(5, TimeUnit.MINUTES)).as("frames of a 10-hour file").isTrue();
                System.gc();
                long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
                assertThat(heap).as("heap after GC; the speech alone would be %d bytes", samples * 4)
                        .isLessThan(256L << 20);
                assertThat(last.get().framesTotal()).as("10 h at 25 fps, whole windows").isBetween(10 * 3600 * 25 - 81, 10 * 3600 * 25);
            } finally {
                g.cancel();
            }
            assertThatThrownBy(g::await).isInstanceOf(GenerationCancelledException.class);
        }
        assertThat(out).doesNotExist();
    }
}
