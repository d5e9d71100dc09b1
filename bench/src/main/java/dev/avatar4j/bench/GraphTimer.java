package dev.avatar4j.bench;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Process-wide accumulator of graph-run time per graph file, fed by {@link TimedBackend}'s sessions.
 * The harness takes a {@link #snapshot()} before and after a generation; the difference is the time
 * the generation spent inside the backend, the denominator of the SDK overhead ratio.
 */
final class GraphTimer {
    private static final Map<String, LongAdder> NANOS = new ConcurrentHashMap<>();
    private static final Map<String, LongAdder> CALLS = new ConcurrentHashMap<>();
    private static final Map<Long, LongAdder> CALLER_CPU = new ConcurrentHashMap<>();

    private GraphTimer() {
    }

    static void record(String graph, long nanos) {
        NANOS.computeIfAbsent(graph, g -> new LongAdder()).add(nanos);
        CALLS.computeIfAbsent(graph, g -> new LongAdder()).increment();
    }

    /** CPU time the calling thread {@code threadId} spent inside graph runs (it is one of ONNX Runtime's workers). */
    static void recordCallerCpu(long threadId, long cpuNanos) {
        CALLER_CPU.computeIfAbsent(threadId, t -> new LongAdder()).add(cpuNanos);
    }

    /** Cumulative {@link #recordCallerCpu} of one thread. */
    static long callerCpu(long threadId) {
        LongAdder a = CALLER_CPU.get(threadId);
        return a == null ? 0 : a.sum();
    }

    /** Cumulative time and calls per graph since the process started. */
    static Snapshot snapshot() {
        Map<String, long[]> m = new TreeMap<>();
        NANOS.forEach((g, n) -> m.put(g, new long[] {n.sum(), CALLS.get(g).sum()}));
        return new Snapshot(m);
    }

    /** Per-graph {nanos, calls}. */
    record Snapshot(Map<String, long[]> byGraph) {
        /** This snapshot less an earlier one. */
        Snapshot minus(Snapshot earlier) {
            Map<String, long[]> m = new TreeMap<>();
            byGraph.forEach((g, v) -> {
                long[] e = earlier.byGraph.getOrDefault(g, new long[2]);
                m.put(g, new long[] {v[0] - e[0], v[1] - e[1]});
            });
            return new Snapshot(m);
        }

        long totalNanos() {
            return byGraph.values().stream().mapToLong(v -> v[0]).sum();
        }

        long nanos(String graph) {
            return byGraph.getOrDefault(graph, new long[2])[0];
        }

        long calls(String graph) {
            return byGraph.getOrDefault(graph, new long[2])[1];
        }
    }
}
