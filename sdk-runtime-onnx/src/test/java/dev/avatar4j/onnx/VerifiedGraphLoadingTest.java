package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.backend.GraphContract;
import dev.avatar4j.backend.Sessions;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.GraphSource;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.OnnxModels;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Graphs are loaded from the bytes that were verified, never reopened by path, and every external-data
 * file a graph reads is listed in the manifest and verified (issue 22, items 5, 7 and 10).
 */
class VerifiedGraphLoadingTest {
    private static final float[] W = {1, 2, 3, 4};
    private static Backend backend;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        backend = new OnnxBackendProvider().create();
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    /** A bundle with graph {@code g.onnx} whose initializer W lives in {@code g.data} at offset 8. */
    private Path bundle(float[] w, boolean listData) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("b"));
        byte[] data = new byte[8 + 16];
        System.arraycopy(OnnxModels.le(w), 0, data, 8, 16);
        Files.write(dir.resolve("g.data"), data);
        byte[] graph = OnnxModels.addModel(OnnxModels.externalWeight("W", 4, "g.data", 8), 4);
        Files.write(dir.resolve("g.onnx"), graph);
        String ext = listData ? ", \"externalData\": [{\"file\": \"g.data\", \"sha256\": \"" + FakeBundles.sha256(data)
                + "\", \"size\": " + data.length + "}]" : "";
        Files.writeString(dir.resolve("avatar-bundle.json"), "{\"format\": 1, \"family\": \"test\", \"name\": \"t\","
                + " \"graphs\": {\"g\": {\"file\": \"g.onnx\", \"sha256\": \"" + FakeBundles.sha256(graph) + "\"" + ext + "}}}");
        return dir;
    }

    private static float[] run(GraphSession s) {
        try (Tensor x = Tensor.allocate(DType.FLOAT32, 1, 4)) {
            try (GraphSession.Result out = s.run(Map.of("X", x), Set.of("Y"))) {
                return out.get("Y").segment().toArray(ValueLayout.JAVA_FLOAT);
            }
        }
    }

    @Test
    void externalDataListedInTheManifestIsLoadedFromVerifiedMemory() throws IOException {
        Path dir = bundle(W, true);
        Bundle b = Bundle.open(dir);
        GraphSource g = b.graph("g");
        assertThat(g.externalTensors()).singleElement().satisfies(t -> {
            assertThat(t.name()).isEqualTo("W");
            assertThat(t.location()).isEqualTo("g.data");
            assertThat(t.offset()).isEqualTo(8);
        });
        try (GraphSession s = backend.open(g, SessionOptions.defaults())) {
            assertThat(run(s)).containsExactly(W);
        }
    }

    @Test
    void externalDataTheManifestDoesNotListIsRefused() throws IOException {
        Path dir = bundle(W, false);
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("\"g.data\"").hasMessageContaining("does not list");
    }

    @Test
    void rewrittenExternalDataIsRefused() throws IOException {
        Path dir = bundle(W, true);
        byte[] data = Files.readAllBytes(dir.resolve("g.data"));
        data[12] ^= 0x40; // same size, other weights
        Files.write(dir.resolve("g.data"), data);
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("g.data").hasMessageContaining("corrupt or was modified");
    }

    @Test
    void externalDataSwappedAfterVerificationIsRefusedWhenLoaded() throws IOException {
        Path dir = bundle(W, true);
        Bundle b = Bundle.open(dir);
        GraphSource g = b.graph("g");
        Path other = tmp.resolve("other.data");
        byte[] data = Files.readAllBytes(dir.resolve("g.data"));
        data[12] ^= 0x40;
        Files.write(other, data);
        Files.move(other, dir.resolve("g.data"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        assertThatThrownBy(() -> backend.open(g, SessionOptions.defaults())).isInstanceOf(BundleException.class)
                .hasMessageContaining("g.data").hasMessageContaining("modified");
    }

    @Test
    void theGraphLoadedIsTheGraphVerifiedEvenIfTheFileIsSwappedAfterwards() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("inline"));
        byte[] good = OnnxModels.addModel(OnnxModels.inlineWeight("W", W), 4);
        Files.write(dir.resolve("g.onnx"), good);
        Files.writeString(dir.resolve("avatar-bundle.json"), "{\"format\": 1, \"family\": \"test\", \"name\": \"t\","
                + " \"graphs\": {\"g\": {\"file\": \"g.onnx\", \"sha256\": \"" + FakeBundles.sha256(good) + "\"}}}");
        Bundle b = Bundle.open(dir);
        GraphSource verified = b.graph("g");
        // the race of the issue, made deterministic: another graph is renamed into place between the
        // check and the load
        Path evil = tmp.resolve("evil.onnx");
        Files.write(evil, OnnxModels.addModel(OnnxModels.inlineWeight("W", new float[] {-9, -9, -9, -9}), 4));
        Files.move(evil, dir.resolve("g.onnx"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        try (GraphSession s = backend.open(verified, SessionOptions.defaults())) {
            assertThat(run(s)).containsExactly(W);
        }
        assertThatThrownBy(() -> b.graph("g")).isInstanceOf(BundleException.class)
                .hasMessageContaining("corrupt or was modified");
    }

    @Test
    void anOutputOfTheWrongShapeIsABundleErrorNotAnIndexError() throws IOException {
        // the graph declares Y [1, 3]; ONNX Runtime relaxes that to [1, ?] and returns [1, 4]
        Path dir = Files.createDirectories(tmp.resolve("shape"));
        byte[] graph = OnnxModels.addModel(OnnxModels.inlineWeight("W", W), 4, 3);
        Files.write(dir.resolve("g.onnx"), graph);
        Files.writeString(dir.resolve("avatar-bundle.json"), "{\"format\": 1, \"family\": \"test\", \"name\": \"t\","
                + " \"graphs\": {\"g\": {\"file\": \"g.onnx\", \"sha256\": \"" + FakeBundles.sha256(graph) + "\"}}}");
        GraphContract contract = GraphContract.of("g").input("X", DType.FLOAT32, 1, -1).output("Y", DType.FLOAT32, 1, 3);
        try (GraphSession s = Sessions.open(Bundle.open(dir), "g", backend, SessionOptions.defaults(), contract)) {
            assertThatThrownBy(() -> run(s)).isInstanceOf(BundleException.class)
                    .hasMessageContaining("\"g\"").hasMessageContaining("'Y'").hasMessageContaining("[1,4]")
                    .hasMessageContaining("[1,3]");
        }
    }
}
