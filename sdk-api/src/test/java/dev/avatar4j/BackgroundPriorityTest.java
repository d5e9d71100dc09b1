package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class BackgroundPriorityTest {

    /** The calling thread's nice value, field 19 of /proc/thread-self/stat (after the command name). */
    private static int niceOfCurrentThread() throws IOException {
        String stat = Files.readString(Path.of("/proc/thread-self/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(f[16]); // field 19 overall; fields after ')' start at 3
    }

    @Test
    void lowersOnlyTheCallingThread() throws Exception {
        assumeTrue(Files.exists(Path.of("/proc/thread-self/stat")), "Linux /proc needed");
        int before = niceOfCurrentThread();
        AtomicInteger workerNice = new AtomicInteger(Integer.MIN_VALUE);
        AtomicBoolean lowered = new AtomicBoolean();
        Thread t = new Thread(() -> {
            lowered.set(BackgroundPriority.lowerCurrentThread());
            try {
                workerNice.set(niceOfCurrentThread());
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        t.start();
        t.join();
        assertThat(lowered).isTrue(); // the test JVM has native access, as docs/USER-GUIDE.md asks users to give
        assertThat(workerNice.get()).isEqualTo(Math.max(before, BackgroundPriority.NICE));
        assertThat(niceOfCurrentThread()).as("the caller's own thread is untouched").isEqualTo(before);
    }
}
