package dev.avatar4j.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BundleException;
import dev.avatar4j.spi.GraphSource;
import dev.avatar4j.testing.OnnxModels.Msg;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.Example;

/**
 * {@link OnnxSignature#read}: random signatures written as ONNX protobuf ({@link Msg}, field numbers
 * of onnx.proto) read back equal, with initializers (inline, external, listed as inputs as ONNX IR
 * &lt; 4 does) around them; and a broken file fails with a {@link BundleException}.
 */
class OnnxSignatureTest {
    private static Path dir;

    @BeforeContainer
    static void makeDir() throws IOException {
        dir = Files.createTempDirectory("onnx-signature");
    }

    @AfterContainer
    static void removeDir() throws IOException {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** A random value: name, element type and dimensions (value ≥ 0, or a name, or neither). */
    record Tensor(String name, int elemType, List<OnnxSignature.Dim> dims) {
        Msg encode() {
            Msg shape = new Msg();
            for (OnnxSignature.Dim d : dims) {
                Msg dim = new Msg();
                if (d.value() >= 0) {
                    dim.varint(1, d.value());
                } else if (!d.param().isEmpty()) {
                    dim.string(2, d.param());
                }
                shape.msg(1, dim);
            }
            Msg tensorType = new Msg().varint(1, elemType).msg(2, shape);
            return new Msg().string(1, name).msg(2, new Msg().msg(1, tensorType)).string(3, "doc of " + name);
        }

        OnnxSignature.Value value() {
            return new OnnxSignature.Value(name, elemType, dims);
        }
    }

    /** A random initializer: inline raw data of some size, or external. */
    record Init(String name, int bytes, boolean external, long offset) {
        Msg encode() {
            Msg t = new Msg().varint(1, bytes).varint(2, 2).string(8, name);
            if (external) {
                return t.msg(13, new Msg().string(1, "location").string(2, "w.data"))
                        .msg(13, new Msg().string(1, "offset").string(2, Long.toString(offset)))
                        .msg(13, new Msg().string(1, "length").string(2, Integer.toString(bytes))).varint(14, 1);
            }
            return t.bytes(9, new byte[bytes]);
        }
    }

    @Provide
    Arbitrary<List<Tensor>> tensors() {
        Arbitrary<OnnxSignature.Dim> dim = Arbitraries.oneOf(
                Arbitraries.longs().between(0, 1L << 40).map(v -> new OnnxSignature.Dim(v, "")),
                Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(12).map(p -> new OnnxSignature.Dim(-1, p)),
                Arbitraries.just(new OnnxSignature.Dim(-1, "")));
        Arbitrary<Tensor> t = Combinators.combine(
                Arbitraries.strings().withCharRange('a', 'z').withChars(':', '.', '/', 'é').ofMinLength(1).ofMaxLength(30),
                Arbitraries.of(1, 7, 10, 9, 6, 11, 16),
                dim.list().ofMaxSize(8)).as(Tensor::new);
        return t.list().ofMaxSize(12).uniqueElements(Tensor::name);
    }

    @Provide
    Arbitrary<List<Init>> inits() {
        return Combinators.combine(Arbitraries.strings().withCharRange('A', 'Z').ofMinLength(1).ofMaxLength(10),
                Arbitraries.integers().between(0, 200_000), Arbitraries.of(true, false),
                Arbitraries.longs().between(0, 1L << 36)).as(Init::new).list().ofMaxSize(6).uniqueElements(Init::name);
    }

    @Property(tries = 200)
    void randomSignaturesReadBackEqual(@ForAll("tensors") List<Tensor> inputs, @ForAll("tensors") List<Tensor> outputs,
                                       @ForAll("inits") List<Init> inits, @ForAll boolean initializersFirst,
                                       @ForAll boolean initializersAsInputs) throws IOException {
        Msg graph = new Msg().msg(1, new Msg().string(1, "X").string(2, "Y").string(4, "Identity")).string(2, "g");
        List<Msg> inputMsgs = new ArrayList<>();
        inputs.forEach(t -> inputMsgs.add(t.encode()));
        if (initializersAsInputs) { // ONNX IR < 4: every initializer is listed as an input too
            inits.forEach(i -> inputMsgs.add(new Tensor(i.name(), 1, List.of()).encode()));
        }
        if (initializersFirst) {
            inits.forEach(i -> graph.msg(5, i.encode()));
        }
        inputMsgs.forEach(m -> graph.msg(11, m));
        outputs.forEach(t -> graph.msg(12, t.encode()));
        if (!initializersFirst) {
            inits.forEach(i -> graph.msg(5, i.encode()));
        }
        graph.string(10, "a graph doc string").msg(13, new Tensor("value_info", 1, List.of()).encode());
        byte[] model = new Msg().varint(1, 3).string(2, "test").string(3, "1.0").msg(7, graph)
                .msg(8, new Msg().string(1, "").varint(2, 9)).toBytes();
        Path file = Files.write(dir.resolve("m.onnx"), model);

        OnnxSignature sig = OnnxSignature.read(file, "graph m.onnx");

        assertThat(sig.inputs()).containsExactlyElementsOf(inputs.stream()
                .filter(t -> inits.stream().noneMatch(i -> i.name().equals(t.name()))).map(Tensor::value).toList());
        assertThat(sig.outputs()).containsExactlyElementsOf(outputs.stream().map(Tensor::value).toList());
        assertThat(sig.initializers()).isEqualTo(inits.size());
        assertThat(sig.inlineBytes()).isEqualTo(inits.stream().filter(i -> !i.external()).mapToLong(Init::bytes).sum());
        assertThat(sig.external()).extracting(GraphSource.ExternalTensor::name)
                .containsExactlyElementsOf(inits.stream().filter(Init::external).map(Init::name).toList());
        for (GraphSource.ExternalTensor t : sig.external()) {
            Init i = inits.stream().filter(x -> x.name().equals(t.name())).findFirst().orElseThrow();
            assertThat(t.location()).isEqualTo("w.data");
            assertThat(t.offset()).isEqualTo(i.offset());
            assertThat(t.length()).isEqualTo(i.bytes());
            assertThat(t.dims()).containsExactly(i.bytes());
        }
    }

    /** Any cut of a model fails cleanly (or, cut at a field boundary, reads what is left). */
    @Property(tries = 100)
    void truncatedFilesFailWithABundleException(@ForAll("tensors") List<Tensor> inputs,
                                                @ForAll("inits") List<Init> inits,
                                                @ForAll("fraction") double keep) throws IOException {
        Msg graph = new Msg();
        inits.forEach(i -> graph.msg(5, i.encode()));
        inputs.forEach(t -> graph.msg(11, t.encode()));
        byte[] model = new Msg().varint(1, 8).msg(7, graph).toBytes();
        byte[] cut = Arrays.copyOf(model, (int) (model.length * keep));
        Path file = Files.write(dir.resolve("cut.onnx"), cut);
        try {
            OnnxSignature sig = OnnxSignature.read(file, "graph cut.onnx");
            assertThat(sig.inputs().size()).isLessThanOrEqualTo(inputs.size());
        } catch (BundleException e) {
            assertThat(e.getMessage()).startsWith("graph cut.onnx is not a valid ONNX model: ");
        }
    }

    @Provide
    Arbitrary<Double> fraction() {
        return Arbitraries.doubles().between(0, 0.999).ofScale(3);
    }

    @Example
    void aCutInsideTheGraphIsReportedAsNotAValidModel() throws IOException {
        Msg graph = new Msg().msg(5, new Init("W", 100_000, false, 0).encode())
                .msg(11, new Tensor("x", 1, List.of(new OnnxSignature.Dim(3, ""))).encode());
        byte[] model = new Msg().varint(1, 8).msg(7, graph).toBytes();
        Path file = Files.write(dir.resolve("half.onnx"), Arrays.copyOf(model, model.length / 2));
        assertThatThrownBy(() -> OnnxSignature.read(file, "graph half.onnx (dit)"))
                .isInstanceOf(BundleException.class)
                .hasMessage("graph half.onnx (dit) is not a valid ONNX model: a field's length runs past its message");
    }

    @Example
    void aFileWithoutAGraphIsRefused() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.onnx"), "");
        assertThatThrownBy(() -> OnnxSignature.read(text, "graph notes.onnx"))
                .isInstanceOf(BundleException.class).hasMessageContaining("it has no graph");
        Path junk = Files.writeString(dir.resolve("junk.onnx"), "this is not protobuf at all\n");
        assertThatThrownBy(() -> OnnxSignature.read(junk, "graph junk.onnx"))
                .isInstanceOf(BundleException.class).hasMessageStartingWith("graph junk.onnx is not a valid ONNX model");
    }

    @Example
    void unsupportedElementTypesAreNamedWhenConvertedToSpecs() throws IOException {
        Msg graph = new Msg().msg(11, new Tensor("mask", 9, List.of(new OnnxSignature.Dim(-1, "n"))).encode());
        Path file = Files.write(dir.resolve("bool.onnx"), new Msg().msg(7, graph).toBytes());
        OnnxSignature sig = OnnxSignature.read(file, "graph bool.onnx");
        assertThat(sig.inputs().getFirst().toString()).isEqualTo("mask: bool[n]");
        assertThatThrownBy(() -> sig.inputSpecs("unet")).isInstanceOf(BundleException.class)
                .hasMessage("graph \"unet\" input 'mask' has element type bool; only float32, float16 and int64 are supported");
    }

    /**
     * A graph file of 3 GB, almost all of it one initializer's inline {@code raw_data} (a sparse
     * file: the data is a hole), with the inputs after it: read past the 2 GB a byte array or a
     * protobuf message can hold, by passing the data over rather than reading it.
     */
    @Example
    void gigabytesOfInlineWeightsArePassedOverNotRead() throws IOException {
        long data = 3_000_000_000L;
        byte[] tensorHead = new Msg().varint(1, data / 2).varint(2, 10).string(8, "W").toBytes();
        byte[] rawTag = varintBytes((9L << 3) | 2, data);
        byte[] tail = new Msg().msg(11, new Tensor("x", 1, List.of(new OnnxSignature.Dim(-1, "n"))).encode())
                .msg(12, new Tensor("y", 10, List.of(new OnnxSignature.Dim(2, ""))).encode()).toBytes();
        long tensorLen = tensorHead.length + rawTag.length + data;
        byte[] initTag = varintBytes((5L << 3) | 2, tensorLen);
        long graphLen = initTag.length + tensorLen + tail.length;
        byte[] graphTag = varintBytes((7L << 3) | 2, graphLen);
        Path file = dir.resolve("big.onnx");
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
            for (byte[] b : List.of(varintBytes(1L << 3, 8), graphTag, initTag, tensorHead, rawTag)) {
                ch.write(java.nio.ByteBuffer.wrap(b));
            }
            ch.position(ch.position() + data); // the hole: never written, never read
            ch.write(java.nio.ByteBuffer.wrap(tail));
        }

        OnnxSignature sig = OnnxSignature.read(file, "graph big.onnx");

        assertThat(sig.inlineBytes()).isEqualTo(data);
        assertThat(sig.initializers()).isEqualTo(1);
        assertThat(sig.inputs()).extracting(Object::toString).containsExactly("x: float[n]");
        assertThat(sig.outputs()).extracting(Object::toString).containsExactly("y: float16[2]");
        Files.delete(file);
    }

    /** A field key and a varint value (or a length prefix). */
    private static byte[] varintBytes(long key, long value) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (long v : new long[] {key, value}) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) ((v & 0x7f) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }
        return out.toByteArray();
    }
}
