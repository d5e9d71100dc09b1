package dev.avatar4j.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The initializer (weight) shapes of an ONNX file, read straight from its protobuf encoding
 * (ModelProto.graph = 7, GraphProto.initializer = 5, TensorProto.dims = 1, TensorProto.name = 8):
 * enough to count a graph's parameters and find its width for {@link DitFlops}, without a protobuf
 * dependency. Weights stored as external data are counted the same way (their dims are inline).
 */
final class OnnxStats {
    /** One initializer. */
    record Initializer(String name, long[] dims) {
        long elements() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }
    }

    private OnnxStats() {
    }

    static List<Initializer> initializers(Path onnx) throws IOException {
        ByteBuffer b;
        try (FileChannel ch = FileChannel.open(onnx, StandardOpenOption.READ)) {
            b = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
        }
        List<Initializer> out = new ArrayList<>();
        forEachField(b, (field, wire, value) -> {
            if (field == 7 && wire == 2) { // graph
                forEachField(value, (gf, gw, gv) -> {
                    if (gf == 5 && gw == 2) { // initializer
                        out.add(tensor(gv));
                    }
                });
            }
        });
        return out;
    }

    static long parameters(Path onnx) throws IOException {
        return initializers(onnx).stream().mapToLong(Initializer::elements).sum();
    }

    private static Initializer tensor(ByteBuffer t) {
        List<Long> dims = new ArrayList<>();
        String[] name = {""};
        forEachField(t, (f, w, v) -> {
            if (f == 1 && w == 0) {
                dims.add(v.getLong(0));
            } else if (f == 1 && w == 2) { // packed
                while (v.hasRemaining()) {
                    dims.add(varint(v));
                }
            } else if (f == 8 && w == 2) {
                byte[] s = new byte[v.remaining()];
                v.get(s);
                name[0] = new String(s, StandardCharsets.UTF_8);
            }
        });
        return new Initializer(name[0], dims.stream().mapToLong(Long::longValue).toArray());
    }

    /** Receives a field: for varints the value is an 8-byte buffer holding it, for length-delimited ones a slice. */
    private interface FieldVisitor {
        void field(int number, int wire, ByteBuffer value);
    }

    private static void forEachField(ByteBuffer msg, FieldVisitor v) {
        ByteBuffer b = msg.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            long key = varint(b);
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            switch (wire) {
                case 0 -> {
                    long x = varint(b);
                    v.field(field, 0, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, x));
                }
                case 1 -> b.position(b.position() + 8);
                case 2 -> {
                    int len = Math.toIntExact(varint(b));
                    ByteBuffer slice = b.slice(b.position(), len).order(ByteOrder.LITTLE_ENDIAN);
                    b.position(b.position() + len);
                    v.field(field, 2, slice);
                }
                case 5 -> b.position(b.position() + 4);
                default -> throw new IllegalArgumentException("unsupported protobuf wire type " + wire);
            }
        }
    }

    private static long varint(ByteBuffer b) {
        long r = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte x = b.get();
            r |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) {
                return r;
            }
        }
        throw new IllegalArgumentException("malformed varint");
    }
}
