package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Marshalling and error propagation through real FFM calls into the shim's test double. */
class TrtGraphSessionTest {
    @TempDir
    Path tmp;
    private TensorRtBackend backend;

    @BeforeEach
    void start() {
        backend = (TensorRtBackend) TestDouble.provider(TestDouble.options(tmp.resolve("cache"), true, 8)).create();
    }

    @AfterEach
    void stop() {
        backend.close();
    }

    @Test
    void reportsNamesShapesAndTypesOfTheEngine() throws Exception {
        Path g = TestDouble.network(tmp, "mixed.onnx", """
                A4JFAKE
                input x 0 2 -1 4
                input scale 0 1 1
                input mask 1 3 2 -1 3
                input ids 8 1 5
                output y 0 2 -1 4 affine x scale 1
                output n 8 1 1 count mask
                """);
        try (GraphSession s = backend.open(g, SessionOptions.defaults())) {
            assertThat(s.inputs()).containsExactly(
                    new TensorSpec("x", DType.FLOAT32, new long[] {-1, 4}),
                    new TensorSpec("scale", DType.FLOAT32, new long[] {1}),
                    new TensorSpec("mask", DType.FLOAT16, new long[] {2, -1, 3}),
                    new TensorSpec("ids", DType.INT64, new long[] {5}));
            assertThat(s.outputs()).containsExactly(
                    new TensorSpec("y", DType.FLOAT32, new long[] {-1, 4}),
                    new TensorSpec("n", DType.INT64, new long[] {1}));
        }
    }

    @Test
    void runsTheEngineOnDeviceBuffersAndCopiesResultsBack() throws Exception {
        Path g = TestDouble.network(tmp, "affine.onnx", TestDouble.AFFINE);
        try (GraphSession s = backend.open(g, SessionOptions.defaults());
             Tensor x = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 3, 4);
             Tensor scale = Tensor.ofFloats(new float[] {2f}, 1)) {
            try (GraphSession.Result out = s.run(Map.of("x", x, "scale", scale), Set.of("y", "n"))) {
                Tensor y = out.get("y");
                Tensor n = out.get("n");
                assertThat(y.shape()).containsExactly(3, 4);
                assertThat(y.toFloatArray()).containsExactly(2.5f, 4.5f, 6.5f, 8.5f, 10.5f, 12.5f, 14.5f, 16.5f,
                        18.5f, 20.5f, 22.5f, 24.5f);
                assertThat(n.dtype()).isEqualTo(DType.INT64);
                assertThat(n.segment().get(java.lang.foreign.ValueLayout.JAVA_LONG, 0)).isEqualTo(12L);
            }
            // a different dynamic batch, into caller-owned outputs
            try (Tensor x2 = Tensor.ofFloats(new float[] {-1, 0, 1, 2}, 1, 4); Tensor y2 = Tensor.allocate(DType.FLOAT32, 1, 4)) {
                s.runInto(Map.of("x", x2, "scale", scale), Map.of("y", y2));
                assertThat(y2.toFloatArray()).containsExactly(-1.5f, 0.5f, 2.5f, 4.5f);
            }
        }
    }

    @Test
    void shimErrorsArriveWithTheirStatusAndMessage() throws Exception {
        Path failing = TestDouble.network(tmp, "failing.onnx", TestDouble.AFFINE + "fail kernel exploded at layer 3\n");
        try (GraphSession s = backend.open(failing, SessionOptions.defaults());
             Tensor x = Tensor.ofFloats(new float[4], 1, 4); Tensor scale = Tensor.ofFloats(new float[] {1}, 1)) {
            assertThatThrownBy(() -> s.run(Map.of("x", x, "scale", scale), Set.of("y")))
                    .isInstanceOfSatisfying(TrtStatus.TrtException.class,
                            e -> assertThat(e.status()).isEqualTo(TrtStatus.TENSORRT))
                    .hasMessageContaining("enqueue failed.onnx".replace("failed.onnx", "failing.onnx"))
                    .hasMessageContaining("kernel exploded at layer 3");
        }
        Path g = TestDouble.network(tmp, "affine.onnx", TestDouble.AFFINE);
        try (GraphSession s = backend.open(g, SessionOptions.defaults());
             Tensor big = Tensor.ofFloats(new float[9 * 4], 9, 4); Tensor scale = Tensor.ofFloats(new float[] {1}, 1)) {
            // batch 9 is beyond the profile's max of 8: the shim rejects the shape and says why
            assertThatThrownBy(() -> s.run(Map.of("x", big, "scale", scale), Set.of("y")))
                    .isInstanceOfSatisfying(TrtStatus.TrtException.class,
                            e -> assertThat(e.status()).isEqualTo(TrtStatus.INVALID_ARGUMENT))
                    .hasMessageContaining("shape [9,4] rejected for input 'x'");
            // checked in Java before any native call
            try (Tensor wrongType = Tensor.allocate(DType.FLOAT16, 1, 4)) {
                assertThatThrownBy(() -> s.run(Map.of("x", wrongType, "scale", scale), Set.of("y")))
                        .isInstanceOf(BackendException.class).hasMessageContaining("input 'x' is FLOAT16");
            }
            assertThatThrownBy(() -> s.run(Map.of("scale", scale), Set.of("y")))
                    .isInstanceOf(BackendException.class).hasMessageContaining("input 'x' is missing");
            assertThatThrownBy(() -> s.run(Map.of("x", big, "scale", scale), Set.of("nope")))
                    .isInstanceOf(BackendException.class).hasMessageContaining("no output 'nope'");
            // and the session still works afterwards
            try (Tensor x = Tensor.ofFloats(new float[] {1, 1, 1, 1}, 1, 4)) {
                try (GraphSession.Result yResult = s.run(Map.of("x", x, "scale", scale), Set.of("y"))) {
                    Tensor y = yResult.get("y");
                    assertThat(y.toFloatArray()).containsExactly(1.5f, 1.5f, 1.5f, 1.5f);
                }
            }
        }
    }

    @Test
    void buildAndDeserializeErrorsNameTheGraph() throws Exception {
        long handles = TestDouble.liveHandles();
        Path notOnnx = TestDouble.network(tmp, "garbage.onnx", "this is not a network");
        assertThatThrownBy(() -> backend.open(notOnnx, SessionOptions.defaults()))
                .isInstanceOfSatisfying(TrtStatus.TrtException.class, e -> assertThat(e.status()).isEqualTo(TrtStatus.TENSORRT))
                .hasMessageContaining("engine build for garbage.onnx")
                .hasMessageContaining("ONNX parser rejected");
        Path int32 = TestDouble.network(tmp, "int32.onnx", "A4JFAKE\ninput a 3 1 2\noutput n 8 1 1 count a\n");
        assertThatThrownBy(() -> backend.open(int32, SessionOptions.defaults()))
                .isInstanceOf(BackendException.class)
                .hasMessageContaining("tensor 'a' has TensorRT data type 3");
        assertThatThrownBy(() -> backend.open(tmp.resolve("missing.onnx"), SessionOptions.defaults()))
                .isInstanceOf(BackendException.class).hasMessageContaining("does not exist");
        assertThat(TestDouble.liveHandles()).as("failed opens free what they created").isEqualTo(handles);
    }

    @Test
    void heapTensorsAreStagedThroughNativeMemory() throws Exception {
        Path g = TestDouble.network(tmp, "affine.onnx", TestDouble.AFFINE);
        try (GraphSession s = backend.open(g, SessionOptions.defaults());
             Tensor x = Tensor.wrap(java.lang.foreign.MemorySegment.ofArray(new float[] {1, 2, 3, 4}), DType.FLOAT32, 1, 4);
             Tensor scale = Tensor.wrap(java.lang.foreign.MemorySegment.ofArray(new float[] {10}), DType.FLOAT32, 1);
             Tensor y = Tensor.wrap(java.lang.foreign.MemorySegment.ofArray(new float[4]), DType.FLOAT32, 1, 4)) {
            s.runInto(Map.of("x", x, "scale", scale), Map.of("y", y));
            assertThat(y.toFloatArray()).containsExactly(10.5f, 20.5f, 30.5f, 40.5f);
        }
    }

    @Test
    void statusCodesMapToNamedStatuses() {
        assertThat(TrtStatus.of(0)).isEqualTo(TrtStatus.OK);
        assertThat(TrtStatus.of(2)).isEqualTo(TrtStatus.CUDA);
        assertThat(TrtStatus.of(4)).isEqualTo(TrtStatus.OUT_OF_MEMORY);
        assertThat(TrtStatus.of(77)).isEqualTo(TrtStatus.UNKNOWN);
        assertThat(TrtStatus.exception("enqueue x", 77, "")).hasMessage("TensorRT enqueue x failed (UNKNOWN 77): no message");
        assertThat(TrtStatus.exception("copy", 2, "cudaErrorIllegalAddress"))
                .isInstanceOf(BackendException.class)
                .hasMessage("TensorRT copy failed (CUDA): cudaErrorIllegalAddress");
    }
}
