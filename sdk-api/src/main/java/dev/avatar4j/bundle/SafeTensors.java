package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Reads one tensor from a safetensors file (8-byte little-endian header length, JSON header,
 * raw little-endian data). Only F32 and F16 are accepted; the declared element count is capped at
 * 2^31 and offsets and sizes are checked against the file before anything is read or allocated,
 * since bundle files are untrusted.
 */
public final class SafeTensors {
    private static final long MAX_HEADER = 1 << 20;
    /** Tensors declaring more elements than this (2^31) are refused before anything is allocated. */
    static final long MAX_ELEMENTS = 1L << 31;

    private SafeTensors() {
    }

    /** Reads tensor {@code name} from {@code file} as a float32 tensor owned by the caller. */
    public static Tensor readFloat32(Path file, String name) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            long size = ch.size();
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            if (size < 8) {
                throw bad(file, "too short");
            }
            long headerLen = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw bad(file, "invalid header length " + headerLen);
            }
            byte[] header = all.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            Map<String, Object> json;
            try {
                json = BundleManifest.parseObject("the header of safetensors file " + file, header);
            } catch (BundleException e) {
                throw new BundleException(e.getMessage()); // no parser detail, no file content
            }
            if (!(json.get(name) instanceof Map<?, ?> entry)) {
                throw bad(file, "has no tensor \"" + name + "\"");
            }
            String dtype = String.valueOf(entry.get("dtype"));
            DType dt = switch (dtype) {
                case "F32" -> DType.FLOAT32;
                case "F16" -> DType.FLOAT16;
                default -> throw bad(file, "tensor \"" + name + "\" has unsupported dtype " + dtype);
            };
            long[] shape = longs(file, entry.get("shape"));
            long[] offsets = longs(file, entry.get("data_offsets"));
            long dataStart = 8 + headerLen;
            long count;
            long bytes;
            try {
                count = Tensor.elementCount(shape);
                bytes = Math.multiplyExact(count, dt.byteSize());
            } catch (ArithmeticException e) {
                throw bad(file, "tensor \"" + name + "\" has an impossibly large shape");
            }
            if (count > MAX_ELEMENTS) {
                throw bad(file, "tensor \"" + name + "\" declares " + count + " elements, more than the limit of "
                        + MAX_ELEMENTS);
            }
            // compare against the bytes left after the header, so that no sum can overflow
            if (offsets.length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] - offsets[0] != bytes
                    || offsets[1] > size - dataStart) {
                throw bad(file, "tensor \"" + name + "\" has inconsistent data offsets");
            }
            MemorySegment data = all.asSlice(dataStart + offsets[0], offsets[1] - offsets[0]);
            Tensor out = Tensor.allocate(DType.FLOAT32, shape);
            for (long i = 0; i < count; i++) {
                float v = dt == DType.FLOAT32
                        ? data.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i * 4)
                        : Float.float16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i * 2));
                out.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            }
            return out;
        } catch (IOException e) {
            throw new BundleException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static long[] longs(Path file, Object o) {
        if (!(o instanceof List<?> l)) {
            throw bad(file, "has a malformed header");
        }
        long[] out = new long[l.size()];
        for (int i = 0; i < out.length; i++) {
            // only integers that fit a long: a BigInteger (>= 2^63) would wrap and a double truncate
            Object v = l.get(i);
            if (!(v instanceof Integer || v instanceof Long) || ((Number) v).longValue() < 0) {
                throw bad(file, "has a malformed header (shapes and offsets must be non-negative 64-bit integers)");
            }
            out[i] = ((Number) v).longValue();
        }
        return out;
    }

    private static BundleException bad(Path file, String what) {
        return new BundleException("safetensors file " + file + " " + what);
    }
}
