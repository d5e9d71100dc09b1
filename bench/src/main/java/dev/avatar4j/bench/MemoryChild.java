package dev.avatar4j.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import dev.avatar4j.AvatarModel;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.NotificationEmitter;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;

/**
 * One generation in a fresh JVM, for the memory-vs-length measurement: loads the model, records the
 * resident set after loading, generates {@code seconds} of audio (frames discarded) and prints one
 * {@code BENCH-RESULT} line with the peak resident set (VmHWM, heap + native, ONNX Runtime's arenas
 * included), peak heap (sum of the heap pools' peak usage), peak live heap (largest heap after a
 * GC) and Native Memory Tracking's committed total at the end (JVM-side native memory only).
 *
 * <p>The speech is a 16-bit WAV written by the parent ({@link Workload#writeWav}), given to
 * {@code speak(Path)} so that the SDK streams it, as it does for any file; the child never holds the
 * samples itself.
 *
 * <p>Arguments: {@code BUNDLE SECONDS STEPS SIZE THREADS WAV}.
 */
public final class MemoryChild {
    private MemoryChild() {
    }

    /** Entry point of the child JVM. */
    public static void main(String[] args) throws Exception {
        Path bundle = Path.of(args[0]);
        double seconds = Double.parseDouble(args[1]);
        int steps = Integer.parseInt(args[2]);
        int size = Integer.parseInt(args[3]);
        int threads = Integer.parseInt(args[4]);
        Path wav = Path.of(args[5]);
        AtomicLong peakLive = new AtomicLong();
        for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            ((NotificationEmitter) gc).addNotificationListener((n, h) -> {
                if (GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
                    var info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
                    long used = 0;
                    for (var e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
                        if (isHeap(e.getKey())) {
                            used += e.getValue().getUsed();
                        }
                    }
                    peakLive.accumulateAndGet(used, Math::max);
                }
            }, null, null);
        }
        Workload.Run run;
        long loadedRss;
        try (AvatarModel model = AvatarModel.builder(bundle).backend(TimedBackendProvider.NAME).threads(threads).load()) {
            loadedRss = status("VmRSS");
            run = Workload.generate(model, dev.avatar4j.Avatar.from(Workload.image(256)).speak(wav), steps, 1, size,
                    Workload.Output.DISCARD, null, false, false);
        }
        long peakHeap = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                MemoryUsage u = p.getPeakUsage();
                peakHeap += u == null ? 0 : u.getUsed();
            }
        }
        System.out.printf(Locale.ROOT,
                "BENCH-RESULT seconds=%.1f frames=%d wall=%.3f graph=%.3f hwmKiB=%d loadedRssKiB=%d peakHeap=%d "
                        + "peakLiveHeap=%d nmtCommittedKiB=%d%n",
                seconds, run.frames(), run.wallSeconds(), run.graphSeconds(), status("VmHWM"), loadedRss, peakHeap,
                peakLive.get(), nmtCommittedKiB());
    }

    private static boolean isHeap(String pool) {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getName().equals(pool)) {
                return p.getType() == MemoryType.HEAP;
            }
        }
        return false;
    }

    /** A {@code /proc/self/status} value in KiB, or -1 where there is none (not Linux). */
    static long status(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key + ":")) {
                    return Long.parseLong(line.substring(key.length() + 1).trim().split("\\s+")[0]);
                }
            }
        } catch (Exception e) {
            return -1;
        }
        return -1;
    }

    /** NMT's total committed KiB ({@code -XX:NativeMemoryTracking=summary}), or -1 when it is off. */
    private static long nmtCommittedKiB() {
        try {
            Object out = ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[] {new String[] {"summary"}}, new String[] {String[].class.getName()});
            Matcher m = Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB").matcher(String.valueOf(out));
            return m.find() ? Long.parseLong(m.group(2)) : -1;
        } catch (Exception e) {
            return -1;
        }
    }
}
