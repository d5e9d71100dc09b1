package dev.avatar4j.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BackendException;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The host device scope (ONNX Runtime CPU's): host tensors bound without copies, copies counted. */
class HostDeviceScopeTest {

    @Test
    void tensorsAreZeroedHostMemoryAndCopiesAreCounted() {
        try (DeviceScope d = DeviceScope.host(); Tensor src = Tensor.ofFloats(new float[] {1, 2, 3, 4}, 4)) {
            DeviceTensor t = d.allocate(DType.FLOAT32, 2, 4);
            assertThat(t.host()).isNotNull();
            assertThat(t.host().toFloatArray()).containsOnly(0f);
            t.copyFrom(src.segment(), 0, 16);
            t.copyFrom(t, 0, 16, 16); // the second row from the first, "on the device"
            assertThat(t.host().toFloatArray()).containsExactly(1, 2, 3, 4, 1, 2, 3, 4);
            try (Tensor out = Tensor.allocate(DType.FLOAT32, 2, 4)) {
                t.copyTo(out.segment());
                assertThat(out.toFloatArray()).containsExactly(1, 2, 3, 4, 1, 2, 3, 4);
            }
            // toHost of a host tensor is its own memory: no copy, nothing counted
            assertThat(t.toHost(MemorySegment.NULL).address()).isEqualTo(t.host().segment().address());
            assertThat(d.transfers()).isEqualTo(new DeviceScope.Transfers(16, 32, 16));
            DeviceTensor v = t.view(1, 4);
            assertThat(v.shape()).containsExactly(1, 4);
            assertThat(v.host().toFloatArray()).containsExactly(1, 2, 3, 4);
            t.clear();
            assertThat(v.host().toFloatArray()).containsOnly(0f);
            assertThatThrownBy(() -> t.view(3, 4)).isInstanceOf(IllegalArgumentException.class);
            try (DeviceScope other = DeviceScope.host()) {
                DeviceTensor o = other.allocate(DType.FLOAT32, 4);
                assertThatThrownBy(() -> o.copyFrom(t, 0, 0, 16)).isInstanceOf(IllegalArgumentException.class);
            }
        }
    }

    @Test
    void closingTheScopeFreesItsTensors() {
        DeviceScope d = DeviceScope.host();
        DeviceTensor t = d.allocate(DType.FLOAT32, 4);
        d.close();
        d.close(); // idempotent
        assertThatThrownBy(() -> t.host().toFloatArray()).isInstanceOf(IllegalStateException.class);
    }

    /** A host session sees the device tensors' own memory through runInto: bound, not copied. */
    @Test
    void theDefaultRunBindsHostMemoryDirectlyAndRefusesOtherDevices() {
        AtomicReference<Map<String, Tensor>> seenIn = new AtomicReference<>();
        GraphSession s = new GraphSession() {
            @Override
            public List<TensorSpec> inputs() {
                return List.of(new TensorSpec("x", DType.FLOAT32, new long[] {2}));
            }

            @Override
            public List<TensorSpec> outputs() {
                return List.of(new TensorSpec("y", DType.FLOAT32, new long[] {2}));
            }

            @Override
            public Result run(Map<String, Tensor> inputs, Set<String> outputs) {
                throw new AssertionError("runInto is overridden");
            }

            @Override
            public void runInto(Map<String, Tensor> inputs, Map<String, Tensor> outputs) {
                seenIn.set(inputs);
                Tensor x = inputs.get("x");
                outputs.get("y").setFloat(0, x.getFloat(0) * 2);
                outputs.get("y").setFloat(1, x.getFloat(1) * 2);
            }

            @Override
            public boolean isThreadSafe() {
                return true;
            }

            @Override
            public void close() {
            }
        };
        try (DeviceScope d = DeviceScope.host()) {
            DeviceTensor x = d.allocate(DType.FLOAT32, 2);
            DeviceTensor y = d.allocate(DType.FLOAT32, 2);
            x.host().setFloat(0, 3);
            x.host().setFloat(1, 4);
            s.run(d, Map.of("x", x), Map.of("y", y));
            assertThat(seenIn.get().get("x").segment().address()).isEqualTo(x.host().segment().address());
            assertThat(y.host().toFloatArray()).containsExactly(6, 8);
            assertThat(d.transfers().hostDevice()).isZero();

            DeviceTensor remote = new DeviceTensor() { // a tensor of a device the host cannot read
                @Override public DType dtype() { return DType.FLOAT32; }
                @Override public long[] shape() { return new long[] {2}; }
                @Override public Tensor host() { return null; }
                @Override public void copyFrom(MemorySegment src, long offset, long bytes) { }
                @Override public void copyTo(MemorySegment dst) { }
                @Override public void copyFrom(DeviceTensor src, long srcOffset, long offset, long bytes) { }
                @Override public void clear() { }
                @Override public DeviceTensor view(long... shape) { return this; }
            };
            assertThatThrownBy(() -> s.run(d, Map.of("x", remote), Map.of("y", y)))
                    .isInstanceOf(BackendException.class).hasMessageContaining("'x'").hasMessageContaining("openDeviceScope");
        }
    }
}
