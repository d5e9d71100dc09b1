package dev.avatar4j.examples.cli;

import dev.avatar4j.Frame;
import dev.avatar4j.SpeechSpan;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * What {@code avatar4j live} measures: when each frame arrived (pacing), how long after its push
 * the speech a frame shows was shown (latency, for every speaking frame and for the first frame of
 * each utterance), and the process's memory and CPU over time. Fixed-size histograms, so measuring
 * an hour costs no more memory than measuring a minute. {@link #frame} runs on the session's
 * thread, {@link #pushed} on the pushing thread.
 */
final class LiveStats {
    /** A push: the position of its first sample (at the model's rate) and when it was made. */
    private record Push(long position, long nanos) {
    }

    private final ConcurrentLinkedDeque<Push> pushes = new ConcurrentLinkedDeque<>();
    /** The latest push already passed by the frames (the session's thread). */
    private Push current;
    private final long utteranceSamples;
    // up to a minute in 1 ms bins: a diffusion model shows speech seconds after it was pushed
    private final Histogram frameLatency = new Histogram(60_000);
    private final Histogram onsetLatency = new Histogram(60_000);
    /** Frame intervals in 0.1 ms bins. */
    private final Histogram intervals = new Histogram(5000);
    private volatile long frames;
    private volatile long speaking;
    private volatile long lastShownEnd;
    private long lastFrameNanos;
    private double sumInterval;
    private double sumSqInterval;
    private long intervalCount;

    /** Memory and CPU samples: first, last, peak. */
    long rssFirst = -1;
    long rssLast;
    long rssMax;
    long heapFirst = -1;
    long heapLast;
    long heapMax;
    double cpuSeconds;
    double wallSeconds;

    LiveStats(long utteranceSamples) {
        this.utteranceSamples = utteranceSamples;
    }

    /** A push of speech starting at {@code position} (model rate) was made at {@code nanos}. */
    void pushed(long position, long nanos) {
        pushes.add(new Push(position, nanos));
    }

    /** A frame was delivered (the session's thread). */
    void frame(Frame f) {
        long now = System.nanoTime();
        if (lastFrameNanos != 0) {
            double ms = (now - lastFrameNanos) / 1e6;
            intervals.add((int) Math.round(ms * 10));
            sumInterval += ms;
            sumSqInterval += ms * ms;
            intervalCount++;
        }
        lastFrameNanos = now;
        frames++;
        if (f.speech().isPresent()) {
            SpeechSpan s = f.speech().get();
            speaking++;
            lastShownEnd = s.end();
            long pushedAt = pushTime(s.start());
            if (pushedAt != 0) {
                long ms = (now - pushedAt) / 1_000_000;
                frameLatency.add((int) ms);
                if (s.start() % utteranceSamples == 0) {
                    onsetLatency.add((int) ms);
                }
            }
        }
    }

    /** When the push holding {@code position} was made (pushes before it are forgotten); 0 if unknown. */
    private long pushTime(long position) {
        while (true) {
            Push next = pushes.peekFirst();
            if (next != null && next.position() <= position) {
                current = pushes.pollFirst();
                continue;
            }
            return current != null && current.position() <= position ? current.nanos() : 0;
        }
    }

    long frames() {
        return frames;
    }

    long speaking() {
        return speaking;
    }

    long lastShownEnd() {
        return lastShownEnd;
    }

    /** Samples the resident set size, the heap after the last collection and the CPU time. */
    void sampleMemory(long startNanos) {
        long rss = rss();
        long heap = oldGeneration();
        if (rssFirst < 0) {
            rssFirst = rss;
            heapFirst = heap;
        }
        rssLast = rss;
        heapLast = heap;
        rssMax = Math.max(rssMax, rss);
        heapMax = Math.max(heapMax, heap);
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            cpuSeconds = os.getProcessCpuTime() / 1e9;
        }
        wallSeconds = (System.nanoTime() - startNanos) / 1e9;
    }

    static long rss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (Exception e) {
            // not Linux: no RSS
        }
        return 0;
    }

    /**
     * The old generation's occupancy: what survived young collections (a young generation is mostly
     * garbage at any moment, so the heap's total use says little). Grows only if the session keeps
     * objects alive; 0 when no pool is named as an old generation.
     */
    static long oldGeneration() {
        long used = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            String name = p.getName();
            if (p.getType() == MemoryType.HEAP && (name.contains("Old") || name.contains("Tenured"))) {
                used += p.getUsage().getUsed();
            }
        }
        return used;
    }

    String memoryLine() {
        return String.format(Locale.ROOT, "%7.0f s  frames %d  RSS %.1f MB  old generation %.1f MB  CPU %.2f cores",
                wallSeconds, frames, rssLast / 1e6, heapLast / 1e6, wallSeconds > 0 ? cpuSeconds / wallSeconds : 0);
    }

    /** The summary as lines of text. */
    String summary(long dropped) {
        double mean = intervalCount == 0 ? 0 : sumInterval / intervalCount;
        double sd = intervalCount == 0 ? 0 : Math.sqrt(Math.max(0, sumSqInterval / intervalCount - mean * mean));
        return String.format(Locale.ROOT, """
                frames: %d (%d speaking, %d idle), %d dropped for the consumer
                frame interval: mean %.2f ms, sd %.2f ms, p50 %.1f ms, p99 %.1f ms, max %.1f ms
                latency push -> first frame of an utterance: p50 %d ms, p95 %d ms, max %d ms (%d utterances)
                latency push -> speaking frame: p50 %d ms, p95 %d ms, max %d ms
                memory: RSS %.1f MB first sample, %.1f MB last, %.1f MB peak; old generation %.1f MB first, %.1f MB last
                CPU: %.2f cores on average over %.0f s""", frames, speaking, frames - speaking, dropped, mean, sd,
                intervals.quantile(0.5) / 10.0, intervals.quantile(0.99) / 10.0, intervals.max() / 10.0,
                onsetLatency.quantile(0.5), onsetLatency.quantile(0.95), onsetLatency.max(), onsetLatency.count(),
                frameLatency.quantile(0.5), frameLatency.quantile(0.95), frameLatency.max(), rssFirst / 1e6,
                rssLast / 1e6, rssMax / 1e6, heapFirst / 1e6, heapLast / 1e6,
                wallSeconds > 0 ? cpuSeconds / wallSeconds : 0, wallSeconds);
    }

    /** The summary as a JSON object. */
    String json(long dropped) {
        double mean = intervalCount == 0 ? 0 : sumInterval / intervalCount;
        double sd = intervalCount == 0 ? 0 : Math.sqrt(Math.max(0, sumSqInterval / intervalCount - mean * mean));
        return String.format(Locale.ROOT, """
                {"frames": %d, "speakingFrames": %d, "droppedFrames": %d,
                 "intervalMs": {"mean": %.3f, "sd": %.3f, "p50": %.1f, "p99": %.1f, "max": %.1f},
                 "onsetLatencyMs": {"p50": %d, "p95": %d, "max": %d, "utterances": %d},
                 "frameLatencyMs": {"p50": %d, "p95": %d, "max": %d},
                 "rssBytes": {"first": %d, "last": %d, "max": %d},
                 "oldGenerationBytes": {"first": %d, "last": %d, "max": %d},
                 "cpuCores": %.3f, "seconds": %.1f}
                """, frames, speaking, dropped, mean, sd, intervals.quantile(0.5) / 10.0,
                intervals.quantile(0.99) / 10.0, intervals.max() / 10.0, onsetLatency.quantile(0.5),
                onsetLatency.quantile(0.95), onsetLatency.max(), onsetLatency.count(), frameLatency.quantile(0.5),
                frameLatency.quantile(0.95), frameLatency.max(), rssFirst, rssLast, rssMax, heapFirst, heapLast,
                heapMax, wallSeconds > 0 ? cpuSeconds / wallSeconds : 0, wallSeconds);
    }

    /** Counts of non-negative integer values; the last bin takes everything above. Not thread-safe. */
    private static final class Histogram {
        private final long[] bins;
        private long count;
        private int max;

        Histogram(int size) {
            bins = new long[size];
        }

        void add(int v) {
            int b = Math.clamp(v, 0, bins.length - 1);
            bins[b]++;
            count++;
            max = Math.max(max, v);
        }

        long count() {
            return count;
        }

        int max() {
            return max;
        }

        int quantile(double q) {
            if (count == 0) {
                return 0;
            }
            long rank = (long) Math.ceil(q * count);
            long seen = 0;
            for (int i = 0; i < bins.length; i++) {
                seen += bins[i];
                if (seen >= Math.max(1, rank)) {
                    return i;
                }
            }
            return bins.length - 1;
        }
    }
}
