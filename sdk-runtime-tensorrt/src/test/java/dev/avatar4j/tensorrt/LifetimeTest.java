package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Native lifetimes: buffers reused, nothing leaked, nothing used after it was freed. */
class LifetimeTest {
    @TempDir
    Path tmp;

    @Test
    void prefersTheTensorRtGraphVariantNeverTheOnnxRuntimeOne() throws Exception {
        TestDouble.load();
        TensorRtBackend b = (TensorRtBackend) TestDouble.provider(TestDouble.options(tmp.resolve("c"), true, 8)).create();
        try {
            // com.microsoft contrib ops (the "onnxruntime" DiT variant) do not build in TensorRT
            assertThat(b.graphVariants()).containsExactly("tensorrt");
        } finally {
            b.close();
        }
    }

    @Test
    void tenThousandRunsReuseTheDeviceBuffersAndCloseFreesEverything() throws Exception {
        TestDouble.load();
        TrtLogger.handle(); // the process-wide logger lives forever; create it before counting
        long handles0 = TestDouble.liveHandles();
        long allocs0 = TestDouble.liveAllocations();
        long misuse0 = TestDouble.misuse();
        Path g = TestDouble.network(tmp, "affine.onnx", TestDouble.AFFINE);
        TensorRtBackend b = (TensorRtBackend) TestDouble.provider(TestDouble.options(tmp.resolve("c"), true, 8)).create();
        GraphSession s = b.open(g, SessionOptions.defaults());
        long allocsAfterFirst = -1;
        long bytesAfterFirst = -1;
        try (Tensor scale = Tensor.ofFloats(new float[] {2}, 1)) {
            for (int i = 0; i < 10_000; i++) {
                int batch = 1 + i % 4;
                float[] x = new float[batch * 4];
                x[x.length - 1] = i;
                try (Tensor in = Tensor.ofFloats(x, batch, 4);
                     GraphSession.Result yResult = s.run(Map.of("x", in, "scale", scale), Set.of("y"))) {
                    Tensor y = yResult.get("y");
                    assertThat(y.getFloat(x.length - 1)).isEqualTo(2f * i + 0.5f);
                }
                if (i == 3) { // every batch size seen once: buffers are at their largest
                    allocsAfterFirst = TestDouble.liveAllocations();
                    bytesAfterFirst = TestDouble.liveDeviceBytes();
                }
            }
        }
        assertThat(TestDouble.liveAllocations()).isEqualTo(allocsAfterFirst).isEqualTo(allocs0 + 4);
        assertThat(TestDouble.liveDeviceBytes()).isEqualTo(bytesAfterFirst);
        s.close();
        s.close(); // idempotent
        assertThat(TestDouble.liveAllocations()).isEqualTo(allocs0);
        assertThatThrownBy(() -> s.run(Map.of(), Set.of("y"))).isInstanceOf(BackendException.class).hasMessageContaining("closed");
        b.close();
        assertThat(TestDouble.liveHandles()).isEqualTo(handles0);
        assertThat(TestDouble.misuse()).isEqualTo(misuse0);
    }

    @Test
    void closeWhileARunIsInFlightWaitsForIt() throws Exception {
        TestDouble.load();
        long allocs0 = TestDouble.liveAllocations();
        long misuse0 = TestDouble.misuse();
        Path g = TestDouble.network(tmp, "affine.onnx", TestDouble.AFFINE);
        TensorRtBackend b = (TensorRtBackend) TestDouble.provider(TestDouble.options(tmp.resolve("c"), true, 8)).create();
        GraphSession s = b.open(g, SessionOptions.defaults());
        TestDouble.holdEnqueue(true);
        Thread closer;
        CompletableFuture<float[]> run;
        try {
            run = CompletableFuture.supplyAsync(() -> {
                try (Tensor x = Tensor.ofFloats(new float[] {1, 2, 3, 4}, 1, 4); Tensor scale = Tensor.ofFloats(new float[] {1}, 1);
                     GraphSession.Result yResult = s.run(Map.of("x", x, "scale", scale), Set.of("y"))) {
                    Tensor y = yResult.get("y");
                    return y.toFloatArray();
                }
            });
            while (TestDouble.inEnqueue() == 0) {
                if (run.isDone()) {
                    throw new AssertionError("the run ended before reaching the enqueue: " + run.join());
                }
                Thread.onSpinWait();
            }
            closer = Thread.ofPlatform().start(b::close); // closes the backend, hence the session
            while (closer.getState() != Thread.State.TIMED_WAITING && closer.getState() != Thread.State.WAITING) {
                Thread.onSpinWait();
            }
            // the closer waits: the run's buffers are still there
            assertThat(TestDouble.liveAllocations()).isGreaterThan(allocs0);
            assertThat(b.openSessions()).isEqualTo(1);
        } finally {
            TestDouble.holdEnqueue(false);
        }
        assertThat(run.get(30, TimeUnit.SECONDS)).containsExactly(1.5f, 2.5f, 3.5f, 4.5f);
        closer.join();
        assertThat(b.openSessions()).isZero();
        assertThat(TestDouble.liveAllocations()).isEqualTo(allocs0);
        assertThat(TestDouble.misuse()).isEqualTo(misuse0);
        assertThatThrownBy(() -> b.open(g, SessionOptions.defaults())).isInstanceOf(BackendException.class)
                .hasMessageContaining("closed");
    }
}
