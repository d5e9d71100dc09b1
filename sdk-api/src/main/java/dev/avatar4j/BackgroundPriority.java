package dev.avatar4j;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lowers the scheduling priority of the calling thread, for work that should use only the CPU the
 * generation leaves idle (the MP4 encoder thread).
 *
 * <p>Why: the graphs use every core (ONNX Runtime's intra-op pool), and their parallel operators
 * wait for their slowest worker. An encoder thread of equal priority preempts one worker now and
 * then and stalls the whole operator, so on a machine with few cores encoding cost about twice its
 * own CPU time in generation wall time (the pipelining benchmark). At a high nice value the
 * scheduler runs the encoder in the gaps instead: between operators, while the generation thread
 * does its own CPU work, and after generation. The queue in front of the encoder bounds what waits.
 *
 * <p>Linux only (where the nice value is per thread and {@code setpriority(PRIO_PROCESS, 0, n)}
 * applies to the calling thread); raising one's own nice value needs no privilege. Elsewhere, or
 * without native access, nothing happens (one DEBUG line).
 */
final class BackgroundPriority {
    private static final Logger log = LoggerFactory.getLogger(BackgroundPriority.class);
    /** The nice value of background threads (0 = normal, 19 = lowest). */
    static final int NICE = 15;
    private static final MethodHandle SETPRIORITY = lookup();

    private BackgroundPriority() {
    }

    private static MethodHandle lookup() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
            return null;
        }
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("setpriority").map(a -> linker.downcallHandle(a,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT))).orElse(null);
        } catch (RuntimeException e) { // IllegalCallerException when native access is denied
            log.debug("cannot lower thread priorities: {}", e.toString());
            return null;
        }
    }

    /**
     * Sets the calling thread's nice value to {@link #NICE}.
     *
     * @return whether the priority was lowered
     */
    static boolean lowerCurrentThread() {
        if (SETPRIORITY == null) {
            return false;
        }
        try {
            int rc = (int) SETPRIORITY.invokeExact(0 /* PRIO_PROCESS */, 0 /* the calling thread */, NICE);
            if (rc != 0) {
                log.debug("setpriority({}) failed for {}", NICE, Thread.currentThread().getName());
            }
            return rc == 0;
        } catch (Throwable t) {
            log.debug("setpriority failed: {}", t.toString());
            return false;
        }
    }
}
