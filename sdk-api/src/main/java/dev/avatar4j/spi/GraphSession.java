package dev.avatar4j.spi;

import dev.avatar4j.BackendException;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One loaded graph (an ONNX model, a TensorRT engine …) that maps named input tensors to named
 * output tensors.
 *
 * <p>Sessions are long-lived and shared by concurrent generations when {@link #isThreadSafe()} is
 * true; otherwise the engine serialises calls. Closing a session while a {@link #run} is in flight
 * must not crash: implementations either wait for the call or fail it with a
 * {@link dev.avatar4j.BackendException}.
 */
public interface GraphSession extends AutoCloseable {

    /**
     * The graph's inputs.
     *
     * @return the declared inputs in declaration order, unmodifiable
     */
    List<TensorSpec> inputs();

    /**
     * The graph's outputs.
     *
     * @return the declared outputs in declaration order, unmodifiable
     */
    List<TensorSpec> outputs();

    /**
     * Runs the graph.
     *
     * @param inputs  every graph input by name; the tensors stay owned by the caller and are only
     *                read during the call
     * @param outputs names of the outputs wanted
     * @return the outputs, owned by the returned result: close it (or
     *         {@linkplain TensorScope#attach attach} it to a scope) when done with them
     * @throws BackendException when the backend fails
     */
    Result run(Map<String, Tensor> inputs, Set<String> outputs);

    /**
     * Runs the graph writing into caller-provided output tensors whose shapes the caller knows
     * (no output allocation; backends that can bind outputs write in place).
     *
     * <p>The default runs {@link #run} and copies.
     *
     * @param inputs  every graph input by name
     * @param outputs the outputs wanted, by name, with their exact shapes and types
     */
    default void runInto(Map<String, Tensor> inputs, Map<String, Tensor> outputs) {
        try (Result results = run(inputs, outputs.keySet())) {
            for (Map.Entry<String, Tensor> e : outputs.entrySet()) {
                Tensor got = results.get(e.getKey());
                Tensor want = e.getValue();
                if (got.dtype() != want.dtype() || got.byteSize() != want.byteSize()) {
                    throw new BackendException("output '" + e.getKey() + "' is " + got + ", expected " + want);
                }
                MemorySegment.copy(got.segment(), 0, want.segment(), 0, want.byteSize());
            }
        }
    }

    /**
     * Runs the graph on tensors that live on the backend's device: every input and every wanted
     * output is a {@link DeviceTensor} of {@code device}, bound by name (no copy; outputs are written
     * in place with the shapes the caller gives them). Outputs the map leaves out are computed into
     * the session's own scratch memory and dropped. Nothing crosses between host and device here:
     * the caller copies in and out explicitly, and only what it must.
     *
     * <p>The default serves backends whose device is the host: it runs {@link #runInto} on the
     * tensors' {@linkplain DeviceTensor#host() host memory}, and fails for tensors that have none.
     *
     * @param device  the scope the tensors belong to (its stream orders the run after their copies)
     * @param inputs  every graph input by name
     * @param outputs the outputs wanted, by name, with their exact shapes and types
     * @throws BackendException when the backend fails, or cannot reach the tensors' memory
     */
    default void run(DeviceScope device, Map<String, DeviceTensor> inputs, Map<String, DeviceTensor> outputs) {
        runInto(hostViews(inputs, device), hostViews(outputs, device));
    }

    /**
     * The host tensors of device tensors whose device is the host (for {@link #run(DeviceScope, Map, Map)}'s
     * default).
     *
     * @param tensors device tensors by name
     * @param device  their scope, for the message
     * @return the host tensors by name
     * @throws BackendException if a tensor is not host memory
     */
    static Map<String, Tensor> hostViews(Map<String, DeviceTensor> tensors, DeviceScope device) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, DeviceTensor> e : tensors.entrySet()) {
            Tensor h = e.getValue().host();
            if (h == null) {
                throw new BackendException("tensor '" + e.getKey() + "' lives on " + device.device()
                        + ", which this backend cannot read; allocate it from this backend's openDeviceScope()");
            }
            out.put(e.getKey(), h);
        }
        return out;
    }

    /**
     * Whether {@link #run} may be called from several threads at once.
     *
     * @return {@code true} if concurrent runs are safe; otherwise the engine serialises them
     */
    boolean isThreadSafe();

    /** Frees the session's native resources. */
    @Override
    void close();

    /**
     * The outputs of one {@link #run}, owning their memory, like ONNX Runtime's
     * {@code OrtSession.Result}: the tensors are valid until the result is closed, and closing it
     * frees them all. Use it in try-with-resources, or attach it to the {@link TensorScope} of the
     * span that needs the outputs.
     *
     * <p>A backend allocates the output tensors in a {@link TensorScope} of its own and hands that
     * scope to the result, which closes it.
     */
    final class Result implements AutoCloseable {
        private final TensorScope memory;
        private final Map<String, Tensor> outputs;

        /**
         * A result over {@code outputs}, whose memory {@code memory} owns (for backends).
         *
         * @param memory  the scope holding the outputs' memory; the result closes it
         * @param outputs the outputs by name, in the order requested; copied
         */
        public Result(TensorScope memory, Map<String, Tensor> outputs) {
            this.memory = Objects.requireNonNull(memory, "memory");
            this.outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
        }

        /**
         * One output.
         *
         * @param name the output's name
         * @return the tensor, valid until this result is closed
         * @throws BackendException if the run produced no output of that name
         */
        public Tensor get(String name) {
            Tensor t = outputs.get(name);
            if (t == null) {
                throw new BackendException("the graph returned no output '" + name + "' (returned: "
                        + outputs.keySet() + ")");
            }
            return t;
        }

        /**
         * The outputs' names.
         *
         * @return the names, in the order the backend returned them; unmodifiable
         */
        public Set<String> names() {
            return outputs.keySet();
        }

        /** Frees the outputs' memory. Idempotent. */
        @Override
        public void close() {
            memory.close();
        }

        @Override
        public String toString() {
            return "Result" + outputs;
        }
    }
}
