package dev.avatar4j.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.ValueInfo;
import dev.avatar4j.BackendException;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.spi.UsageGate;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ONNX graph loaded into an {@link OrtSession}.
 *
 * <ul>
 *   <li><b>Inputs are zero-copy.</b> Each caller tensor becomes an {@link OnnxTensor} created from
 *       {@link Tensor#asByteBuffer()}, a direct native-order buffer over the tensor's off-heap memory;
 *       ONNX Runtime Java wraps a direct buffer as the OrtValue's data pointer instead of copying it
 *       ({@code OnnxTensor.ownsBuffer()} is false for such tensors). The OnnxTensors are closed after
 *       the call, which releases only the OrtValue, never the caller's memory.</li>
 *   <li><b>{@link #run} outputs</b> are allocated by ONNX Runtime and copied with one memcpy into
 *       {@link Tensor}s of one {@link TensorScope} that the returned {@link GraphSession.Result} owns
 *       (see {@link OrtBuffers}); the ONNX Runtime results are closed in all cases. Copying, rather
 *       than handing out ONNX Runtime's own buffers, keeps a closed result's tensors failing with an
 *       exception instead of reading freed native memory.</li>
 *   <li><b>{@link #runInto} outputs</b> are <em>pinned</em>: the caller's output tensors are wrapped
 *       the same zero-copy way and passed to {@code OrtSession.run(inputs, pinnedOutputs)}, so ONNX
 *       Runtime writes the results straight into the caller's memory.</li>
 *   <li><b>Validation</b> happens before any native call: every declared input present, no unknown
 *       names, element types equal and shapes accepted by the declared (partly dynamic) shapes; the
 *       messages name the graph file, the tensor and expected vs given.</li>
 *   <li><b>Concurrency.</b> ONNX Runtime sessions support concurrent {@code Run} calls, so this
 *       session is thread-safe. {@link #close()} is guarded by a {@link UsageGate}: it refuses new
 *       runs (they fail with a {@link BackendException} saying the session is closed) and frees the
 *       native session only after the runs in flight have finished.</li>
 * </ul>
 */
final class OnnxGraphSession implements GraphSession {
    private static final Logger LOG = LoggerFactory.getLogger(OnnxGraphSession.class);
    /** ONNX Runtime Java passes tensor sizes as int bytes ({@code Buffer.remaining()}). */
    private static final long MAX_TENSOR_BYTES = Integer.MAX_VALUE - 8L;

    private final OrtEnvironment env;
    private final OrtSession session;
    private final String graphName;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final Map<String, TensorSpec> inputByName;
    private final Map<String, TensorSpec> outputByName;
    private final UsageGate gate;
    private final boolean holdsInitializerMemory;

    /**
     * Reads the signature of an opened ONNX Runtime session; on success the new object owns
     * {@code session} and {@code options} (closed together by {@link #close()}).
     *
     * @throws BackendException when an input or output is not a float32/float16/int64 tensor
     * @throws OrtException     when ONNX Runtime cannot report the signature
     */
    OnnxGraphSession(OrtEnvironment env, OrtSession session, OrtSession.SessionOptions options, String graphName,
            Consumer<OnnxGraphSession> onClose) throws OrtException {
        this(env, session, options, null, graphName, onClose);
    }

    /**
     * As above, also owning {@code resources} (the memory of initializers handed to ONNX Runtime,
     * or {@code null} for none), closed after the session.
     */
    OnnxGraphSession(OrtEnvironment env, OrtSession session, OrtSession.SessionOptions options, AutoCloseable resources,
            String graphName, Consumer<OnnxGraphSession> onClose) throws OrtException {
        this.env = env;
        this.session = session;
        this.graphName = graphName;
        this.inputs = specs("input", session.getInputInfo().values());
        this.outputs = specs("output", session.getOutputInfo().values());
        this.inputByName = byName(inputs);
        this.outputByName = byName(outputs);
        this.holdsInitializerMemory = resources != null;
        this.gate = new UsageGate(() -> {
            try {
                session.close();
            } catch (OrtException e) {
                LOG.warn("closing the ONNX Runtime session of {} failed: {}", graphName, e.getMessage());
            } finally {
                options.close();
                try {
                    if (resources != null) {
                        resources.close();
                    }
                } catch (Exception e) {
                    LOG.warn("releasing the initializers of {} failed: {}", graphName, e.getMessage());
                }
                onClose.accept(this);
            }
        });
    }

    /** Whether this session keeps initializer memory of its own alive (ONNX Runtime did not copy it). */
    boolean holdsInitializerMemory() {
        return holdsInitializerMemory;
    }

    private List<TensorSpec> specs(String kind, Collection<NodeInfo> nodes) {
        List<TensorSpec> list = new ArrayList<>(nodes.size());
        for (NodeInfo node : nodes) {
            ValueInfo info = node.getInfo();
            if (!(info instanceof TensorInfo ti)) {
                throw new BackendException("graph '" + graphName + "' " + kind + " '" + node.getName() + "' is a "
                        + info.getClass().getSimpleName() + ", not a tensor; only float32, float16 and int64 tensors are supported");
            }
            DType dtype = OrtBuffers.dtypeOf(ti.onnxType);
            if (dtype == null) {
                throw new BackendException("graph '" + graphName + "' " + kind + " '" + node.getName() + "' has element type "
                        + OrtBuffers.onnxTypeName(ti.onnxType) + "; only float32, float16 and int64 are supported");
            }
            // ORT Java reports symbolic and unknown dimensions as -1, which is TensorSpec's convention too.
            long[] shape = ti.getShape();
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] < 0) {
                    shape[i] = -1;
                }
            }
            list.add(new TensorSpec(node.getName(), dtype, shape));
        }
        return List.copyOf(list);
    }

    private static Map<String, TensorSpec> byName(List<TensorSpec> specs) {
        Map<String, TensorSpec> m = new LinkedHashMap<>();
        specs.forEach(s -> m.put(s.name(), s));
        return Collections.unmodifiableMap(m);
    }

    /** The graph file name used in messages, e.g. {@code dit.onnx}. */
    String graphName() {
        return graphName;
    }

    /** Runs in flight right now (diagnostics and tests). */
    int inFlight() {
        return gate.inFlight();
    }

    @Override
    public List<TensorSpec> inputs() {
        return inputs;
    }

    @Override
    public List<TensorSpec> outputs() {
        return outputs;
    }

    @Override
    public boolean isThreadSafe() {
        return true;
    }

    @Override
    public Result run(Map<String, Tensor> in, Set<String> outputNames) {
        Objects.requireNonNull(in, "inputs");
        Objects.requireNonNull(outputNames, "outputs");
        checkInputs(in);
        if (outputNames.isEmpty()) {
            throw new BackendException("no outputs requested from graph '" + graphName + "' (outputs: " + names(outputs) + ")");
        }
        for (String name : outputNames) {
            if (!outputByName.containsKey(name)) {
                throw new BackendException("graph '" + graphName + "' has no output '" + name + "' (outputs: " + names(outputs) + ")");
            }
        }
        enter();
        Map<String, OnnxTensor> ortIn = new LinkedHashMap<>();
        try {
            wrapAll(in, ortIn);
            long t0 = System.nanoTime();
            try (OrtSession.Result result = session.run(ortIn, outputNames)) {
                TensorScope memory = TensorScope.open();
                Map<String, Tensor> out = new LinkedHashMap<>();
                try {
                    for (String name : outputNames) {
                        OnnxValue v = result.get(name).orElseThrow(
                                () -> new BackendException("ONNX Runtime returned no output '" + name + "' for graph '" + graphName + "'"));
                        out.put(name, copyOut(name, v, memory));
                    }
                } catch (RuntimeException | Error e) {
                    memory.close();
                    throw e;
                }
                logRun("run", t0);
                return new Result(memory, out);
            }
        } catch (OrtException e) {
            throw ortError("run", graphName, e);
        } finally {
            closeAll(ortIn.values());
            gate.exit();
        }
    }

    /**
     * Runs the graph with the caller's output tensors pinned as ONNX Runtime outputs, so results are
     * written in place with no allocation and no copy. The output tensors must have exactly the shapes
     * the run produces; ONNX Runtime rejects a pinned output whose shape differs.
     */
    @Override
    public void runInto(Map<String, Tensor> in, Map<String, Tensor> out) {
        Objects.requireNonNull(in, "inputs");
        Objects.requireNonNull(out, "outputs");
        checkInputs(in);
        if (out.isEmpty()) {
            throw new BackendException("no outputs requested from graph '" + graphName + "' (outputs: " + names(outputs) + ")");
        }
        for (Map.Entry<String, Tensor> e : out.entrySet()) {
            TensorSpec spec = outputByName.get(e.getKey());
            if (spec == null) {
                throw new BackendException("graph '" + graphName + "' has no output '" + e.getKey() + "' (outputs: " + names(outputs) + ")");
            }
            checkTensor("output", spec, Objects.requireNonNull(e.getValue(), () -> "output tensor '" + e.getKey() + "' is null"));
        }
        if (out.values().stream().anyMatch(t -> !t.segment().isNative())) {
            // A heap-backed tensor cannot be handed to ONNX Runtime as memory to write into (it would
            // write into a temporary direct copy): run normally and copy instead.
            GraphSession.super.runInto(in, out);
            return;
        }
        enter();
        Map<String, OnnxTensor> ortIn = new LinkedHashMap<>();
        Map<String, OnnxTensor> pinned = new LinkedHashMap<>();
        try {
            wrapAll(in, ortIn);
            wrapAll(out, pinned);
            long t0 = System.nanoTime();
            // Pinned outputs come back in the Result but are not owned by it (isResultOwner false):
            // closing the Result leaves them to us, and we close them below.
            OrtSession.Result result = session.run(ortIn, pinned);
            result.close();
            logRun("runInto", t0);
        } catch (OrtException e) {
            throw ortError("run", graphName, e);
        } finally {
            closeAll(ortIn.values());
            closeAll(pinned.values());
            gate.exit();
        }
    }

    private void enter() {
        if (!gate.enter()) {
            throw new BackendException("session for graph '" + graphName + "' is closed");
        }
    }

    private void logRun(String what, long t0) {
        if (LOG.isTraceEnabled()) {
            LOG.trace("{} {} in {} us", what, graphName, (System.nanoTime() - t0) / 1_000);
        }
    }

    private void checkInputs(Map<String, Tensor> in) {
        for (String name : in.keySet()) {
            if (!inputByName.containsKey(name)) {
                throw new BackendException("graph '" + graphName + "' has no input '" + name + "' (inputs: " + names(inputs) + ")");
            }
        }
        for (TensorSpec spec : inputs) {
            Tensor t = in.get(spec.name());
            if (t == null) {
                throw new BackendException("missing input '" + spec.name() + "' of graph '" + graphName + "', expected "
                        + spec.dtype() + spec.shapeString());
            }
            checkTensor("input", spec, t);
        }
    }

    private void checkTensor(String kind, TensorSpec spec, Tensor t) {
        if (t.dtype() != spec.dtype()) {
            throw new BackendException(kind + " '" + spec.name() + "' of graph '" + graphName + "' is " + t.dtype()
                    + shapeString(t.shape()) + ", expected " + spec.dtype() + spec.shapeString());
        }
        if (!spec.accepts(t.shape())) {
            throw new BackendException(kind + " '" + spec.name() + "' of graph '" + graphName + "' has shape "
                    + shapeString(t.shape()) + ", expected " + spec.shapeString());
        }
        if (t.byteSize() > MAX_TENSOR_BYTES) {
            throw new BackendException(kind + " '" + spec.name() + "' of graph '" + graphName + "' is " + t.byteSize()
                    + " bytes; ONNX Runtime Java accepts at most " + MAX_TENSOR_BYTES + " bytes per tensor");
        }
    }

    private void wrapAll(Map<String, Tensor> tensors, Map<String, OnnxTensor> into) throws OrtException {
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            into.put(e.getKey(), wrap(e.getValue()));
        }
    }

    /**
     * An {@link OnnxTensor} over the tensor's own memory (no copy) when it is off-heap, including
     * read-only and memory-mapped segments. A heap segment (a {@code Tensor.wrap} of a Java array) is
     * copied into a direct buffer that the OnnxTensor keeps alive. Closing the result frees only ONNX
     * Runtime's OrtValue header; the caller's memory stays owned by the tensor.
     */
    OnnxTensor wrap(Tensor t) throws OrtException {
        ByteBuffer direct;
        if (t.segment().isNative()) {
            direct = t.asByteBuffer(); // direct, native order, position 0, limit = byteSize
        } else {
            direct = ByteBuffer.allocateDirect((int) t.byteSize()).order(ByteOrder.nativeOrder());
            MemorySegment.copy(t.segment(), 0, MemorySegment.ofBuffer(direct), 0, t.byteSize());
        }
        return OnnxTensor.createTensor(env, direct, t.shape(), OrtBuffers.javaTypeOf(t.dtype()));
    }

    private Tensor copyOut(String name, OnnxValue value, TensorScope memory) {
        if (!(value instanceof OnnxTensor ot) || !(ot.getInfo() instanceof TensorInfo info)) {
            throw new BackendException("output '" + name + "' of graph '" + graphName + "' is not a tensor: " + value);
        }
        DType dtype = OrtBuffers.dtypeOf(info.onnxType);
        if (dtype == null) {
            throw new BackendException("output '" + name + "' of graph '" + graphName + "' has element type "
                    + OrtBuffers.onnxTypeName(info.onnxType) + "; only float32, float16 and int64 are supported");
        }
        Tensor t = memory.allocate(dtype, info.getShape());
        if (t.byteSize() > 0) {
            ByteBuffer src = OrtBuffers.nativeView(ot);
            if (src.remaining() != t.byteSize()) {
                throw new BackendException("output '" + name + "' of graph '" + graphName + "' holds " + src.remaining()
                        + " bytes, expected " + t.byteSize() + " for " + dtype + shapeString(info.getShape()));
            }
            MemorySegment.copy(MemorySegment.ofBuffer(src), 0, t.segment(), 0, t.byteSize());
        }
        return t;
    }

    private static void closeAll(Collection<OnnxTensor> tensors) {
        for (OnnxTensor t : tensors) {
            try {
                t.close();
            } catch (RuntimeException e) {
                LOG.debug("closing an input OnnxTensor failed", e);
            }
        }
    }

    private static String names(List<TensorSpec> specs) {
        return specs.stream().map(TensorSpec::name).collect(Collectors.joining(", "));
    }

    private static String shapeString(long[] shape) {
        return Arrays.toString(shape).replace(" ", "");
    }

    /** Wraps an ONNX Runtime error with the graph file name and ONNX Runtime's error code. */
    static BackendException ortError(String action, String graphName, OrtException e) {
        String verb = action.equals("open") ? "open" : "run";
        return new BackendException("ONNX Runtime could not " + verb + " graph '" + graphName + "' (" + e.getCode() + "): "
                + e.getMessage(), e);
    }

    /**
     * Refuses new runs, waits for the runs in flight, then frees the ONNX Runtime session. Safe to call
     * from any thread, several times, and while other threads are inside {@link #run}.
     */
    @Override
    public void close() {
        boolean first = !gate.isClosed();
        int running = gate.inFlight();
        long waited = gate.close();
        if (first && LOG.isDebugEnabled()) {
            LOG.debug("closed {} ({} run(s) were in flight, waited {} ms)", graphName, running, waited / 1_000_000);
        }
    }

    @Override
    public String toString() {
        return "OnnxGraphSession[" + graphName + (gate.isClosed() ? ", closed]" : "]");
    }
}
