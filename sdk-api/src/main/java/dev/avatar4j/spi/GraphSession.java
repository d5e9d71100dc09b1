package dev.avatar4j.spi;

import dev.avatar4j.tensor.Tensor;
import java.util.List;
import java.util.Map;
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
     * @return newly allocated output tensors owned by the caller (close them)
     * @throws dev.avatar4j.BackendException when the backend fails
     */
    Map<String, Tensor> run(Map<String, Tensor> inputs, Set<String> outputs);

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
        Map<String, Tensor> results = run(inputs, outputs.keySet());
        try {
            for (Map.Entry<String, Tensor> e : outputs.entrySet()) {
                Tensor got = results.get(e.getKey());
                Tensor want = e.getValue();
                if (got == null || got.dtype() != want.dtype() || got.byteSize() != want.byteSize()) {
                    throw new dev.avatar4j.BackendException("output '" + e.getKey() + "' is " + got
                            + ", expected " + want);
                }
                java.lang.foreign.MemorySegment.copy(got.segment(), 0, want.segment(), 0, want.byteSize());
            }
        } finally {
            results.values().forEach(Tensor::close);
        }
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
}
