package dev.avatar4j.backend;

import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.spi.DeviceTensor;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@link GraphSession} that forwards every call to another, for wrappers that change one or two
 * calls (checking outputs, serialising, counting, timing) and leave the rest alone. Note that
 * {@link #runInto} and the device-tensor {@code run} are forwarded too, not routed through
 * {@link #run}: a wrapper that observes model calls overrides all three.
 */
public abstract class ForwardingGraphSession implements GraphSession {
    /** The wrapped session. */
    protected final GraphSession delegate;

    /** @param delegate the session every call goes to */
    protected ForwardingGraphSession(GraphSession delegate) {
        this.delegate = delegate;
    }

    @Override
    public List<TensorSpec> inputs() {
        return delegate.inputs();
    }

    @Override
    public List<TensorSpec> outputs() {
        return delegate.outputs();
    }

    @Override
    public Result run(Map<String, Tensor> inputs, Set<String> outputs) {
        return delegate.run(inputs, outputs);
    }

    @Override
    public void runInto(Map<String, Tensor> inputs, Map<String, Tensor> outputs) {
        delegate.runInto(inputs, outputs);
    }

    @Override
    public void run(DeviceScope device, Map<String, DeviceTensor> inputs, Map<String, DeviceTensor> outputs) {
        delegate.run(device, inputs, outputs);
    }

    @Override
    public boolean isThreadSafe() {
        return delegate.isThreadSafe();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
