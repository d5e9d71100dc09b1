package dev.avatar4j.testing;

import dev.avatar4j.backend.ForwardingGraphSession;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.spi.DeviceTensor;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.GraphSource;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.Tensor;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * A backend that counts the model calls of every session it opens and calls {@link #afterRun}
 * with the count after each: cancellation tests count the model calls after a cancel instead of
 * measuring time.
 */
public final class CountingBackend implements Backend {
    private final Backend inner;
    private final AtomicInteger runs = new AtomicInteger();
    /** Called after every model call with the number of calls so far (any thread). */
    public volatile IntConsumer afterRun = n -> { };

    public CountingBackend(Backend inner) {
        this.inner = inner;
    }

    /** Model calls so far, over all sessions. */
    public int runs() {
        return runs.get();
    }

    /** Starts counting from zero again. */
    public void reset() {
        runs.set(0);
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public String description() {
        return inner.description();
    }

    @Override
    public GraphSession open(GraphSource graph, SessionOptions options) {
        GraphSession s = inner.open(graph, options);
        return new ForwardingGraphSession(s) {
            @Override
            public Result run(Map<String, Tensor> in, Set<String> out) {
                Result r = delegate.run(in, out);
                afterRun.accept(runs.incrementAndGet());
                return r;
            }

            @Override
            public void runInto(Map<String, Tensor> in, Map<String, Tensor> out) {
                delegate.runInto(in, out);
                afterRun.accept(runs.incrementAndGet());
            }

            @Override
            public void run(DeviceScope device, Map<String, DeviceTensor> in, Map<String, DeviceTensor> out) {
                delegate.run(device, in, out);
                afterRun.accept(runs.incrementAndGet());
            }
        };
    }

    @Override
    public DeviceScope openDeviceScope() {
        return inner.openDeviceScope();
    }

    @Override
    public void close() {
        inner.close();
    }
}
