package dev.avatar4j.tensorrt;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.spi.DeviceTensor;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.spi.UsageGate;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import dev.avatar4j.tensorrt.ffi.AvatarTrt;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One TensorRT engine with one execution context and one CUDA stream.
 *
 * <p>Runs are serialised on the one context (concurrent callers wait their turn). Device buffers are kept per
 * tensor and reused across runs, growing only when a larger shape arrives. {@link #close()} waits
 * for a run in flight and then frees everything exactly once; a run after close fails with a
 * {@link BackendException} and never touches freed memory.
 */
final class TrtGraphSession implements GraphSession {
    private final String graphName;
    private final Arena arena;
    private final MemorySegment context;
    private final MemorySegment stream;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final Map<String, Integer> index = new LinkedHashMap<>();
    private final Map<String, Boolean> isInput = new LinkedHashMap<>();
    private final ReentrantLock runLock = new ReentrantLock();
    private final MemorySegment[] device;
    private final long[] capacity;
    private final UsageGate gate;
    private final TransferCounter transfers;

    private TrtGraphSession(String graphName, Arena arena, MemorySegment engine, MemorySegment context, MemorySegment stream,
                            TransferCounter transfers, Consumer<TrtGraphSession> onClose) {
        this.graphName = graphName;
        this.transfers = transfers;
        this.arena = arena;
        this.context = context;
        this.stream = stream;
        List<TensorSpec> in = new ArrayList<>();
        List<TensorSpec> out = new ArrayList<>();
        List<TensorSpec> all = describe(engine, graphName);
        for (int i = 0; i < all.size(); i++) {
            index.put(all.get(i).name(), i);
        }
        this.device = new MemorySegment[all.size()];
        this.capacity = new long[all.size()];
        for (TensorSpec s : all) {
            (isInput.get(s.name()) ? in : out).add(s);
        }
        this.inputs = List.copyOf(in);
        this.outputs = List.copyOf(out);
        this.gate = new UsageGate(() -> {
            for (int i = 0; i < device.length; i++) {
                if (device[i] != null) {
                    AvatarTrt.a4j_device_free(device[i]);
                    device[i] = null;
                }
            }
            arena.close(); // destroys stream, context, engine (reverse order of attachment)
            onClose.accept(this);
        });
    }

    /** Deserializes {@code plan} and creates its context and stream. */
    static TrtGraphSession open(MemorySegment runtime, byte[] plan, String graphName, TransferCounter transfers,
                                Consumer<TrtGraphSession> onClose) {
        Arena arena = Arena.ofShared();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment err = call.allocate(Shim.ERR_CAP);
            MemorySegment out = call.allocate(ValueLayout.ADDRESS);
            MemorySegment bytes = call.allocate(plan.length);
            MemorySegment.copy(plan, 0, bytes, ValueLayout.JAVA_BYTE, 0, plan.length);
            Shim.check(AvatarTrt.a4j_engine_deserialize(runtime, bytes, plan.length, out, err, Shim.ERR_CAP), err,
                    "deserialize engine of " + graphName);
            MemorySegment engine = out.get(ValueLayout.ADDRESS, 0).reinterpret(arena, AvatarTrt::a4j_engine_destroy);
            Shim.check(AvatarTrt.a4j_context_create(engine, out, err, Shim.ERR_CAP), err, "create context for " + graphName);
            MemorySegment context = out.get(ValueLayout.ADDRESS, 0).reinterpret(arena, AvatarTrt::a4j_context_destroy);
            Shim.check(AvatarTrt.a4j_stream_create(out, err, Shim.ERR_CAP), err, "create stream");
            MemorySegment stream = out.get(ValueLayout.ADDRESS, 0).reinterpret(arena, AvatarTrt::a4j_stream_destroy);
            return new TrtGraphSession(graphName, arena, engine, context, stream, transfers, onClose);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private List<TensorSpec> describe(MemorySegment engine, String graph) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment err = call.allocate(Shim.ERR_CAP);
            MemorySegment count = call.allocate(ValueLayout.JAVA_INT);
            Shim.check(AvatarTrt.a4j_engine_io_count(engine, count, err, Shim.ERR_CAP), err, "io count");
            MemorySegment name = call.allocate(256);
            MemorySegment in = call.allocate(ValueLayout.JAVA_INT);
            MemorySegment dt = call.allocate(ValueLayout.JAVA_INT);
            MemorySegment rank = call.allocate(ValueLayout.JAVA_INT);
            MemorySegment dims = call.allocate(ValueLayout.JAVA_LONG, AvatarTrt.A4J_MAX_DIMS());
            List<TensorSpec> all = new ArrayList<>();
            for (int i = 0; i < count.get(ValueLayout.JAVA_INT, 0); i++) {
                Shim.check(AvatarTrt.a4j_engine_io_info(engine, i, name, 256, in, dt, rank, dims, err, Shim.ERR_CAP), err,
                        "io info #" + i);
                String n = name.getString(0);
                long[] shape = dims.asSlice(0, rank.get(ValueLayout.JAVA_INT, 0) * 8L).toArray(ValueLayout.JAVA_LONG);
                all.add(new TensorSpec(n, dtype(dt.get(ValueLayout.JAVA_INT, 0), n, graph), shape));
                isInput.put(n, in.get(ValueLayout.JAVA_INT, 0) != 0);
            }
            return all;
        }
    }

    /** Maps a TensorRT element type to the SDK's. */
    static DType dtype(int trt, String tensor, String graph) {
        if (trt == AvatarTrt.A4J_DT_FLOAT()) {
            return DType.FLOAT32;
        } else if (trt == AvatarTrt.A4J_DT_HALF()) {
            return DType.FLOAT16;
        } else if (trt == AvatarTrt.A4J_DT_INT64()) {
            return DType.INT64;
        }
        throw new BackendException("graph " + graph + ": tensor '" + tensor + "' has TensorRT data type " + trt
                + ", which avatar4j does not exchange (float32, float16 and int64 only)");
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
    public Result run(Map<String, Tensor> in, Set<String> wanted) {
        Map<String, Tensor> results = new LinkedHashMap<>();
        TensorScope memory = TensorScope.open(); // the result's: freed when the caller closes it
        try {
            execute(in, wanted, results, memory);
            return new Result(memory, results);
        } catch (RuntimeException | Error e) {
            memory.close();
            throw e;
        }
    }

    @Override
    public void runInto(Map<String, Tensor> in, Map<String, Tensor> out) {
        Map<String, Tensor> targets = new LinkedHashMap<>(out);
        execute(in, out.keySet(), targets, null);
    }

    /**
     * Runs the engine; the wanted outputs are allocated in {@code memory}, or, when it is null, copied
     * into the caller's tensors in {@code results}.
     */
    private void execute(Map<String, Tensor> in, Set<String> wanted, Map<String, Tensor> results, TensorScope memory) {
        boolean allocate = memory != null;
        for (String w : wanted) {
            Integer i = index.get(w);
            if (i == null || isInput.get(w)) {
                throw new BackendException(graphName + ": no output '" + w + "'; outputs: " + outputs);
            }
        }
        if (!gate.enter()) {
            throw new BackendException(graphName + ": the TensorRT session is closed");
        }
        runLock.lock();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment err = call.allocate(Shim.ERR_CAP);
            MemorySegment dims = call.allocate(ValueLayout.JAVA_LONG, AvatarTrt.A4J_MAX_DIMS());
            MemorySegment rank = call.allocate(ValueLayout.JAVA_INT);
            for (TensorSpec spec : inputs) {
                Tensor t = in.get(spec.name());
                if (t == null) {
                    throw new BackendException(graphName + ": input '" + spec.name() + "' is missing");
                }
                if (t.dtype() != spec.dtype() || !spec.accepts(t.shape())) {
                    throw new BackendException(graphName + ": input '" + spec.name() + "' is " + t.dtype()
                            + Arrays.toString(t.shape()) + ", the engine expects " + spec.dtype() + spec.shapeString());
                }
                MemorySegment name = call.allocateFrom(spec.name());
                long[] shape = t.shape();
                MemorySegment.copy(shape, 0, dims, ValueLayout.JAVA_LONG, 0, shape.length);
                Shim.check(AvatarTrt.a4j_context_set_input_shape(context, name, shape.length, dims, err, Shim.ERR_CAP),
                        err, "set shape of " + graphName + "/" + spec.name());
                MemorySegment buf = buffer(spec.name(), t.byteSize(), call);
                MemorySegment host = t.segment();
                if (!host.isNative()) {
                    host = call.allocate(t.byteSize()).copyFrom(host);
                }
                Shim.check(AvatarTrt.a4j_memcpy_htod_async(buf, host, t.byteSize(), stream, err, Shim.ERR_CAP), err,
                        "copy " + spec.name() + " to the device");
                transfers.add(t.byteSize(), 0);
            }
            Map<String, long[]> outShapes = new LinkedHashMap<>();
            Map<MemorySegment, MemorySegment> heapCopies = new LinkedHashMap<>(); // staged copies for heap outputs
            for (TensorSpec spec : outputs) {
                MemorySegment name = call.allocateFrom(spec.name());
                Shim.check(AvatarTrt.a4j_context_tensor_shape(context, name, rank, dims, err, Shim.ERR_CAP), err,
                        "shape of " + graphName + "/" + spec.name());
                long[] shape = dims.asSlice(0, rank.get(ValueLayout.JAVA_INT, 0) * 8L).toArray(ValueLayout.JAVA_LONG);
                outShapes.put(spec.name(), shape);
                buffer(spec.name(), Tensor.elementCount(shape) * spec.dtype().byteSize(), call);
            }
            Shim.check(AvatarTrt.a4j_context_enqueue(context, stream, err, Shim.ERR_CAP), err, "enqueue " + graphName);
            for (String w : wanted) {
                TensorSpec spec = outputs.stream().filter(s -> s.name().equals(w)).findFirst().orElseThrow();
                long[] shape = outShapes.get(w);
                Tensor target;
                if (allocate) {
                    target = memory.allocate(spec.dtype(), shape);
                    results.put(w, target);
                } else {
                    target = results.get(w);
                    if (target.dtype() != spec.dtype() || !Arrays.equals(target.shape(), shape)) {
                        throw new BackendException(graphName + ": output '" + w + "' is " + spec.dtype()
                                + Arrays.toString(shape) + ", the caller's tensor is " + target);
                    }
                }
                MemorySegment host = target.segment().isNative() ? target.segment() : call.allocate(target.byteSize());
                Shim.check(AvatarTrt.a4j_memcpy_dtoh_async(host, device[index.get(w)], target.byteSize(), stream,
                        err, Shim.ERR_CAP), err, "copy " + w + " from the device");
                transfers.add(0, target.byteSize());
                if (host != target.segment()) {
                    heapCopies.put(host, target.segment());
                }
            }
            Shim.check(AvatarTrt.a4j_stream_synchronize(stream, err, Shim.ERR_CAP), err, "synchronize " + graphName);
            heapCopies.forEach((staged, heap) -> heap.copyFrom(staged));
        } finally {
            runLock.unlock();
            gate.exit();
        }
    }

    /**
     * Runs the engine on device tensors of a {@link TrtDeviceScope} of this backend: each is bound by
     * its device address, nothing is copied, and the run is enqueued on the scope's stream (one per
     * generation) and waited for, so that the context is free for the next caller and a failure is
     * reported by this call. Outputs the caller leaves out go to this session's scratch buffers.
     * Tensors of a host scope take the host path ({@link #runInto}, which copies).
     */
    @Override
    public void run(DeviceScope device, Map<String, DeviceTensor> in, Map<String, DeviceTensor> out) {
        if (!(device instanceof TrtDeviceScope scope)) {
            runInto(GraphSession.hostViews(in, device), GraphSession.hostViews(out, device));
            return;
        }
        for (String w : out.keySet()) {
            Integer i = index.get(w);
            if (i == null || isInput.get(w)) {
                throw new BackendException(graphName + ": no output '" + w + "'; outputs: " + outputs);
            }
        }
        if (!gate.enter()) {
            throw new BackendException(graphName + ": the TensorRT session is closed");
        }
        runLock.lock();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment err = call.allocate(Shim.ERR_CAP);
            MemorySegment dims = call.allocate(ValueLayout.JAVA_LONG, AvatarTrt.A4J_MAX_DIMS());
            MemorySegment rank = call.allocate(ValueLayout.JAVA_INT);
            for (TensorSpec spec : inputs) {
                TrtDeviceScope.Buffer t = buffer(in.get(spec.name()), scope, "input", spec.name());
                long[] shape = t.shape();
                if (t.dtype() != spec.dtype() || !spec.accepts(shape)) {
                    throw new BackendException(graphName + ": input '" + spec.name() + "' is " + t.dtype()
                            + Arrays.toString(shape) + ", the engine expects " + spec.dtype() + spec.shapeString());
                }
                MemorySegment name = call.allocateFrom(spec.name());
                MemorySegment.copy(shape, 0, dims, ValueLayout.JAVA_LONG, 0, shape.length);
                Shim.check(AvatarTrt.a4j_context_set_input_shape(context, name, shape.length, dims, err, Shim.ERR_CAP),
                        err, "set shape of " + graphName + "/" + spec.name());
                Shim.check(AvatarTrt.a4j_context_set_tensor_address(context, name, t.address(), err, Shim.ERR_CAP),
                        err, "bind " + spec.name());
            }
            for (TensorSpec spec : outputs) {
                MemorySegment name = call.allocateFrom(spec.name());
                Shim.check(AvatarTrt.a4j_context_tensor_shape(context, name, rank, dims, err, Shim.ERR_CAP), err,
                        "shape of " + graphName + "/" + spec.name());
                long[] shape = dims.asSlice(0, rank.get(ValueLayout.JAVA_INT, 0) * 8L).toArray(ValueLayout.JAVA_LONG);
                DeviceTensor given = out.get(spec.name());
                if (given == null) { // not wanted: the session's own scratch buffer
                    buffer(spec.name(), Tensor.elementCount(shape) * spec.dtype().byteSize(), call);
                    continue;
                }
                TrtDeviceScope.Buffer t = buffer(given, scope, "output", spec.name());
                if (t.dtype() != spec.dtype() || !Arrays.equals(t.shape(), shape)) {
                    throw new BackendException(graphName + ": output '" + spec.name() + "' is " + spec.dtype()
                            + Arrays.toString(shape) + ", the caller's tensor is " + t);
                }
                Shim.check(AvatarTrt.a4j_context_set_tensor_address(context, name, t.address(), err, Shim.ERR_CAP),
                        err, "bind " + spec.name());
            }
            Shim.check(AvatarTrt.a4j_context_enqueue(context, scope.stream(), err, Shim.ERR_CAP), err,
                    "enqueue " + graphName);
            scope.synchronize(graphName);
        } finally {
            runLock.unlock();
            gate.exit();
        }
    }

    private TrtDeviceScope.Buffer buffer(DeviceTensor t, TrtDeviceScope scope, String what, String name) {
        if (t == null) {
            throw new BackendException(graphName + ": " + what + " '" + name + "' is missing");
        }
        if (!(t instanceof TrtDeviceScope.Buffer b) || b.scope() != scope) {
            throw new BackendException(graphName + ": " + what + " '" + name + "' is " + t
                    + ", not a tensor of the device scope the run was given");
        }
        return b;
    }

    /** The device buffer of a tensor, grown to at least {@code bytes}, bound to the context. */
    private MemorySegment buffer(String tensor, long bytes, Arena call) {
        int i = index.get(tensor);
        MemorySegment err = call.allocate(Shim.ERR_CAP);
        if (device[i] == null || capacity[i] < bytes) {
            if (device[i] != null) {
                AvatarTrt.a4j_device_free(device[i]);
                device[i] = null;
            }
            long size = Math.max(256, Long.highestOneBit(Math.max(1, bytes) - 1) << 1);
            MemorySegment out = call.allocate(ValueLayout.ADDRESS);
            Shim.check(AvatarTrt.a4j_device_malloc(size, out, err, Shim.ERR_CAP), err,
                    "allocate " + size + " device bytes for " + tensor);
            device[i] = out.get(ValueLayout.ADDRESS, 0);
            capacity[i] = size;
        }
        Shim.check(AvatarTrt.a4j_context_set_tensor_address(context, call.allocateFrom(tensor), device[i], err, Shim.ERR_CAP),
                err, "bind " + tensor);
        return device[i];
    }

    /** Device bytes held by this session's reusable buffers. */
    long deviceBytes() {
        long n = 0;
        for (long c : capacity) {
            n += c;
        }
        return n;
    }

    @Override
    public boolean isThreadSafe() {
        return true;
    }

    /** Waits for a run in flight, then frees the buffers, context, stream and engine. Idempotent. */
    @Override
    public void close() {
        gate.close();
    }

    @Override
    public String toString() {
        return "TensorRT session " + graphName;
    }
}
