package dev.avatar4j.media;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.Frame;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 22 item 1: partial outputs name their writing process, a later run sweeps those whose writer
 * is gone (and only those), and a shutdown can delete the ones of its own process still in progress.
 */
class PartFilesTest {
    @TempDir
    Path dir;

    /** The id of a process that has ended. */
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-version")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return p.pid();
    }

    @Test
    void aSweepRemovesThePartsOfDeadWritersAndKeepsLiveOnesAndForeignFiles() throws Exception {
        long me = ProcessHandle.current().pid();
        long start = PartFiles.ownStartMillis();
        Path dead = Files.writeString(dir.resolve(PartFiles.name("o.mp4", deadPid(), start)), "x");
        Path deadFolder = Files.createDirectory(dir.resolve(PartFiles.name("avatar4j-frames", deadPid(), start)));
        Files.writeString(deadFolder.resolve("frame_000000.png"), "png");
        Path reused = Files.writeString(dir.resolve(PartFiles.name("o.mp4", me, start - 3_600_000)), "x");
        Path live = Files.writeString(dir.resolve(PartFiles.name("o.mp4", me, start)), "x");
        Path older = Files.writeString(dir.resolve(".o.mp4.k2j4h5g6.part"), "x"); // no writer in the name
        Path foreign = Files.writeString(dir.resolve(".report.a4j-1-2-3.partial"), "x");
        Path plain = Files.writeString(dir.resolve("o.mp4"), "x");

        assertThat(PartFiles.sweep(dir)).isEqualTo(3);

        assertThat(dead).doesNotExist();
        assertThat(deadFolder).doesNotExist();
        assertThat(reused).as("a live process with another start time reused the id").doesNotExist();
        assertThat(live).exists();
        assertThat(older).exists();
        assertThat(foreign).exists();
        assertThat(plain).exists();
    }

    @Test
    void partNamesCarryThisProcess() {
        String name = PartFiles.name("talk.mp4");
        assertThat(name).startsWith(".talk.mp4.a4j-" + ProcessHandle.current().pid() + "-").endsWith(".part");
        assertThat(PartFiles.isStale(name)).isFalse();
        assertThat(PartFiles.isStale("talk.mp4")).isFalse();
    }

    @Test
    void deleteOwnRemovesThePartsStillInProgressOnly() throws IOException {
        Path inProgress = PartFiles.createFile(dir, "a.mp4");
        Path folder = PartFiles.createDirectory(dir, "avatar4j-frames");
        Files.writeString(folder.resolve("frame_000001.png"), "png");
        Path done = PartFiles.createFile(dir, "b.mp4");
        Path result = Files.move(done, dir.resolve("b.mp4"));
        PartFiles.release(done);
        Files.writeString(done, "a file that happens to have the released name");

        assertThat(PartFiles.deleteOwn()).isGreaterThanOrEqualTo(2);

        assertThat(inProgress).doesNotExist();
        assertThat(folder).doesNotExist();
        assertThat(result).exists();
        assertThat(done).exists();
    }

    @Test
    void thePngSequenceSweepsStaleStagingFoldersAndReleasesItsOwn() throws Exception {
        Path stale = Files.createDirectory(dir.resolve(PartFiles.name("avatar4j-frames", deadPid(),
                PartFiles.ownStartMillis())));
        Files.writeString(stale.resolve("frame_000007.png"), "png");
        FrameSink sink = FrameSinks.pngSequence(dir);
        assertThat(stale).doesNotExist();
        sink.accept(new Frame(0, 25, RgbImage.of(2, 2, new byte[12])));
        sink.complete();
        assertThat(PartFiles.deleteOwn()).as("nothing of a completed sink is in progress").isZero();
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("frame_000000.png");
        }
    }
}
