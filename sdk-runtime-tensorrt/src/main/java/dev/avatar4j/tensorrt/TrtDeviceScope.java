package dev.avatar4j.tensorrt;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.spi.DeviceTensor;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensorrt.ffi.AvatarTrt;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * One generation's device memory on the GPU: one CUDA stream, on which every copy and every graph
 * run of the scope is ordered, and device buffers allocated once and freed together when the scope
 * closes. Tensors are bound to engines by address ({@link TrtGraphSession#run(DeviceScope, java.util.Map,
 * java.util.Map)}), so state that stays here across calls never crosses the bus; only the copy
 * methods move bytes between host and device, and this scope counts them (as the backend does for
 * all its traffic).
 */
final class TrtDeviceScope implements DeviceScope {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment stream;
    private final TransferCounter backendCounter;
    private final Consumer<TrtDeviceScope> onClose;
    private final List<MemorySegment> allocations = new ArrayList<>();
    private long toDevice;
    private long toHost;
    private long onDevice;
    private boolean closed;

    TrtDeviceScope(TransferCounter backendCounter, Consumer<TrtDeviceScope> onClose) {
        this.backendCounter = backendCounter;
        this.onClose = onClose;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment err = call.allocate(Shim.ERR_CAP);
            MemorySegment out = call.allocate(ValueLayout.ADDRESS);
            Shim.check(AvatarTrt.a4j_stream_create(out, err, Shim.ERR_CAP), err, "create the generation's stream");
            this.stream = out.get(ValueLayout.ADDRESS, 0).reinterpret(arena, AvatarTrt::a4j_stream_destroy);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The scope's CUDA stream. */
    MemorySegment stream() {
        checkOpen();
        return stream;
    }

    @Override
    public String device() {
        return "cuda:0";
    }

    @Override
    public synchronized DeviceTensor allocate(DType dtype, long... shape) {
        checkOpen();
        Objects.requireNonNull(dtype, "dtype");
        long bytes = Math.multiplyExact(Tensor.elementCount(shape), (long) dtype.byteSize());
        try (Arena call = Arena.ofConfined()) {
            MemorySegment err = call.allocate(Shim.ERR_CAP);
            MemorySegment out = call.allocate(ValueLayout.ADDRESS);
            Shim.check(AvatarTrt.a4j_device_malloc(Math.max(1, bytes), out, err, Shim.ERR_CAP), err,
                    "allocate " + bytes + " device bytes for a " + dtype + Arrays.toString(shape) + " tensor");
            MemorySegment p = out.get(ValueLayout.ADDRESS, 0);
            allocations.add(p);
            Buffer t = new Buffer(p, bytes, dtype, shape.clone());
            t.clear(); // zero-filled, as every tensor the SDK allocates
            return t;
        }
    }

    @Override
    public synchronized Transfers transfers() {
        return new Transfers(toDevice, toHost, onDevice);
    }

    /** Waits until every copy and run queued on the stream is done. */
    void synchronize(String what) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment err = call.allocate(Shim.ERR_CAP);
            Shim.check(AvatarTrt.a4j_stream_synchronize(stream(), err, Shim.ERR_CAP), err, "synchronize " + what);
        }
    }

    /** Waits for the stream, then frees every buffer and the stream. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment err = call.allocate(Shim.ERR_CAP);
            AvatarTrt.a4j_stream_synchronize(stream, err, Shim.ERR_CAP); // nothing may still use the buffers
        } finally {
            for (MemorySegment p : allocations) {
                AvatarTrt.a4j_device_free(p);
            }
            allocations.clear();
            arena.close();
            onClose.accept(this);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the device scope is closed");
        }
    }

    @Override
    public String toString() {
        return "DeviceScope[cuda:0, " + allocations.size() + " buffers" + (closed ? ", closed" : "") + "]";
    }

    /** A tensor of this scope: a device address, a shape, and the capacity of its allocation. */
    final class Buffer implements DeviceTensor {
        private final MemorySegment address;
        private final long capacity;
        private final DType dtype;
        private final long[] shape;

        Buffer(MemorySegment address, long capacity, DType dtype, long[] shape) {
            this.address = address;
            this.capacity = capacity;
            this.dtype = dtype;
            this.shape = shape;
        }

        /** The device address, for binding. */
        MemorySegment address() {
            checkOpen();
            return address;
        }

        TrtDeviceScope scope() {
            return TrtDeviceScope.this;
        }

        @Override
        public DType dtype() {
            return dtype;
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public Tensor host() {
            return null;
        }

        @Override
        public void copyFrom(MemorySegment src, long offset, long bytes) {
            range(offset, bytes, byteSize());
            if (bytes > src.byteSize()) {
                throw new IndexOutOfBoundsException("source has " + src.byteSize() + " bytes, " + bytes + " wanted");
            }
            try (Arena call = Arena.ofConfined()) {
                MemorySegment err = call.allocate(Shim.ERR_CAP);
                MemorySegment host = src.isNative() ? src : call.allocate(bytes).copyFrom(src.asSlice(0, bytes));
                Shim.check(AvatarTrt.a4j_memcpy_htod_async(at(offset), host, bytes, stream(), err, Shim.ERR_CAP), err,
                        "copy " + bytes + " bytes to the device");
                // the caller may reuse its memory on return
                Shim.check(AvatarTrt.a4j_stream_synchronize(stream, err, Shim.ERR_CAP), err, "synchronize a copy");
            }
            counted(bytes, 0, 0);
        }

        @Override
        public void copyTo(MemorySegment dst) {
            long bytes = byteSize();
            if (bytes > dst.byteSize()) {
                throw new IndexOutOfBoundsException("target has " + dst.byteSize() + " bytes, " + bytes + " needed");
            }
            try (Arena call = Arena.ofConfined()) {
                MemorySegment err = call.allocate(Shim.ERR_CAP);
                MemorySegment host = dst.isNative() ? dst : call.allocate(bytes);
                Shim.check(AvatarTrt.a4j_memcpy_dtoh_async(host, address(), bytes, stream(), err, Shim.ERR_CAP), err,
                        "copy " + bytes + " bytes from the device");
                Shim.check(AvatarTrt.a4j_stream_synchronize(stream, err, Shim.ERR_CAP), err, "synchronize a copy");
                if (host != dst) {
                    MemorySegment.copy(host, 0, dst, 0, bytes);
                }
            }
            counted(0, bytes, 0);
        }

        @Override
        public void copyFrom(DeviceTensor src, long srcOffset, long offset, long bytes) {
            if (!(src instanceof Buffer s) || s.scope() != TrtDeviceScope.this) {
                throw new IllegalArgumentException("copy between tensors of different device scopes");
            }
            range(srcOffset, bytes, s.byteSize());
            range(offset, bytes, byteSize());
            try (Arena call = Arena.ofConfined()) {
                MemorySegment err = call.allocate(Shim.ERR_CAP);
                Shim.check(AvatarTrt.a4j_memcpy_dtod_async(at(offset), s.at(srcOffset), bytes, stream(), err, Shim.ERR_CAP),
                        err, "copy " + bytes + " bytes on the device");
            }
            counted(0, 0, bytes);
        }

        @Override
        public void clear() {
            try (Arena call = Arena.ofConfined()) {
                MemorySegment err = call.allocate(Shim.ERR_CAP);
                Shim.check(AvatarTrt.a4j_memset_async(address(), 0, byteSize(), stream(), err, Shim.ERR_CAP), err,
                        "clear " + byteSize() + " device bytes");
            }
        }

        @Override
        public DeviceTensor view(long... newShape) {
            long bytes = Math.multiplyExact(Tensor.elementCount(newShape), (long) dtype.byteSize());
            if (bytes > capacity) {
                throw new IllegalArgumentException("a view " + Arrays.toString(newShape) + " is larger than " + this);
            }
            return new Buffer(address, capacity, dtype, newShape.clone());
        }

        private MemorySegment at(long offset) {
            return MemorySegment.ofAddress(address().address() + offset);
        }

        private void range(long offset, long bytes, long size) {
            if (offset < 0 || bytes < 0 || offset + bytes > size) {
                throw new IndexOutOfBoundsException("bytes " + offset + ".." + (offset + bytes) + " outside a "
                        + size + "-byte device tensor");
            }
        }

        @Override
        public String toString() {
            return "DeviceTensor[cuda:0 " + dtype + " " + Arrays.toString(shape) + "]";
        }
    }

    private synchronized void counted(long in, long out, long on) {
        toDevice += in;
        toHost += out;
        onDevice += on;
        backendCounter.add(in, out);
    }
}
