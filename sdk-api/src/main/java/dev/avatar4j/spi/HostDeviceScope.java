package dev.avatar4j.spi;

import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/** {@link DeviceScope#host()}: host tensors of a {@link TensorScope}, copies counted. */
final class HostDeviceScope implements DeviceScope {
    private final TensorScope memory = TensorScope.open();
    private long toDevice;
    private long toHost;
    private long onDevice;

    @Override
    public String device() {
        return "host";
    }

    @Override
    public DeviceTensor allocate(DType dtype, long... shape) {
        return new HostTensor(memory.allocate(dtype, shape));
    }

    @Override
    public Transfers transfers() {
        return new Transfers(toDevice, toHost, onDevice);
    }

    @Override
    public void close() {
        memory.close();
    }

    @Override
    public String toString() {
        return "DeviceScope[host, " + memory + "]";
    }

    private final class HostTensor implements DeviceTensor {
        private final Tensor tensor;

        HostTensor(Tensor tensor) {
            this.tensor = tensor;
        }

        @Override
        public DType dtype() {
            return tensor.dtype();
        }

        @Override
        public long[] shape() {
            return tensor.shape();
        }

        @Override
        public long byteSize() {
            return tensor.byteSize();
        }

        @Override
        public Tensor host() {
            return tensor;
        }

        @Override
        public void copyFrom(MemorySegment src, long offset, long bytes) {
            MemorySegment.copy(src, 0, tensor.segment(), offset, bytes);
            toDevice += bytes;
        }

        @Override
        public void copyTo(MemorySegment dst) {
            MemorySegment.copy(tensor.segment(), 0, dst, 0, tensor.byteSize());
            toHost += tensor.byteSize();
        }

        @Override
        public void copyFrom(DeviceTensor src, long srcOffset, long offset, long bytes) {
            if (!(src instanceof HostTensor h) || h.owner() != HostDeviceScope.this) {
                throw new IllegalArgumentException("copy between tensors of different device scopes");
            }
            MemorySegment.copy(h.tensor.segment(), srcOffset, tensor.segment(), offset, bytes);
            onDevice += bytes;
        }

        private HostDeviceScope owner() {
            return HostDeviceScope.this;
        }

        @Override
        public void clear() {
            tensor.segment().fill((byte) 0);
        }

        @Override
        public DeviceTensor view(long... shape) {
            Objects.requireNonNull(shape, "shape");
            long bytes = Tensor.elementCount(shape) * tensor.dtype().byteSize();
            if (bytes > tensor.byteSize()) {
                throw new IllegalArgumentException("a view " + Arrays.toString(shape) + " is larger than " + tensor);
            }
            return new HostTensor(Tensor.wrap(tensor.segment().asSlice(0, bytes), tensor.dtype(), shape));
        }

        @Override
        public String toString() {
            return "DeviceTensor[host " + tensor.dtype() + " " + Arrays.toString(tensor.shape()) + "]";
        }
    }
}
