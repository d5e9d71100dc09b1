package dev.avatar4j.testing;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Tiny real ONNX models written as protobuf bytes in Java (no Python, no protobuf library), for tests
 * of external data: {@code Y = X + W} with {@code X} float {@code [1, n]} and the initializer
 * {@code W} float {@code [n]}, kept inline or in an external file. Field numbers are onnx.proto's.
 */
public final class OnnxModels {
    private OnnxModels() {
    }

    /** A protobuf message under construction. */
    public static final class Msg {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        /** Appends a varint field. */
        public Msg varint(int field, long v) {
            tag(field, 0);
            raw(v);
            return this;
        }

        /** Appends a length-delimited field. */
        public Msg bytes(int field, byte[] b) {
            tag(field, 2);
            raw(b.length);
            out.writeBytes(b);
            return this;
        }

        /** Appends a string field. */
        public Msg string(int field, String s) {
            return bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        /** Appends a sub-message field. */
        public Msg msg(int field, Msg m) {
            return bytes(field, m.toBytes());
        }

        private void tag(int field, int wire) {
            raw(((long) field << 3) | wire);
        }

        private void raw(long v) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) ((v & 0x7f) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }

        /** The serialized message. */
        public byte[] toBytes() {
            return out.toByteArray();
        }
    }

    /** A float tensor type proto {@code [dims]}; a negative size is a symbolic one ({@code "n"}). */
    private static Msg floatType(long... dims) {
        Msg shape = new Msg();
        for (long d : dims) {
            shape.msg(1, d < 0 ? new Msg().string(2, "n") : new Msg().varint(1, d));
        }
        return new Msg().msg(1, new Msg().varint(1, 1).msg(2, shape));
    }

    /** {@code W}'s TensorProto header: name, float, dims. */
    public static Msg weightHeader(String name, int n) {
        return new Msg().varint(1, n).varint(2, 1).string(8, name);
    }

    /** An external-data entry ({@code StringStringEntryProto}). */
    public static Msg entry(String key, String value) {
        return new Msg().string(1, key).string(2, value);
    }

    /** {@code W} with its data in {@code location} at {@code offset}. */
    public static Msg externalWeight(String name, int n, String location, long offset) {
        return weightHeader(name, n).msg(13, entry("location", location)).msg(13, entry("offset", Long.toString(offset)))
                .msg(13, entry("length", Long.toString(4L * n))).varint(14, 1);
    }

    /** {@code W} with its data inline ({@code raw_data}). */
    public static Msg inlineWeight(String name, float[] w) {
        return weightHeader(name, w.length).bytes(9, le(w));
    }

    /** The model {@code Y = X + W} with the given initializer (declared output shape {@code [1, n]}). */
    public static byte[] addModel(Msg initializer, int n) {
        return addModel(initializer, n, n);
    }

    /**
     * The model {@code Y = X + W}; the output is declared {@code [1, declaredOut]}, which lets a test
     * make a graph whose output does not have the shape it declares.
     */
    public static byte[] addModel(Msg initializer, int n, int declaredOut) {
        return addModel(initializer, n, n, declaredOut);
    }

    /**
     * The model {@code Y = X + W} with {@code X} declared {@code [1, declaredIn]} (negative: symbolic)
     * and {@code Y} declared {@code [1, declaredOut]}.
     */
    public static byte[] addModel(Msg initializer, int n, int declaredIn, int declaredOut) {
        Msg node = new Msg().string(1, "X").string(1, "W").string(2, "Y").string(3, "add").string(4, "Add");
        Msg graph = new Msg().msg(1, node).string(2, "g").msg(5, initializer)
                .msg(11, new Msg().string(1, "X").msg(2, floatType(1, declaredIn)))
                .msg(12, new Msg().string(1, "Y").msg(2, floatType(1, declaredOut)));
        return new Msg().varint(1, 8).string(2, "avatar4j-test").msg(7, graph)
                .msg(8, new Msg().string(1, "").varint(2, 17)).toBytes();
    }

    /** Little-endian float32 bytes. */
    public static byte[] le(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }
}
