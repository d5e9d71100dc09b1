package dev.avatar4j.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BundleException;
import dev.avatar4j.spi.GraphSource;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.OnnxModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-backend graph variants ({@code graphs.<key>.variants.<name>}, docs/BUNDLE-FORMAT.md): parsed,
 * verified like graphs (external data shared with the main file included), and chosen by the
 * backend's preference when the graph is loaded.
 */
class GraphVariantsTest {
    @TempDir
    Path tmp;

    private static final float[] W = {1, 2, 3, 4};

    private static String sha(byte[] b) {
        return FakeBundles.sha256(b);
    }

    /** A bundle whose graph {@code g} (g.onnx) has an {@code onnxruntime} variant (g_mha.onnx); both read g.onnx.data. */
    private Path bundle() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("b"));
        byte[] data = OnnxModels.le(W);
        Files.write(dir.resolve("g.onnx.data"), data);
        byte[] main = OnnxModels.addModel(OnnxModels.externalWeight("W", 4, "g.onnx.data", 0), 4);
        byte[] mha = OnnxModels.addModel(OnnxModels.externalWeight("W", 4, "g.onnx.data", 0), 4);
        mha = java.util.Arrays.copyOf(mha, mha.length + 2); // a different file: producer_name appended
        mha[mha.length - 2] = 0x12;
        mha[mha.length - 1] = 0;
        Files.write(dir.resolve("g.onnx"), main);
        Files.write(dir.resolve("g_mha.onnx"), mha);
        String ext = "\"externalData\": [{\"file\": \"g.onnx.data\", \"sha256\": \"" + sha(data) + "\", \"size\": 16}]";
        Files.writeString(dir.resolve(BundleManifest.FILE_NAME), """
                {"format": 1, "family": "test", "name": "t", "graphs": {
                  "g": {"file": "g.onnx", "sha256": "%s", %s,
                        "variants": {"onnxruntime": {"file": "g_mha.onnx", "sha256": "%s", %s}}}}}
                """.formatted(sha(main), ext, sha(mha), ext));
        return dir;
    }

    @Test
    void theBackendsPreferredVariantIsLoadedElseTheMainFile() throws IOException {
        Bundle b = Bundle.open(bundle());
        assertThat(b.manifest().variants("g")).containsOnlyKeys("onnxruntime");
        assertThat(b.manifest().graphs()).containsOnlyKeys("g"); // a variant is not a graph of its own
        assertThat(b.graph("g").name()).isEqualTo("g.onnx");
        assertThat(b.graph("g", List.of("onnxruntime")).name()).isEqualTo("g_mha.onnx");
        assertThat(b.graph("g", List.of("tensorrt", "onnxruntime")).name()).isEqualTo("g_mha.onnx");
        assertThat(b.graph("g", List.of("tensorrt")).name()).isEqualTo("g.onnx");
        GraphSource v = b.graph("g", List.of("onnxruntime"));
        assertThat(v.externalFiles()).singleElement().satisfies(f -> assertThat(f.file().getFileName().toString())
                .isEqualTo("g.onnx.data"));
        // every file is named once for extraction; the shared data file twice (zip extraction dedupes by name)
        assertThat(b.manifest().files()).extracting(BundleManifest.FileEntry::key)
                .containsExactly("g", "g@onnxruntime", "g.externalData[0]", "g@onnxruntime.externalData[0]");
        assertThatThrownBy(() -> b.graph("h", List.of("onnxruntime"))).isInstanceOf(BundleException.class)
                .hasMessageContaining("no graph \"h\"");
    }

    @Test
    void aModifiedVariantIsRefusedWhenTheBundleOpens() throws IOException {
        Path dir = bundle();
        byte[] mha = Files.readAllBytes(dir.resolve("g_mha.onnx"));
        mha[mha.length - 1] = 0; // unchanged length
        Files.write(dir.resolve("g_mha.onnx"), java.util.Arrays.copyOf(mha, mha.length - 2));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class).hasMessageContaining("g_mha.onnx")
                .hasMessageContaining("g@onnxruntime");
    }

    private static BundleManifest parse(String graphs) {
        return BundleManifest.parse(("{\"format\": 1, \"family\": \"t\", \"name\": \"t\", \"graphs\": {" + graphs + "}}")
                .getBytes(StandardCharsets.UTF_8));
    }

    private static final String SHA = "\"sha256\": \"" + "a".repeat(64) + "\"";

    @Test
    void variantErrors() {
        assertThatThrownBy(() -> parse("\"g\": {\"file\": \"g.onnx\", " + SHA + ", \"variants\": {\"Onnx Runtime\": {\"file\": \"x\", "
                + SHA + "}}}")).isInstanceOf(BundleException.class).hasMessageContaining("lowercase words");
        assertThatThrownBy(() -> parse("\"g\": {\"file\": \"g.onnx\", " + SHA + ", \"variants\": {\"onnxruntime\": {\"file\": \"x\","
                + " \"sha256\": \"00\"}}}")).isInstanceOf(BundleException.class)
                .hasMessageContaining("graphs.g.variants.onnxruntime.sha256");
        assertThatThrownBy(() -> parse("\"g\": {\"file\": \"g.onnx\", " + SHA + ", \"variants\": {\"a\": {\"file\": \"x\", " + SHA
                + ", \"variants\": {}}}}")).isInstanceOf(BundleException.class).hasMessageContaining("variants of its own");
        assertThatThrownBy(() -> parse("\"g\": {\"file\": \"g.onnx\", " + SHA + ", \"variants\": {\"a\": {" + SHA + "}}}"))
                .isInstanceOf(BundleException.class).hasMessageContaining("file");
        assertThatThrownBy(() -> parse("\"g@a\": {\"file\": \"g.onnx\", " + SHA + "}")).isInstanceOf(BundleException.class)
                .hasMessageContaining("'@'");
        BundleManifest m = parse("\"g\": {\"file\": \"g.onnx\", " + SHA + "}");
        assertThat(m.variants("g")).isEmpty();
        assertThat(m.graphFor("g", List.of("onnxruntime")).file()).isEqualTo("g.onnx");
    }
}
