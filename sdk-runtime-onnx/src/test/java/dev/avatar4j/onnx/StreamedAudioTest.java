package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Generation;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.Progress;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.family.stableavatar.StableAvatarConfig;
import dev.avatar4j.family.stableavatar.StableAvatarEngine;
import dev.avatar4j.family.stableavatar.StableAvatarPlan;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.testing.LongWav;
import dev.avatar4j.testing.TestMedia;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Speech given as a file is streamed into the stableavatar engine (issue #8): a 10-hour WAV —
 * 2.3 GB as float samples, more than this test JVM's whole heap — starts producing frames at
 * once, its progress totals are those of its counted length, and the heap holds a bounded window
 * of it; and a file streamed gives the very frames of the same speech held in memory.
 */
class StreamedAudioTest {
    private static final Logger LOG = LoggerFactory.getLogger(StreamedAudioTest.class);
    private static final Path BUNDLE = Path.of("..", "models", "stableavatar-tiny");
    private static final Path PORTRAIT = Path.of("..", "examples", "media", "portrait.png");
    static final int RATE = 16000;

    private static AvatarModel model;
    private static RgbImage portrait;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        Assumptions.assumeTrue(Files.exists(BUNDLE.resolve("dit.onnx")), "tiny bundle not generated");
        model = AvatarModel.builder(BUNDLE).backend("onnx").load();
        portrait = MediaRegistry.global().readImage(PORTRAIT);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    @Test
    void aStreamedFileGivesTheFramesOfTheSameSpeechInMemory() throws IOException {
        Path wav = TestMedia.writeWav(tmp.resolve("speech.wav"), TestMedia.speechLike(7.3, RATE), RATE, 1);
        float[] decoded = MediaRegistry.global().readAudio(wav, RATE).samples();
        List<byte[]> streamed = frames(Avatar.from(portrait).speak(wav));
        List<byte[]> inMemory = frames(Avatar.from(portrait).speak(decoded, RATE));
        assertThat(streamed).hasSameSizeAs(inMemory).hasSizeGreaterThan(81); // several windows
        for (int i = 0; i < streamed.size(); i++) {
            assertThat(streamed.get(i)).as("frame %d", i).isEqualTo(inMemory.get(i));
        }
    }

    private static List<byte[]> frames(Avatar a) {
        List<byte[]> out = new ArrayList<>();
        a.size(64, 64).steps(1).seed(7).model(model).onFrame(f -> out.add(f.image().toRgbArray()))
                .render(new TestMedia.RecordingSink());
        return out;
    }

    @Test
    void aTenHourWavStreamsFramesInBoundedMemory() throws Exception {
        Path wav = tmp.resolve("ten-hours.wav");
        long samples = LongWav.write(wav, 10 * 3600, RATE);
        StableAvatarConfig cfg = StableAvatarEngine.configOf(
                BundleManifest.parse(Files.readAllBytes(BUNDLE.resolve(BundleManifest.FILE_NAME))));
        StableAvatarPlan plan = StableAvatarPlan.create(cfg, samples, 1, cfg.overlap(), cfg.weights(), 64, 64);

        int wanted = 3 * cfg.windowFrames(); // the first three windows' frames
        CountDownLatch framesOut = new CountDownLatch(wanted);
        AtomicInteger frames = new AtomicInteger();
        List<Progress> progress = new CopyOnWriteArrayList<>();
        Generation g = Avatar.from(portrait).speak(wav).size(64, 64).steps(1).seed(3).model(model)
                .onFrame(f -> {
                    frames.incrementAndGet();
                    framesOut.countDown();
                })
                .onProgress(progress::add)
                .start();
        try {
            assertThat(framesOut.await(5, TimeUnit.MINUTES)).as("frames of a 10-hour file").isTrue();
            System.gc();
            long heapUsed = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            LOG.info("10-hour WAV: {} frames out of {}, heap after GC {} MB", frames.get(), plan.frames(),
                    heapUsed >> 20);
            // the whole speech as floats would be samples * 4 bytes = 2.3 GB (more than -Xmx2g)
            assertThat(heapUsed).as("heap after GC while streaming").isLessThan(256L << 20)
                    .isLessThan(samples * 4 / 8);
            assertThat(progress).isNotEmpty();
            assertThat(progress.get(progress.size() - 1).framesTotal()).as("progress total from the counted length")
                    .isEqualTo(plan.frames());
            assertThat(plan.frames()).isGreaterThan(10 * 3600 * 25 - 81);
        } finally {
            g.cancel();
        }
        assertThatThrownBy(g::await).isInstanceOf(GenerationCancelledException.class);
    }
}
