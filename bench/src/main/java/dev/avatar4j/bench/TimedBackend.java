package dev.avatar4j.bench;

import dev.avatar4j.spi.Backend;
import dev.avatar4j.backend.ForwardingGraphSession;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.Tensor;
import java.util.Map;
import java.util.Set;

/** A backend decorator that times every graph run (see {@link TimedBackendProvider}). */
final class TimedBackend implements Backend {
    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();
    /** Every wrapped backend of this process, for {@link #transferredBytes()}. */
    private static final java.util.Set<Backend> INNER = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final Backend inner;

    TimedBackend(Backend inner) {
        this.inner = inner;
        INNER.add(inner);
    }

    /**
     * Host↔device bytes the wrapped TensorRT backends have moved so far ({@code [to device, to host]});
     * zeros for backends whose device is the host.
     */
    static long[] transferredBytes() {
        long[] sum = new long[2];
        for (Backend b : INNER) {
            if (b instanceof dev.avatar4j.tensorrt.TensorRtBackend t) {
                long[] x = t.transferredBytes();
                sum[0] += x[0];
                sum[1] += x[1];
            }
        }
        return sum;
    }

    @Override
    public dev.avatar4j.spi.DeviceScope openDeviceScope() {
        return inner.openDeviceScope(); // device tensors of the wrapped backend: its sessions bind them
    }

    @Override
    public String name() {
        return TimedBackendProvider.NAME;
    }

    @Override
    public String description() {
        return inner.description() + " (timed)";
    }

    @Override
    public java.util.List<String> graphVariants() {
        return inner.graphVariants(); // time the graphs the wrapped backend would load
    }

    @Override
    public GraphSession open(dev.avatar4j.spi.GraphSource graph, SessionOptions options) {
        return new Session(inner.open(graph, options), stage(graph.name()));
    }

    /**
     * The report's stage of a graph file: its name without {@code .onnx}, folded onto the longest
     * {@link Report#STAGES} key it extends with {@code _…}, so that an exported bundle's
     * {@code dit_mha.onnx} (the ONNX Runtime variant) counts as {@code dit} and the streamed
     * {@code vae_encoder_first/_step.onnx} and {@code vae_decoder_first.onnx} as their VAE stage.
     */
    static String stage(String fileName) {
        String name = fileName.endsWith(".onnx") ? fileName.substring(0, fileName.length() - 5) : fileName;
        String best = name;
        for (String s : Report.STAGES) {
            if (name.startsWith(s + "_") && (best.equals(name) || s.length() > best.length())) {
                best = s;
            }
        }
        return best;
    }

    @Override
    public void close() {
        INNER.remove(inner);
        inner.close();
    }

    /** Times {@code run}/{@code runInto} and device-tensor runs (wall, and the calling thread's CPU); nothing else. */
    private static final class Session extends ForwardingGraphSession {
        private final String graph;

        Session(GraphSession s, String graph) {
            super(s);
            this.graph = graph;
        }

        @Override
        public Result run(Map<String, Tensor> inputs, Set<String> outputs) {
            long c0 = CPU.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            try {
                return delegate.run(inputs, outputs);
            } finally {
                GraphTimer.record(graph, System.nanoTime() - t0);
                GraphTimer.recordCallerCpu(Thread.currentThread().threadId(), CPU.getCurrentThreadCpuTime() - c0);
            }
        }

        @Override
        public void run(dev.avatar4j.spi.DeviceScope device, Map<String, dev.avatar4j.spi.DeviceTensor> inputs,
                        Map<String, dev.avatar4j.spi.DeviceTensor> outputs) {
            long c0 = CPU.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            try {
                delegate.run(device, inputs, outputs);
            } finally {
                GraphTimer.record(graph, System.nanoTime() - t0);
                GraphTimer.recordCallerCpu(Thread.currentThread().threadId(), CPU.getCurrentThreadCpuTime() - c0);
            }
        }

        @Override
        public void runInto(Map<String, Tensor> inputs, Map<String, Tensor> outputs) {
            long c0 = CPU.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            try {
                delegate.runInto(inputs, outputs);
            } finally {
                GraphTimer.record(graph, System.nanoTime() - t0);
                GraphTimer.recordCallerCpu(Thread.currentThread().threadId(), CPU.getCurrentThreadCpuTime() - c0);
            }
        }
    }
}
