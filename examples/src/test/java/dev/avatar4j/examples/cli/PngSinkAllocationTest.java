package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.Frame;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.FrameSinks;
import dev.avatar4j.media.RgbImage;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --png-dir}'s sink ({@link FrameSinks#pngSequence}) allocates no frame-sized arrays per
 * frame (measured with the JVM's per-thread allocation counter, which the SDK module's own tests
 * cannot reach): issue 14's memory item, the resident set must not grow with the video length.
 */
class PngSinkAllocationTest {
    @TempDir
    Path dir;

    @Test
    void writingAFrameAllocatesLessThanTheFrameItself() throws IOException {
        // a frame-sized image per frame was often alive at a young collection and got promoted,
        // growing the old generation with the video's length; the sink now reuses one image
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        int w = 512;
        int h = 512;
        byte[] px = new byte[w * h * 3];
        new java.util.Random(1).nextBytes(px);
        Frame f = new Frame(0, 25, RgbImage.of(w, h, px));
        FrameSink sink = FrameSinks.pngSequence(dir);
        for (int i = 0; i < 3; i++) { // warm-up: the writer's classes, the reused image
            sink.accept(new Frame(i, 25, RgbImage.of(w, h, px)));
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        int n = 5;
        for (int i = 0; i < n; i++) {
            sink.accept(f); // the same frame: only the sink's own allocation is counted
        }
        long perFrame = (threads.getCurrentThreadAllocatedBytes() - before) / n;
        sink.abort();
        assertThat(perFrame).as("bytes allocated per frame written").isLessThan((long) w * h * 3 / 2);
    }

}
