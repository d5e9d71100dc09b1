package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.spi.DeviceTensor;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Device-resident tensors on the TensorRT backend, through real FFM calls into the test double: the
 * double's own copy counters check what crossed between host and device.
 */
class DeviceScopeTest {
    @TempDir
    Path tmp;
    private TensorRtBackend backend;

    @BeforeEach
    void start() {
        backend = (TensorRtBackend) TestDouble.provider(TestDouble.options(tmp.resolve("cache"), true, 64)).create();
    }

    @AfterEach
    void stop() {
        backend.close();
    }

    @Test
    void tensorsLiveOnTheDeviceAndOnlyExplicitCopiesCrossTheBus() {
        long allocs = TestDouble.liveAllocations();
        long in0 = TestDouble.copiedBytes(0);
        long out0 = TestDouble.copiedBytes(1);
        long on0 = TestDouble.copiedBytes(2);
        try (DeviceScope d = backend.openDeviceScope(); Arena host = Arena.ofConfined()) {
            assertThat(d.device()).isEqualTo("cuda:0");
            DeviceTensor t = d.allocate(DType.FLOAT32, 2, 4);
            assertThat(t.host()).as("device memory is not host memory").isNull();
            assertThat(TestDouble.liveAllocations()).isEqualTo(allocs + 1);
            MemorySegment row = host.allocateFrom(ValueLayout.JAVA_FLOAT, 1, 2, 3, 4);
            t.copyFrom(row, 0, 16);
            t.copyFrom(t, 0, 16, 16); // second row from the first, on the device
            MemorySegment back = host.allocate(32);
            t.copyTo(back);
            assertThat(back.toArray(ValueLayout.JAVA_FLOAT)).containsExactly(1, 2, 3, 4, 1, 2, 3, 4);
            // a heap segment is staged, not rejected
            float[] heap = new float[8];
            t.copyTo(MemorySegment.ofArray(heap));
            assertThat(heap).containsExactly(1, 2, 3, 4, 1, 2, 3, 4);
            assertThat(t.toHost(host.allocate(32)).toArray(ValueLayout.JAVA_FLOAT)).containsExactly(1, 2, 3, 4, 1, 2, 3, 4);
            DeviceTensor v = t.view(1, 4);
            assertThat(v.shape()).containsExactly(1, 4);
            assertThat(v.byteSize()).isEqualTo(16);
            assertThatThrownBy(() -> t.view(3, 4)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> t.copyFrom(row, 24, 16)).isInstanceOf(IndexOutOfBoundsException.class);
            t.clear();
            t.copyTo(back);
            assertThat(back.toArray(ValueLayout.JAVA_FLOAT)).containsOnly(0f);
            // what the scope counted is what the double's memcpy functions moved
            assertThat(d.transfers()).isEqualTo(new DeviceScope.Transfers(16, 4 * 32, 16));
            assertThat(TestDouble.copiedBytes(0) - in0).isEqualTo(16);
            assertThat(TestDouble.copiedBytes(1) - out0).isEqualTo(4 * 32);
            assertThat(TestDouble.copiedBytes(2) - on0).isEqualTo(16);
            try (DeviceScope other = backend.openDeviceScope()) {
                DeviceTensor o = other.allocate(DType.FLOAT32, 4);
                assertThatThrownBy(() -> o.copyFrom(t, 0, 0, 16)).isInstanceOf(IllegalArgumentException.class);
            }
        }
        assertThat(TestDouble.liveAllocations()).as("the scope frees its buffers").isEqualTo(allocs);
        assertThat(TestDouble.misuse()).isZero();
    }

    @Test
    void closingTheBackendClosesScopesStillOpen() {
        long allocs = TestDouble.liveAllocations();
        long handles = TestDouble.liveHandles();
        DeviceScope d = backend.openDeviceScope();
        d.allocate(DType.FLOAT32, 16);
        backend.close();
        assertThat(TestDouble.liveAllocations()).isEqualTo(allocs);
        assertThat(TestDouble.liveHandles()).isLessThan(handles + 1);
        d.close(); // idempotent after the backend closed it
        assertThatThrownBy(() -> d.allocate(DType.FLOAT32, 1)).isInstanceOf(IllegalStateException.class);
        assertThat(TestDouble.misuse()).isZero();
    }

    @Test
    void anEngineRunsOnBoundDeviceTensorsWithoutCopies() throws Exception {
        Path g = TestDouble.network(tmp, "affine.onnx", TestDouble.AFFINE);
        try (GraphSession s = backend.open(g, SessionOptions.defaults()); DeviceScope d = backend.openDeviceScope();
             Tensor x = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 2, 4);
             Tensor scale = Tensor.ofFloats(new float[] {3f}, 1)) {
            DeviceTensor dx = d.upload(x);
            DeviceTensor ds = d.upload(scale);
            DeviceTensor dy = d.allocate(DType.FLOAT32, 2, 4);
            long before = TestDouble.hostDeviceBytes();
            for (int i = 0; i < 3; i++) { // y = x*3 + 0.5, then fed back: state that never leaves the device
                s.run(d, Map.of("x", dx, "scale", ds), Map.of("y", dy));
                dx.copyFrom(dy, 0, 0, dy.byteSize());
            }
            assertThat(TestDouble.hostDeviceBytes() - before).as("bytes over the bus during three runs").isZero();
            try (Tensor y = Tensor.allocate(DType.FLOAT32, 2, 4)) {
                dy.copyTo(y.segment());
                float[] want = {1, 2, 3, 4, 5, 6, 7, 8};
                for (int r = 0; r < 3; r++) {
                    for (int i = 0; i < want.length; i++) {
                        want[i] = want[i] * 3 + 0.5f;
                    }
                }
                assertThat(y.toFloatArray()).containsExactly(want);
            }
            // a view binds the leading rows with a smaller dynamic batch
            DeviceTensor one = dy.view(1, 4);
            s.run(d, Map.of("x", dx.view(1, 4), "scale", ds), Map.of("y", one));
            // wrong shapes and foreign tensors are refused with the tensor's name
            assertThatThrownBy(() -> s.run(d, Map.of("x", dx, "scale", ds), Map.of("y", one)))
                    .isInstanceOf(BackendException.class).hasMessageContaining("output 'y'");
            assertThatThrownBy(() -> s.run(d, Map.of("x", dx), Map.of("y", dy)))
                    .isInstanceOf(BackendException.class).hasMessageContaining("input 'scale' is missing");
            try (DeviceScope host = DeviceScope.host()) {
                DeviceTensor hx = host.upload(x);
                assertThatThrownBy(() -> s.run(d, Map.of("x", hx, "scale", ds), Map.of("y", dy)))
                        .isInstanceOf(BackendException.class).hasMessageContaining("not a tensor of the device scope");
                // a host scope's tensors take the copying path and still work
                DeviceTensor hs = host.upload(scale);
                DeviceTensor hy = host.allocate(DType.FLOAT32, 2, 4);
                s.run(host, Map.of("x", hx, "scale", hs), Map.of("y", hy));
                assertThat(hy.host().getFloat(0)).isEqualTo(3.5f);
            }
        }
        assertThat(TestDouble.misuse()).isZero();
    }
}
