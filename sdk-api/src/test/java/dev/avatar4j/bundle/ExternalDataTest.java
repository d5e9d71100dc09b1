package dev.avatar4j.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BundleException;
import dev.avatar4j.spi.GraphSource;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.OnnxModels;
import dev.avatar4j.testing.OnnxModels.Msg;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every file a graph reads as ONNX external data must be listed in the manifest with its size and
 * sha256 (issue 22, item 5), and the protobuf scan that finds those files is bounded and refuses
 * what it cannot account for.
 */
class ExternalDataTest {
    private static final float[] W = {1, 2, 3, 4};

    @TempDir
    Path tmp;

    private static String manifest(String graphSha, String ext) {
        return "{\"format\": 1, \"family\": \"test\", \"name\": \"t\", \"graphs\": {\"g\": {\"file\": \"sub/g.onnx\","
                + " \"sha256\": \"" + graphSha + "\"" + ext + "}}}";
    }

    private static String listed(String file, byte[] data) {
        return ", \"externalData\": [{\"file\": \"" + file + "\", \"sha256\": \"" + FakeBundles.sha256(data)
                + "\", \"size\": " + data.length + "}]";
    }

    /** A bundle whose graph {@code sub/g.onnx} names {@code location}; {@code ext} is the manifest's list. */
    private Path bundle(String location, byte[] data, String dataFile, String ext) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("b").resolve("sub")).getParent();
        if (dataFile != null) {
            Path f = dir.resolve(dataFile);
            Files.createDirectories(f.getParent());
            Files.write(f, data);
        }
        byte[] graph = OnnxModels.addModel(OnnxModels.externalWeight("W", 4, location, 0), 4);
        Files.write(dir.resolve("sub/g.onnx"), graph);
        Files.writeString(dir.resolve(BundleManifest.FILE_NAME), manifest(FakeBundles.sha256(graph), ext));
        return dir;
    }

    @Test
    void listedExternalDataIsVerifiedAndHandedOutFromCheckedBytes() throws IOException {
        byte[] data = OnnxModels.le(W);
        Path dir = bundle("g.data", data, "sub/g.data", listed("sub/g.data", data));
        Bundle b = Bundle.open(dir);
        assertThat(b.manifest().externalData("g")).singleElement()
                .isEqualTo(new BundleManifest.ExternalDataEntry("sub/g.data", FakeBundles.sha256(data), 16));
        assertThat(b.manifest().files()).extracting(BundleManifest.FileEntry::file).containsExactly("sub/g.onnx", "sub/g.data");
        GraphSource g = b.graph("g");
        assertThat(g.externalFiles()).singleElement().satisfies(f -> {
            assertThat(f.location()).isEqualTo("g.data");
            assertThat(f.file()).isEqualTo(dir.toRealPath().resolve("sub/g.data"));
        });
        try (Arena a = Arena.ofConfined()) {
            assertThat(g.externalFiles().getFirst().load(a).toArray(ValueLayout.JAVA_FLOAT)).containsExactly(W);
        }
        Path copy = tmp.resolve("copy.data");
        g.externalFiles().getFirst().copyTo(copy);
        assertThat(Files.readAllBytes(copy)).isEqualTo(data);
        // modified after verification: both ways of reading refuse it, and the copy is removed
        data[0] ^= 1;
        Files.write(dir.resolve("sub/g.data"), data);
        try (Arena a = Arena.ofConfined()) {
            assertThatThrownBy(() -> g.externalFiles().getFirst().load(a)).isInstanceOf(BundleException.class)
                    .hasMessageContaining("modified");
        }
        Path copy2 = tmp.resolve("copy2.data");
        assertThatThrownBy(() -> g.externalFiles().getFirst().copyTo(copy2)).isInstanceOf(BundleException.class)
                .hasMessageContaining("modified");
        assertThat(copy2).doesNotExist();
    }

    @Test
    void unlistedExternalDataIsRefused() throws IOException {
        byte[] data = OnnxModels.le(W);
        Path dir = bundle("g.data", data, "sub/g.data", "");
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("\"g.data\"").hasMessageContaining("does not list")
                .hasMessageContaining("graphs.g.externalData");
        // listed under another name: still not the file the graph reads
        Path dir2 = bundle("g.data", data, "sub/g.data", listed("g.data", data));
        assertThatThrownBy(() -> Bundle.open(dir2)).isInstanceOf(BundleException.class)
                .hasMessageContaining("does not list");
    }

    @Test
    void externalDataWithAnotherDigestOrSizeIsRefused() throws IOException {
        byte[] data = OnnxModels.le(W);
        byte[] other = data.clone();
        other[5] ^= 0x10;
        Path dir = bundle("g.data", other, "sub/g.data", listed("sub/g.data", data));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("g.data").hasMessageContaining("corrupt or was modified");
        byte[] longer = new byte[20];
        System.arraycopy(data, 0, longer, 0, 16);
        Path dir2 = bundle("g.data", longer, "sub/g.data", listed("sub/g.data", data));
        assertThatThrownBy(() -> Bundle.open(dir2)).isInstanceOf(BundleException.class)
                .hasMessageContaining("20 bytes, manifest says 16");
    }

    @Test
    void locationsThatLeaveTheGraphFolderOrTheBundleAreRefused() throws IOException {
        byte[] data = OnnxModels.le(W);
        for (String loc : List.of("../outside.data", "/etc/passwd", "a/../../x", "./g.data", "c:\\g.data", "")) {
            Path dir = bundle(loc, data, null, listed("sub/g.data", data));
            assertThatThrownBy(() -> Bundle.open(dir)).as(loc).isInstanceOf(BundleException.class)
                    .hasMessageContaining("graph");
        }
    }

    @Test
    void aLinkedExternalDataFileIsRefused() throws IOException {
        byte[] data = OnnxModels.le(W);
        Path dir = bundle("g.data", data, "real.data", listed("sub/g.data", data));
        Files.createSymbolicLink(dir.resolve("sub/g.data"), dir.resolve("real.data"));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("symbolic link");
    }

    @Test
    void externalDataElsewhereThanMainGraphInitializersIsRefused() {
        // a Constant node whose tensor attribute ("value", field t) has external data
        Msg tensor = OnnxModels.externalWeight("C", 4, "c.data", 0);
        Msg attr = new Msg().string(1, "value").msg(5, tensor).varint(20, 4);
        Msg node = new Msg().string(2, "C").string(4, "Constant").msg(5, attr);
        byte[] model = new Msg().varint(1, 8).msg(7, new Msg().msg(1, node)).toBytes();
        assertThatThrownBy(() -> OnnxExternalRefs.scan(model, "m")).isInstanceOf(BundleException.class)
                .hasMessageContaining("not an initializer of the main graph");
        // an initializer of an If branch (attribute g)
        Msg sub = new Msg().msg(5, OnnxModels.externalWeight("S", 4, "s.data", 0));
        Msg ifNode = new Msg().string(4, "If").msg(5, new Msg().string(1, "then_branch").msg(6, sub));
        byte[] model2 = new Msg().msg(7, new Msg().msg(1, ifNode)).toBytes();
        assertThatThrownBy(() -> OnnxExternalRefs.scan(model2, "m")).isInstanceOf(BundleException.class)
                .hasMessageContaining("\"S\"");
        // a sparse initializer's values
        Msg sparse = new Msg().msg(1, OnnxModels.externalWeight("V", 4, "v.data", 0));
        byte[] model3 = new Msg().msg(7, new Msg().msg(15, sparse)).toBytes();
        assertThatThrownBy(() -> OnnxExternalRefs.scan(model3, "m")).isInstanceOf(BundleException.class)
                .hasMessageContaining("\"V\"");
    }

    @Test
    void theScanFindsMainGraphInitializersWithTheirExtent() {
        byte[] model = OnnxModels.addModel(OnnxModels.externalWeight("W", 4, "w.bin", 4096), 4);
        assertThat(OnnxExternalRefs.scan(model, "m")).singleElement().satisfies(t -> {
            assertThat(t.name()).isEqualTo("W");
            assertThat(t.location()).isEqualTo("w.bin");
            assertThat(t.offset()).isEqualTo(4096);
            assertThat(t.length()).isEqualTo(16);
            assertThat(t.dataType()).isEqualTo(1);
            assertThat(t.dims()).containsExactly(4);
        });
        assertThat(OnnxExternalRefs.scan(OnnxModels.addModel(OnnxModels.inlineWeight("W", W), 4), "m")).isEmpty();
    }

    @Test
    void malformedModelsAreRefused() {
        byte[] good = OnnxModels.addModel(OnnxModels.externalWeight("W", 4, "w.bin", 0), 4);
        for (int cut = 1; cut < good.length; cut++) {
            byte[] truncated = java.util.Arrays.copyOf(good, cut);
            try {
                OnnxExternalRefs.scan(truncated, "m");
            } catch (BundleException e) {
                assertThat(e).hasMessageContaining("not a valid ONNX model");
            }
        }
        // deeply nested sub-graphs
        Msg g = new Msg();
        for (int i = 0; i < 100; i++) {
            g = new Msg().msg(1, new Msg().msg(5, new Msg().msg(6, g)));
        }
        byte[] deep = new Msg().msg(7, g).toBytes();
        assertThatThrownBy(() -> OnnxExternalRefs.scan(deep, "m")).isInstanceOf(BundleException.class)
                .hasMessageContaining("nested deeper");
        // a group wire type, a varint that never ends
        assertThatThrownBy(() -> OnnxExternalRefs.scan(new byte[] {0x0b}, "m")).isInstanceOf(BundleException.class);
        assertThatThrownBy(() -> OnnxExternalRefs.scan(new byte[] {8, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 1}, "m"))
                .isInstanceOf(BundleException.class);
        // offsets that are not plain decimals
        Msg w = OnnxModels.weightHeader("W", 4).msg(13, OnnxModels.entry("location", "w.bin"))
                .msg(13, OnnxModels.entry("offset", "-5")).varint(14, 1);
        assertThatThrownBy(() -> OnnxExternalRefs.scan(OnnxModels.addModel(w, 4), "m"))
                .isInstanceOf(BundleException.class).hasMessageContaining("offset");
    }

    @Property(tries = 300)
    void arbitraryBytesNeverEscapeAsAnythingButBundleException(@ForAll byte[] junk) {
        try {
            OnnxExternalRefs.scan(junk, "m");
        } catch (BundleException expected) {
            // refused cleanly
        }
    }
}
