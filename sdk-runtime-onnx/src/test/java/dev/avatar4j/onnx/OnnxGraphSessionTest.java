package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.onnxruntime.OnnxTensor;
import dev.avatar4j.BackendException;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxGraphSessionTest {
    private static OnnxBackend backend;

    @BeforeAll
    static void createBackend() {
        backend = (OnnxBackend) new OnnxBackendProvider().create();
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    private static OnnxGraphSession open(String fixture) {
        return (OnnxGraphSession) backend.open(Fixtures.path(fixture), SessionOptions.defaults());
    }

    @Test
    void prefersTheOnnxRuntimeGraphVariant() {
        // a bundle's "onnxruntime" variant (e.g. the DiT with com.microsoft::MultiHeadAttention) is what this backend loads
        assertThat(backend.graphVariants()).containsExactly("onnxruntime");
    }

    // --- signatures ------------------------------------------------------------------------------

    @Test
    void signaturesComeFromTheGraph() {
        try (GraphSession s = open("add_scale.onnx")) {
            assertThat(s.inputs()).containsExactly(
                    new TensorSpec("x", DType.FLOAT32, new long[] {-1, 3}),
                    new TensorSpec("k", DType.INT64, new long[] {2}));
            assertThat(s.outputs()).containsExactly(
                    new TensorSpec("y", DType.FLOAT32, new long[] {-1, 3}),
                    new TensorSpec("k2", DType.INT64, new long[] {2}));
            assertThat(s.isThreadSafe()).isTrue();
        }
        try (GraphSession s = open("f16_identity.onnx")) {
            assertThat(s.inputs()).containsExactly(new TensorSpec("h", DType.FLOAT16, new long[] {-1, 4}));
            assertThat(s.outputs()).containsExactly(new TensorSpec("h_out", DType.FLOAT16, new long[] {-1, 4}));
        }
        try (GraphSession s = open("fixed_shape.onnx")) {
            assertThat(s.inputs()).containsExactly(new TensorSpec("v", DType.FLOAT32, new long[] {1, 4}));
            assertThat(s.inputs().getFirst().shapeString()).isEqualTo("[1,4]");
        }
    }

    @Test
    void unsupportedElementTypeFailsAtOpenNamingGraphAndTensor() {
        assertThatThrownBy(() -> open("int32_input.onnx"))
                .isInstanceOf(BackendException.class)
                .hasMessageContaining("int32_input.onnx")
                .hasMessageContaining("'i'")
                .hasMessageContaining("INT32");
    }

    @Test
    void corruptGraphFailsAtOpenWithFileNameAndOrtCode(@TempDir Path dir) throws IOException {
        Path bad = Files.write(dir.resolve("broken.onnx"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        assertThatThrownBy(() -> backend.open(bad, SessionOptions.defaults()))
                .isInstanceOf(BackendException.class)
                .hasMessageContaining("broken.onnx")
                .hasMessageMatching("(?s).*\\(ORT_[A-Z_]+\\).*");
    }

    @Test
    void intraOpThreadsAreAccepted() {
        try (GraphSession s = backend.open(Fixtures.path("add_scale.onnx"), new SessionOptions(2, false));
                Tensor x = Tensor.ofFloats(new float[] {1, 2, 3}, 1, 3);
                Tensor k = Tensor.ofLongs(new long[] {1, 2}, 2)) {
            GraphSession.Result out = s.run(Map.of("x", x, "k", k), Set.of("y"));
            assertThat(out.get("y").toFloatArray()).containsExactly(3, 5, 7);
            out.close();
        }
    }

    // --- running ---------------------------------------------------------------------------------

    @Test
    void runsFloat32AndInt64() {
        try (GraphSession s = open("add_scale.onnx");
                Tensor x = Tensor.ofFloats(new float[] {0, 1, 2, -3, 4.5f, 100}, 2, 3);
                Tensor k = Tensor.ofLongs(new long[] {41, Long.MAX_VALUE - 1}, 2)) {
            GraphSession.Result out = s.run(Map.of("x", x, "k", k), Set.of("y", "k2"));
            Tensor y = out.get("y");
            try {
                assertThat(out.names()).containsExactlyInAnyOrder("y", "k2");
                assertThat(y.dtype()).isEqualTo(DType.FLOAT32);
                assertThat(y.shape()).containsExactly(2, 3);
                assertThat(y.ownsMemory()).as("owned by the result, not by the tensor").isFalse();
                assertThat(y.toFloatArray()).containsExactly(1, 3, 5, -5, 10, 201);
                Tensor k2 = out.get("k2");
                assertThat(k2.dtype()).isEqualTo(DType.INT64);
                assertThat(k2.segment().toArray(ValueLayout.JAVA_LONG)).containsExactly(42, Long.MAX_VALUE);
            } finally {
                out.close();
            }
            // closing the result freed the outputs: touching them fails instead of reading freed memory
            assertThatThrownBy(() -> y.getFloat(0)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void returnsOnlyTheRequestedOutputs() {
        try (GraphSession s = open("add_scale.onnx");
                Tensor x = Tensor.ofFloats(new float[] {1, 1, 1}, 1, 3);
                Tensor k = Tensor.ofLongs(new long[] {7, 8}, 2)) {
            GraphSession.Result out = s.run(Map.of("x", x, "k", k), Set.of("k2"));
            assertThat(out.names()).containsExactlyInAnyOrder("k2");
            assertThat(out.get("k2").segment().toArray(ValueLayout.JAVA_LONG)).containsExactly(8, 9);
            out.close();
        }
    }

    @Test
    void runsFloat16() {
        float[] values = {0f, 1f, -2.5f, 65504f, 0.000061035156f, 3.140625f, -0.5f, 1024f};
        try (GraphSession s = open("f16_identity.onnx"); Tensor h = Tensor.allocate(DType.FLOAT16, 2, 4)) {
            for (int i = 0; i < values.length; i++) {
                h.setFloat(i, values[i]);
            }
            GraphSession.Result out = s.run(Map.of("h", h), Set.of("h_out"));
            Tensor o = out.get("h_out");
            assertThat(o.dtype()).isEqualTo(DType.FLOAT16);
            assertThat(o.shape()).containsExactly(2, 4);
            assertThat(o.toFloatArray()).containsExactly(values);
            assertThat(o.segment().mismatch(h.segment())).isEqualTo(-1L); // bit-identical
            out.close();
        }
    }

    @Test
    void runsAFixedShapeGraph() {
        try (GraphSession s = open("fixed_shape.onnx"); Tensor v = Tensor.ofFloats(new float[] {1, -2, 3, 0.5f}, 1, 4)) {
            GraphSession.Result out = s.run(Map.of("v", v), Set.of("w"));
            assertThat(out.get("w").toFloatArray()).containsExactly(1, 4, 9, 0.25f);
            out.close();
        }
    }

    @Test
    void emptyBatchRuns() {
        try (GraphSession s = open("add_scale.onnx");
                Tensor x = Tensor.allocate(DType.FLOAT32, 0, 3);
                Tensor k = Tensor.ofLongs(new long[] {1, 2}, 2)) {
            GraphSession.Result out = s.run(Map.of("x", x, "k", k), Set.of("y", "k2"));
            assertThat(out.get("y").shape()).containsExactly(0, 3);
            out.close();
        }
    }

    // --- zero copy -------------------------------------------------------------------------------

    @Test
    void inputsAreWrappedWithoutCopying() throws Exception {
        try (OnnxGraphSession s = open("add_scale.onnx"); Tensor x = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3)) {
            try (OnnxTensor ot = s.wrap(x)) {
                // ORT Java keeps a direct buffer as the OrtValue's memory and does not own a copy.
                assertThat(ot.ownsBuffer()).isFalse();
                Buffer ref = ot.getBufferRef().orElseThrow();
                assertThat(ref.isDirect()).isTrue();
                assertThat(MemorySegment.ofBuffer(ref).address()).isEqualTo(x.segment().address());
                // ...and reads see writes made through the tensor after wrapping: it is the same memory.
                x.setFloat(0, 42f);
                assertThat(ot.getFloatBuffer().get(0)).isEqualTo(42f);
            }
            // Closing the OnnxTensor did not free the caller's memory.
            assertThat(x.getFloat(0)).isEqualTo(42f);
        }
    }

    @Test
    void outputsAreReadFromNativeMemoryDirectly() {
        assertThat(OrtBuffers.directOutputAccess())
                .as("OnnxTensor.getBuffer() reachable: run() copies each output once")
                .isTrue();
    }

    @Test
    void runIntoWritesIntoTheCallersTensors() {
        try (GraphSession s = open("add_scale.onnx");
                Tensor x = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
                Tensor k = Tensor.ofLongs(new long[] {10, 20}, 2);
                Tensor y = Tensor.allocate(DType.FLOAT32, 2, 3);
                Tensor k2 = Tensor.allocate(DType.INT64, 2)) {
            long yAddress = y.segment().address();
            s.runInto(Map.of("x", x, "k", k), Map.of("y", y, "k2", k2));
            assertThat(y.segment().address()).isEqualTo(yAddress);
            assertThat(y.toFloatArray()).containsExactly(3, 5, 7, 9, 11, 13);
            assertThat(k2.segment().toArray(ValueLayout.JAVA_LONG)).containsExactly(11, 21);

            // Only some outputs, into a view of a larger caller-owned block.
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment block = arena.allocate(64 + 2 * 8, 8);
                block.fill((byte) 0x7f);
                Tensor view = Tensor.wrap(block.asSlice(64), DType.INT64, 2);
                s.runInto(Map.of("x", x, "k", k), Map.of("k2", view));
                assertThat(block.asSlice(64).toArray(ValueLayout.JAVA_LONG)).containsExactly(11, 21);
                assertThat(block.get(ValueLayout.JAVA_BYTE, 63)).isEqualTo((byte) 0x7f); // nothing written before it
            }
        }
    }

    @Test
    void readOnlyAndHeapTensorsWork() {
        try (GraphSession s = open("add_scale.onnx");
                Tensor x = Tensor.ofFloats(new float[] {1, 2, 3}, 1, 3);
                Tensor k = Tensor.ofLongs(new long[] {5, 6}, 2)) {
            // A read-only view (e.g. a tensor mapped from a bundle file) is still passed zero-copy.
            Tensor xReadOnly = Tensor.wrap(x.segment().asReadOnly(), DType.FLOAT32, 1, 3);
            // Heap-backed tensors: ORT copies inputs; outputs go through the copying default runInto.
            float[] yHeap = new float[3];
            Tensor yView = Tensor.wrap(MemorySegment.ofArray(yHeap), DType.FLOAT32, 1, 3);
            long[] kHeap = {0, 0};
            Tensor kIn = Tensor.wrap(MemorySegment.ofArray(new long[] {5, 6}), DType.INT64, 2);
            Tensor k2View = Tensor.wrap(MemorySegment.ofArray(kHeap), DType.INT64, 2);
            s.runInto(Map.of("x", xReadOnly, "k", kIn), Map.of("y", yView, "k2", k2View));
            assertThat(yHeap).containsExactly(3, 5, 7);
            assertThat(kHeap).containsExactly(6, 7);
            GraphSession.Result out = s.run(Map.of("x", xReadOnly, "k", k), Set.of("y"));
            assertThat(out.get("y").toFloatArray()).containsExactly(3, 5, 7);
            out.close();
        }
    }

    @Test
    void runIntoFloat16() {
        try (GraphSession s = open("f16_identity.onnx");
                Tensor h = Tensor.allocate(DType.FLOAT16, 1, 4);
                Tensor o = Tensor.allocate(DType.FLOAT16, 1, 4)) {
            for (int i = 0; i < 4; i++) {
                h.setFloat(i, i * 0.25f - 1);
            }
            s.runInto(Map.of("h", h), Map.of("h_out", o));
            assertThat(o.toFloatArray()).containsExactly(-1f, -0.75f, -0.5f, -0.25f);
        }
    }

    @Test
    void runIntoRejectsBadOutputs() {
        try (GraphSession s = open("add_scale.onnx");
                Tensor x = Tensor.ofFloats(new float[] {1, 2, 3}, 1, 3);
                Tensor k = Tensor.ofLongs(new long[] {1, 2}, 2);
                Tensor wrongRank = Tensor.allocate(DType.FLOAT32, 3);
                Tensor wrongBatch = Tensor.allocate(DType.FLOAT32, 2, 3);
                Tensor wrongType = Tensor.allocate(DType.FLOAT32, 2)) {
            Map<String, Tensor> in = Map.of("x", x, "k", k);
            assertThatThrownBy(() -> s.runInto(in, Map.of("y", wrongRank)))
                    .isInstanceOf(BackendException.class).hasMessageContaining("'y'").hasMessageContaining("[?,3]");
            assertThatThrownBy(() -> s.runInto(in, Map.of("k2", wrongType)))
                    .isInstanceOf(BackendException.class).hasMessageContaining("'k2'").hasMessageContaining("INT64");
            assertThatThrownBy(() -> s.runInto(in, Map.of("nope", wrongRank)))
                    .isInstanceOf(BackendException.class).hasMessageContaining("'nope'");
            // The spec accepts any batch, but the run makes 1 row: ONNX Runtime refuses the pinned output.
            assertThatThrownBy(() -> s.runInto(in, Map.of("y", wrongBatch)))
                    .isInstanceOf(BackendException.class).hasMessageContaining("add_scale.onnx").hasMessageContaining("ORT_");
            // The session is still usable afterwards.
            try (Tensor y = Tensor.allocate(DType.FLOAT32, 1, 3)) {
                s.runInto(in, Map.of("y", y));
                assertThat(y.toFloatArray()).containsExactly(3, 5, 7);
            }
        }
    }

    // --- validation ------------------------------------------------------------------------------

    @Test
    void badInputsAreRejectedNamingTheInput() {
        try (GraphSession s = open("add_scale.onnx");
                Tensor x = Tensor.ofFloats(new float[] {1, 2, 3}, 1, 3);
                Tensor x24 = Tensor.allocate(DType.FLOAT32, 2, 4);
                Tensor k = Tensor.ofLongs(new long[] {1, 2}, 2);
                Tensor kFloat = Tensor.ofFloats(new float[] {1, 2}, 2);
                Tensor k3 = Tensor.ofLongs(new long[] {1, 2, 3}, 3)) {
            Set<String> y = Set.of("y");
            assertThatThrownBy(() -> s.run(Map.of("x", x24, "k", k), y))
                    .isInstanceOf(BackendException.class)
                    .hasMessageContaining("'x'").hasMessageContaining("add_scale.onnx")
                    .hasMessageContaining("[2,4]").hasMessageContaining("[?,3]");
            assertThatThrownBy(() -> s.run(Map.of("x", x, "k", k3), y))
                    .isInstanceOf(BackendException.class).hasMessageContaining("'k'").hasMessageContaining("[3]")
                    .hasMessageContaining("[2]");
            assertThatThrownBy(() -> s.run(Map.of("x", x), y))
                    .isInstanceOf(BackendException.class).hasMessageContaining("missing input 'k'")
                    .hasMessageContaining("INT64[2]");
            assertThatThrownBy(() -> s.run(Map.of("x", x, "k", k, "z", k), y))
                    .isInstanceOf(BackendException.class).hasMessageContaining("no input 'z'")
                    .hasMessageContaining("x, k");
            assertThatThrownBy(() -> s.run(Map.of("x", x, "k", kFloat), y))
                    .isInstanceOf(BackendException.class).hasMessageContaining("'k'")
                    .hasMessageContaining("FLOAT32").hasMessageContaining("expected INT64");
            assertThatThrownBy(() -> s.run(Map.of("x", x, "k", k), Set.of("nope")))
                    .isInstanceOf(BackendException.class).hasMessageContaining("no output 'nope'")
                    .hasMessageContaining("y, k2");
            assertThatThrownBy(() -> s.run(Map.of("x", x, "k", k), Set.of()))
                    .isInstanceOf(BackendException.class).hasMessageContaining("no outputs");
        }
        try (GraphSession s = open("fixed_shape.onnx"); Tensor v = Tensor.allocate(DType.FLOAT32, 2, 4)) {
            assertThatThrownBy(() -> s.run(Map.of("v", v), Set.of("w")))
                    .isInstanceOf(BackendException.class).hasMessageContaining("'v'")
                    .hasMessageContaining("fixed_shape.onnx").hasMessageContaining("[2,4]").hasMessageContaining("[1,4]");
        }
    }

    // --- concurrency and close -------------------------------------------------------------------

    @Test
    void concurrentRunsFromEightThreadsAreCorrect() throws Exception {
        int threads = 8;
        int runs = 200;
        try (GraphSession s = open("add_scale.onnx"); ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Integer>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                futures.add(pool.submit(() -> {
                    start.await();
                    int ok = 0;
                    for (int r = 0; r < runs; r++) {
                        int rows = 1 + (id + r) % 5;
                        float[] xs = new float[rows * 3];
                        for (int i = 0; i < xs.length; i++) {
                            xs[i] = id * 1000 + r + i * 0.5f;
                        }
                        try (Tensor x = Tensor.ofFloats(xs, rows, 3); Tensor k = Tensor.ofLongs(new long[] {id, r}, 2)) {
                            if (r % 2 == 0) {
                                GraphSession.Result out = s.run(Map.of("x", x, "k", k), Set.of("y", "k2"));
                                try {
                                    check(xs, out.get("y").toFloatArray(), out.get("k2"), id, r);
                                } finally {
                                    out.close();
                                }
                            } else {
                                try (Tensor y = Tensor.allocate(DType.FLOAT32, rows, 3); Tensor k2 = Tensor.allocate(DType.INT64, 2)) {
                                    s.runInto(Map.of("x", x, "k", k), Map.of("y", y, "k2", k2));
                                    check(xs, y.toFloatArray(), k2, id, r);
                                }
                            }
                        }
                        ok++;
                    }
                    return ok;
                }));
            }
            start.countDown();
            for (Future<Integer> f : futures) {
                assertThat(f.get(120, TimeUnit.SECONDS)).isEqualTo(runs);
            }
        }
    }

    private static void check(float[] xs, float[] ys, Tensor k2, int id, int r) {
        assertThat(ys).hasSize(xs.length);
        for (int i = 0; i < xs.length; i++) {
            assertThat(ys[i]).isCloseTo(xs[i] * 2 + 1, within(1e-3f));
        }
        assertThat(k2.segment().toArray(ValueLayout.JAVA_LONG)).containsExactly(id + 1, r + 1);
    }

    @Test
    void closeWhileFourThreadsRunWaitsOrFailsThemCleanly() throws Exception {
        int size = 384;
        GraphSession s = backend.open(Fixtures.path("slow_chain.onnx"), new SessionOptions(1, false));
        AtomicInteger completed = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger started = new AtomicInteger();
        ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
        float[] values = new float[size * size];
        for (int i = 0; i < values.length; i++) {
            values[i] = ((i * 7919) % 101 - 50) / 5000f;
        }
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            workers.add(Thread.ofPlatform().name("runner-" + t).start(() -> {
                try (Tensor a = Tensor.ofFloats(values, size, size)) {
                    while (true) {
                        started.incrementAndGet();
                        GraphSession.Result out;
                        try {
                            out = s.run(Map.of("a", a), Set.of("out"));
                        } catch (BackendException e) {
                            if (e.getMessage().contains("closed")) {
                                refused.incrementAndGet();
                                return;
                            }
                            throw e;
                        }
                        try {
                            assertThat(out.get("out").shape()).containsExactly(size, size);
                            completed.incrementAndGet();
                        } finally {
                            out.close();
                        }
                    }
                } catch (Throwable e) {
                    unexpected.add(e);
                }
            }));
        }
        // Let every worker get into a native run, then close under their feet.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (started.get() < 8 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        int inFlightAtClose = ((OnnxGraphSession) s).inFlight();
        s.close();
        for (Thread w : workers) {
            w.join(60_000);
            assertThat(w.isAlive()).isFalse();
        }
        assertThat(unexpected).isEmpty();
        assertThat(refused).as("every worker eventually sees the session closed").hasValue(4);
        assertThat(completed.get()).isGreaterThan(0);
        assertThat(inFlightAtClose).as("runs were in flight when close() was called").isGreaterThan(0);

        try (Tensor a = Tensor.ofFloats(values, size, size)) {
            assertThatThrownBy(() -> s.run(Map.of("a", a), Set.of("out")))
                    .isInstanceOf(BackendException.class).hasMessageContaining("slow_chain.onnx").hasMessageContaining("closed");
            try (Tensor out = Tensor.allocate(DType.FLOAT32, size, size)) {
                assertThatThrownBy(() -> s.runInto(Map.of("a", a), Map.of("out", out)))
                        .isInstanceOf(BackendException.class).hasMessageContaining("closed");
            }
        }
        s.close(); // idempotent
    }

    @Test
    void inputBufferIsDirectAndNativeOrdered() {
        try (Tensor x = Tensor.ofFloats(new float[] {1, 2}, 2)) {
            ByteBuffer b = x.asByteBuffer();
            assertThat(b.isDirect()).isTrue();
            assertThat(b.order()).isEqualTo(java.nio.ByteOrder.nativeOrder());
            assertThat(b.remaining()).isEqualTo(8);
        }
    }
}
