package dev.avatar4j.media;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.Frame;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.testing.TestMedia.RecordingSink;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PNG-sequence sink publishes atomically on complete and leaves nothing on abort; tee fans out. */
class FrameSinksTest {
    @TempDir
    Path tmp;

    /** A frame whose every pixel encodes (index, x, y). */
    static Frame frame(int index, int w, int h) {
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                rgb[i] = (byte) (index * 40 + 3);
                rgb[i + 1] = (byte) (x * 17);
                rgb[i + 2] = (byte) (255 - y * 13);
            }
        }
        return new Frame(index, 25, RgbImage.of(w, h, rgb));
    }

    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void pngSequenceWritesNumberedFramesOnCompleteWithTheRightPixels() throws IOException {
        Path dir = tmp.resolve("out/frames");
        FrameSink sink = FrameSinks.pngSequence(dir);
        List<Frame> frames = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Frame f = frame(i, 7, 5);
            frames.add(f);
            sink.accept(f);
        }
        assertThat(names(dir)).as("nothing visible before complete").noneMatch(n -> n.startsWith("frame_"));
        sink.complete();
        assertThat(names(dir)).containsExactly("frame_000000.png", "frame_000001.png", "frame_000002.png");
        for (Frame f : frames) {
            BufferedImage img = ImageIO.read(dir.resolve(String.format("frame_%06d.png", f.index())).toFile());
            assertThat(img.getWidth()).isEqualTo(7);
            assertThat(img.getHeight()).isEqualTo(5);
            for (int y = 0; y < 5; y++) {
                for (int x = 0; x < 7; x++) {
                    assertThat(img.getRGB(x, y) & 0xffffff).as("frame %d (%d,%d)", f.index(), x, y)
                            .isEqualTo(f.image().rgb(x, y));
                }
            }
        }
        sink.close(); // close after complete keeps the output
        sink.abort();
        assertThat(names(dir)).hasSize(3);
    }

    @Test
    void largeIndicesKeepSixDigitsAndSortable() throws IOException {
        Path dir = tmp.resolve("big");
        FrameSink sink = FrameSinks.pngSequence(dir);
        sink.accept(frame(9, 2, 2));
        sink.accept(frame(123456, 2, 2));
        sink.accept(frame(1234567, 2, 2));
        sink.complete();
        assertThat(names(dir)).containsExactly("frame_000009.png", "frame_123456.png", "frame_1234567.png");
    }

    @Test
    void pngSequenceIntoAnExistingDirectoryKeepsOtherFiles() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("existing"));
        Files.writeString(dir.resolve("notes.txt"), "keep me");
        FrameSink sink = FrameSinks.pngSequence(dir);
        sink.accept(frame(0, 3, 3));
        sink.complete();
        assertThat(names(dir)).containsExactly("frame_000000.png", "notes.txt");
    }

    @Test
    void completeWithoutFramesLeavesNoStaging() throws IOException {
        Path dir = tmp.resolve("none");
        FrameSinks.pngSequence(dir).complete();
        assertThat(names(dir)).isEmpty();
    }

    @Test
    void abortLeavesNothing() throws IOException {
        Path dir = tmp.resolve("aborted");
        FrameSink sink = FrameSinks.pngSequence(dir);
        sink.accept(frame(0, 4, 4));
        sink.accept(frame(1, 4, 4));
        sink.abort();
        sink.abort(); // idempotent, never throws
        assertThat(Files.exists(dir) ? names(dir) : List.of()).isEmpty();
    }

    @Test
    void closeWithoutCompleteAborts() throws IOException {
        Path dir = tmp.resolve("closed");
        try (FrameSink sink = FrameSinks.pngSequence(dir)) {
            sink.accept(frame(0, 4, 4));
        }
        assertThat(names(dir)).isEmpty();
    }

    @Test
    void abortAfterStagingVanishedDoesNotThrow() throws IOException {
        Path dir = tmp.resolve("vanished");
        FrameSink sink = FrameSinks.pngSequence(dir);
        sink.accept(frame(0, 4, 4));
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        sink.abort();
        assertThat(Files.exists(dir)).isFalse();
    }

    @Test
    void aFileWhereTheDirectoryShouldBeIsInvalidInput() throws IOException {
        Path file = Files.writeString(tmp.resolve("file"), "x");
        assertThatThrownBy(() -> FrameSinks.pngSequence(file)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(file.toString());
        assertThatThrownBy(() -> FrameSinks.pngSequence(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void teeForwardsEveryFrameAndCompletesAll() {
        RecordingSink a = new RecordingSink();
        RecordingSink b = new RecordingSink();
        RecordingSink c = new RecordingSink();
        FrameSink tee = FrameSinks.tee(a, b, c);
        Frame f0 = frame(0, 2, 2);
        Frame f1 = frame(1, 2, 2);
        tee.accept(f0);
        tee.accept(f1);
        tee.complete();
        for (RecordingSink s : List.of(a, b, c)) {
            assertThat(s.frames).containsExactly(f0, f1);
            assertThat(s.completed).isTrue();
            assertThat(s.aborted).isFalse();
        }
    }

    @Test
    void teeAbortsAll() {
        RecordingSink a = new RecordingSink();
        RecordingSink b = new RecordingSink();
        FrameSink tee = FrameSinks.tee(a, b);
        tee.accept(frame(0, 2, 2));
        tee.abort();
        assertThat(a.aborted).isTrue();
        assertThat(b.aborted).isTrue();
        assertThat(a.completed || b.completed).isFalse();
    }

    @Test
    void teeOfAPngSequenceAndARecorder() throws IOException {
        Path dir = tmp.resolve("tee");
        RecordingSink rec = new RecordingSink();
        try (FrameSink tee = FrameSinks.tee(FrameSinks.pngSequence(dir), rec)) {
            tee.accept(frame(0, 3, 2));
            tee.accept(frame(1, 3, 2));
            tee.complete();
        }
        assertThat(names(dir)).containsExactly("frame_000000.png", "frame_000001.png");
        assertThat(rec.frames).hasSize(2);
        assertThat(rec.completed).isTrue();
    }

    @Test
    void teeOfNothingIsANoOp() {
        FrameSink tee = FrameSinks.tee();
        tee.accept(frame(0, 1, 1));
        tee.complete();
        tee.abort();
    }
}
