package dev.avatar4j.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.avatar4j.BundleException;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SafeTensors} reads F32/F16 and refuses every malformed file with a BundleException naming it. */
class SafeTensorsTest {
    @TempDir
    Path tmp;

    /** A safetensors file: 8-byte LE header length, the header (padded to 8), then {@code data}. */
    static byte[] file(String header, byte[] data) {
        StringBuilder h = new StringBuilder(header);
        while (h.length() % 8 != 0) {
            h.append(' ');
        }
        byte[] hb = h.toString().getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + hb.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(hb.length).put(hb).put(data).array();
    }

    static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    static byte[] f16(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putShort(Float.floatToFloat16(x));
        }
        return b.array();
    }

    static String entry(String name, String dtype, String shape, long from, long to) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + from + ","
                + to + "]}";
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(tmp.resolve(name), bytes);
    }

    private void assertRefused(Path file, String name, String... fragments) {
        var a = assertThatThrownBy(() -> SafeTensors.readFloat32(file, name).close())
                .isInstanceOf(BundleException.class).hasMessageContaining(file.toString());
        for (String f : fragments) {
            a.hasMessageContaining(f);
        }
    }

    // ---------------------------------------------------------------- reading

    @Test
    void readsFloat32() throws IOException {
        float[] values = {0f, 1.5f, -2.25f, 3e-8f, Float.MAX_VALUE, -0f};
        Path f = write("a.safetensors", file("{" + entry("w", "F32", "[2,3]", 0, 24) + "}", f32(values)));
        try (Tensor t = SafeTensors.readFloat32(f, "w")) {
            assertThat(t.dtype()).isEqualTo(DType.FLOAT32);
            assertThat(t.shape()).containsExactly(2, 3);
            assertThat(t.toFloatArray()).containsExactly(values);
        }
    }

    @Test
    void readsFloat16WrittenByHand() throws IOException {
        // bit patterns written by hand: 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800, 65504 = 0x7BFF,
        // smallest subnormal 2^-24 = 0x0001, 1/3 ≈ 0x3555 = 0.333251953125
        short[] bits = {0x3C00, (short) 0xC000, 0x3800, 0x7BFF, 0x0001, 0x3555};
        float[] expected = {1f, -2f, 0.5f, 65504f, 0x1.0p-24f, 0.333251953125f};
        ByteBuffer data = ByteBuffer.allocate(bits.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : bits) {
            data.putShort(s);
        }
        Path f = write("h.safetensors", file("{" + entry("h", "F16", "[3,2]", 0, 12) + "}", data.array()));
        try (Tensor t = SafeTensors.readFloat32(f, "h")) {
            assertThat(t.dtype()).isEqualTo(DType.FLOAT32);
            assertThat(t.shape()).containsExactly(3, 2);
            assertThat(t.toFloatArray()).containsExactly(expected);
        }
    }

    @Test
    void readsOneTensorAmongSeveralAtItsOffset() throws IOException {
        byte[] a = f32(1, 2, 3, 4);
        byte[] b = f16(5, 6, 7);
        byte[] data = new byte[a.length + b.length];
        System.arraycopy(a, 0, data, 0, a.length);
        System.arraycopy(b, 0, data, a.length, b.length);
        String header = "{\"__metadata__\":{\"format\":\"pt\"}," + entry("a", "F32", "[4]", 0, 16) + ","
                + entry("b", "F16", "[1,3]", 16, 22) + "}";
        Path f = write("multi.safetensors", file(header, data));
        try (Tensor t = SafeTensors.readFloat32(f, "b")) {
            assertThat(t.shape()).containsExactly(1, 3);
            assertThat(t.toFloatArray()).containsExactly(5, 6, 7);
        }
        try (Tensor t = SafeTensors.readFloat32(f, "a")) {
            assertThat(t.toFloatArray()).containsExactly(1, 2, 3, 4);
        }
    }

    @Test
    void readsTheFakeBundleTensor() throws IOException {
        Path f = tmp.resolve("t.safetensors");
        dev.avatar4j.testing.FakeBundles.writeTensor(f, 3, 8, 0.5f);
        try (Tensor t = SafeTensors.readFloat32(f, "embeddings")) {
            assertThat(t.shape()).containsExactly(3, 8);
            assertThat(t.getFloat(0)).isEqualTo(-1f);
            assertThat(t.getFloat(4)).isEqualTo(1f);
        }
    }

    // ---------------------------------------------------------------- refusing

    @Test
    void truncatedData() throws IOException {
        byte[] full = file("{" + entry("w", "F32", "[2,3]", 0, 24) + "}", f32(1, 2, 3, 4, 5, 6));
        Path f = write("trunc.safetensors", Arrays.copyOf(full, full.length - 12));
        assertRefused(f, "w", "\"w\"", "inconsistent data offsets");
        Path f1 = write("trunc1.safetensors", Arrays.copyOf(full, full.length - 1));
        assertRefused(f1, "w", "inconsistent data offsets");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        byte[] good = file("{" + entry("w", "F32", "[1]", 0, 4) + "}", f32(1));
        for (long len : new long[] {good.length, good.length - 7, 1L << 19}) {
            byte[] b = good.clone();
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, len);
            assertRefused(write("len" + len + ".safetensors", b), "w", "invalid header length " + len);
        }
    }

    @Test
    void headerLengthZeroNegativeOrHuge() throws IOException {
        byte[] good = file("{" + entry("w", "F32", "[1]", 0, 4) + "}", f32(1));
        for (long len : new long[] {0, -1, Long.MIN_VALUE, (1L << 20) + 1, Long.MAX_VALUE}) {
            byte[] b = good.clone();
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, len);
            assertRefused(write("len.safetensors", b), "w", "invalid header length");
        }
    }

    @Test
    void tooShortAndEmptyFiles() throws IOException {
        assertRefused(write("empty.safetensors", new byte[0]), "w", "too short");
        assertRefused(write("short.safetensors", new byte[] {8, 0, 0}), "w", "too short");
    }

    @Test
    void missingFile() {
        Path f = tmp.resolve("absent.safetensors");
        assertRefused(f, "w");
    }

    @Test
    void aDirectoryInsteadOfAFile() throws IOException {
        Path d = Files.createDirectory(tmp.resolve("dir.safetensors"));
        assertRefused(d, "w");
    }

    @Test
    void wrongDtype() throws IOException {
        for (String dtype : List.of("F64", "BF16", "I64", "U8", "BOOL", "f32")) {
            int size = dtype.equals("F64") || dtype.equals("I64") ? 8 : dtype.equals("BF16") ? 2 : dtype.equals("f32") ? 4 : 1;
            Path f = write("d.safetensors", file("{" + entry("w", dtype, "[2]", 0, 2L * size) + "}", new byte[2 * size]));
            assertRefused(f, "w", "unsupported dtype", dtype);
        }
        Path f = write("nodtype.safetensors", file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", f32(1)));
        assertRefused(f, "w", "unsupported dtype");
    }

    @Test
    void offsetsInconsistentWithTheShape() throws IOException {
        byte[] data = f32(1, 2, 3, 4, 5, 6, 7, 8);
        String[][] cases = {
            {"[2,3]", "0", "20"}, // 5 floats for 6
            {"[2,3]", "0", "28"}, // 7 floats for 6
            {"[2,3]", "24", "0"}, // reversed
            {"[2,3]", "16", "40"}, // right size, past the end
            {"[4]", "2", "14"},   // misaligned is fine for the size, but 12 != 16
        };
        for (String[] c : cases) {
            Path f = write("o.safetensors", file("{" + entry("w", "F32", c[0], Long.parseLong(c[1]),
                    Long.parseLong(c[2])) + "}", data));
            assertRefused(f, "w", "inconsistent data offsets");
        }
        Path f = write("o1.safetensors", file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", data));
        assertRefused(f, "w", "inconsistent data offsets");
    }

    @Test
    void offsetsThatWrapOrHaveFractionsAreRefused() throws IOException {
        // 2^64 + 0 and 2^64 + 4 wrapped to [0, 4] (and 4.9 truncated to 4), which read the tensor from
        // bytes the header never pointed at
        for (String offsets : List.of("[18446744073709551616,18446744073709551620]", "[0,18446744073709551620]",
                "[0,4.9]", "[0.5,4]", "[0,4e0]", "[0,9223372036854775808]")) {
            Path f = write("wrap.safetensors", file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":"
                    + offsets + "}}", f32(1)));
            assertRefused(f, "w", "malformed header");
        }
        Path f = write("shape.safetensors", file("{\"w\":{\"dtype\":\"F32\",\"shape\":[18446744073709551617],"
                + "\"data_offsets\":[0,4]}}", f32(1)));
        assertRefused(f, "w", "malformed header");
    }

    @Test
    void aHeaderThatIsNotJsonIsRefusedWithoutEchoingIt() throws IOException {
        Path f = write("secret.safetensors", file("sk_live_SECRET", f32(1)));
        assertThatThrownBy(() -> SafeTensors.readFloat32(f, "w").close()).isInstanceOf(BundleException.class)
                .hasMessageContaining("not valid JSON").hasMessageNotContaining("sk_live");
        Path g = write("trailing.safetensors", file("{" + entry("w", "F32", "[1]", 0, 4) + "} x", f32(1)));
        assertThatThrownBy(() -> SafeTensors.readFloat32(g, "w").close()).isInstanceOf(BundleException.class)
                .hasMessageContaining("after the JSON object");
    }

    @Test
    void malformedShapesAndOffsets() throws IOException {
        for (String entry : List.of(
                "\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}",
                "\"w\":{\"dtype\":\"F32\",\"shape\":\"[1]\",\"data_offsets\":[0,4]}",
                "\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}",
                "\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}",
                "\"w\":{\"dtype\":\"F32\",\"shape\":[1]}",
                "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}")) {
            Path f = write("m.safetensors", file("{" + entry + "}", f32(1)));
            assertRefused(f, "w", "malformed header");
        }
    }

    @Test
    void missingTensorName() throws IOException {
        Path f = write("n.safetensors", file("{" + entry("other", "F32", "[1]", 0, 4) + "}", f32(1)));
        assertRefused(f, "embeddings", "has no tensor \"embeddings\"");
        Path g = write("meta.safetensors", file("{\"__metadata__\":{\"w\":\"x\"}}", new byte[0]));
        assertRefused(g, "w", "has no tensor \"w\"");
        Path h = write("notobj.safetensors", file("{\"w\": [1, 2]}", f32(1)));
        assertRefused(h, "w", "has no tensor \"w\"");
    }

    @Test
    void headerThatIsNotJson() throws IOException {
        Path f = write("j.safetensors", file("{\"w\": {", f32(1)));
        assertRefused(f, "w");
        Path g = write("bin.safetensors", file("\u0001\u0002\u0003", f32(1)));
        assertRefused(g, "w");
        Path a = write("array.safetensors", file("[1, 2]", f32(1)));
        assertRefused(a, "w");
    }

    @Test
    void nullHeader() throws IOException {
        Path f = write("null.safetensors", file("null", f32(1)));
        assertRefused(f, "w");
    }

    @Test
    void hugeShapesOverflowingTheByteCount() throws IOException {
        Path f = write("wrap.safetensors", file("{" + entry("w", "F32", "[4611686018427387904]", 0, 0) + "}",
                new byte[0]));
        assertRefused(f, "w");
        Path g = write("mul.safetensors", file("{" + entry("w", "F32", "[4294967296,4294967296]", 0, 4) + "}",
                f32(1)));
        assertRefused(g, "w");
    }

    @Test
    void moreThanTwoToThe31ElementsAreRefusedBeforeAllocation() throws IOException {
        // consistent offsets: only the element count is wrong, and the data would lie beyond the file
        long n = SafeTensors.MAX_ELEMENTS + 1;
        Path f = write("many.safetensors", file("{" + entry("w", "F16", "[" + n + "]", 0, 2 * n) + "}", f32(1)));
        assertRefused(f, "w", "declares " + n + " elements", "limit");
        Path g = write("many2d.safetensors", file("{" + entry("w", "F32", "[65536,32769]", 0, 4L * 65536 * 32769) + "}",
                f32(1)));
        assertRefused(g, "w", "declares " + 65536L * 32769 + " elements");
        // exactly at the limit the shape is allowed, and then the bytes beyond the file are refused
        long m = SafeTensors.MAX_ELEMENTS;
        Path h = write("limit.safetensors", file("{" + entry("w", "F16", "[" + m + "]", 0, 2 * m) + "}", f32(1)));
        assertRefused(h, "w", "inconsistent data offsets");
    }

    @Test
    void offsetsNearLongMaxOverflow() throws IOException {
        Path f = write("big.safetensors", file("{" + entry("w", "F32", "[1]", Long.MAX_VALUE - 7, Long.MAX_VALUE - 3)
                + "}", f32(1)));
        assertRefused(f, "w");
    }

    // ---------------------------------------------------------------- fuzzing

    private static final byte[] VALID = file("{\"__metadata__\":{\"format\":\"pt\"}," + entry("a", "F32", "[2,2]", 0, 16)
            + "," + entry("b", "F16", "[3]", 16, 22) + "}", concat(f32(1, 2, 3, 4), f16(5, 6, 7)));

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Provide
    Arbitrary<byte[]> mutatedFiles() {
        Arbitrary<Byte> someByte = Arbitraries.oneOf(Arbitraries.bytes(),
                Arbitraries.of("{}[]\":,-0123456789FI ".chars().boxed().toList()).map(c -> (byte) (int) c));
        Arbitrary<Tuple.Tuple2<Integer, Byte>> replacement = Combinators.combine(
                Arbitraries.integers().between(0, VALID.length - 1), someByte).as(Tuple::of);
        Arbitrary<Integer> cut = Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.just(VALID.length)),
                Tuple.of(1, Arbitraries.integers().between(0, VALID.length)));
        return Combinators.combine(cut, replacement.list().ofMinSize(0).ofMaxSize(3)).as((c, rs) -> {
            byte[] b = VALID.clone();
            for (Tuple.Tuple2<Integer, Byte> r : rs) {
                b[r.get1()] = r.get2();
            }
            return Arrays.copyOf(b, c);
        });
    }

    @Property(tries = 200)
    void mutatedFilesNeverThrowAnythingButBundleException(@ForAll("mutatedFiles") byte[] bytes) throws IOException {
        Path dir = Files.createTempDirectory("avatar4j-st");
        Path f = Files.write(dir.resolve("x.safetensors"), bytes);
        try {
            for (String name : List.of("a", "b")) {
                try {
                    SafeTensors.readFloat32(f, name).close();
                } catch (BundleException expected) {
                    assertThat(expected.getMessage()).contains(f.toString());
                } catch (Throwable t) {
                    fail("readFloat32(" + name + ") threw " + t + " for "
                            + new String(bytes, StandardCharsets.ISO_8859_1), t);
                }
            }
        } finally {
            Files.delete(f);
            Files.delete(dir);
        }
    }
}
