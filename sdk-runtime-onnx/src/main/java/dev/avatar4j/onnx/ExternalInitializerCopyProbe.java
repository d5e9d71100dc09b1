package dev.avatar4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells whether ONNX Runtime keeps its own copy of the initializers a session receives from memory
 * ({@code SessionOptions.addExternalInitializers}), so that the caller's copy may be freed once the
 * session exists.
 *
 * <p>This matters at full size: the StableAvatar DiT has 7 GB of external weights, and if both
 * copies lived as long as the session a 24 GB machine could not hold the model. ONNX Runtime 1.29 on
 * the CPU copies them (measured: a 1 GB graph takes 2.2 GB of RSS with both copies, and zeroing the
 * caller's buffer after the session is created changes no output). Its documentation, however, asks
 * callers to keep them alive, and another version or execution provider may use them in place; so
 * {@link #MEASURED} tests the runtime at hand with the same session settings, and anything but a clear
 * "copied" answer keeps the caller's memory.
 */
@FunctionalInterface
interface ExternalInitializerCopyProbe {
    /** Settings applied to the probe's session (those of the sessions it stands for). */
    @FunctionalInterface
    interface Settings {
        /** Configures {@code options}. */
        void apply(OrtSession.SessionOptions options) throws OrtException;
    }

    /**
     * Whether the runtime copies.
     *
     * @param env      the environment sessions are created in
     * @param settings the session settings to probe with
     * @return {@code true} only when the runtime was seen to copy; {@code false} when it uses the
     *         memory in place or the probe could not tell
     */
    boolean test(OrtEnvironment env, Settings settings);

    /**
     * Measures it: opens {@code Y = X + W} with {@code W} (1 MiB of ones) given from memory, then
     * overwrites that memory with zeros and runs the session; an output of ones means the session
     * computes with its own copy.
     */
    ExternalInitializerCopyProbe MEASURED = new ExternalInitializerCopyProbe() {
        private static final Logger LOG = LoggerFactory.getLogger(ExternalInitializerCopyProbe.class);
        private static final int N = 1 << 18; // large enough for any in-place threshold by size

        @Override
        public boolean test(OrtEnvironment env, Settings settings) {
            try (Arena arena = Arena.ofConfined();
                 OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                settings.apply(options);
                MemorySegment w = arena.allocate(4L * N, 64);
                for (long i = 0; i < N; i++) {
                    w.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, 1f);
                }
                try (OnnxTensor wt = OnnxTensor.createTensor(env, w.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN),
                        new long[] {N}, OnnxJavaType.FLOAT)) {
                    options.addExternalInitializers(Map.<String, OnnxTensorLike>of("W", wt));
                    try (OrtSession session = env.createSession(addModel(N), options);
                         OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.allocate(N), new long[] {1, N})) {
                        w.fill((byte) 0);
                        try (OrtSession.Result r = session.run(Map.of("X", x))) {
                            float[] y = ((float[][]) r.get(0).getValue())[0];
                            return y[0] == 1f && y[N / 2] == 1f && y[N - 1] == 1f;
                        }
                    }
                }
            } catch (OrtException | RuntimeException e) {
                LOG.debug("could not tell whether ONNX Runtime copies initializers given from memory; keeping them", e);
                return false;
            }
        }
    };

    /**
     * The ONNX model {@code Y = X + W}: {@code X} float {@code [1, n]}, {@code W} float {@code [n]}
     * declared with its data in an external file (which {@code addExternalInitializers} replaces).
     * Written as protobuf bytes (field numbers of onnx.proto), so no model file ships for the probe.
     */
    static byte[] addModel(int n) {
        byte[] external = concat(
                field(13, concat(field(1, "location"), field(2, "probe.data"))),
                field(13, concat(field(1, "offset"), field(2, "0"))),
                field(13, concat(field(1, "length"), field(2, Long.toString(4L * n)))));
        byte[] w = concat(varintField(1, n), varintField(2, 1), field(8, "W"), external, varintField(14, 1));
        byte[] node = concat(field(1, "X"), field(1, "W"), field(2, "Y"), field(4, "Add"));
        byte[] graph = concat(field(1, node), field(2, "probe"), field(5, w),
                field(11, concat(field(1, "X"), field(2, floatType(1, n)))),
                field(12, concat(field(1, "Y"), field(2, floatType(1, n)))));
        return concat(varintField(1, 8), field(7, graph), field(8, concat(field(1, ""), varintField(2, 17))));
    }

    private static byte[] floatType(long... dims) {
        ByteArrayOutputStream shape = new ByteArrayOutputStream();
        for (long d : dims) {
            shape.writeBytes(field(1, varintField(1, d)));
        }
        return field(1, concat(varintField(1, 1), field(2, shape.toByteArray())));
    }

    private static byte[] field(int number, String s) {
        return field(number, s.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] field(int number, byte[] payload) {
        return concat(varint(((long) number << 3) | 2), varint(payload.length), payload);
    }

    private static byte[] varintField(int number, long v) {
        return concat(varint((long) number << 3), varint(v));
    }

    private static byte[] varint(long v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(10);
        for (; (v & ~0x7fL) != 0; v >>>= 7) {
            out.write((int) ((v & 0x7f) | 0x80));
        }
        out.write((int) v);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
