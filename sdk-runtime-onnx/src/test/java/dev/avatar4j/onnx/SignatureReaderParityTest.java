package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.bundle.OnnxSignature;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.spi.TensorSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

/**
 * The signature {@link OnnxSignature#read} reads from a graph file, without loading it, is what
 * ONNX Runtime reports for a session of the same graph, for every graph file (variants included) of
 * every committed bundle: the inputs exactly (names, order, element types, shapes with dynamic
 * dimensions as −1); the outputs by name, order, element type and rank, and every dimension the
 * file fixes. A dimension the file leaves symbolic may be fixed in the session's outputs: ONNX
 * Runtime's shape inference, run as it loads the graph, refines declared graph outputs (the tiny
 * VAE decoders' {@code Slice}d caches, for instance), which no reader of the file alone can do. An
 * inspection checks the first against the contracts a load checks the second against, so the
 * reader must not drift from the runtime.
 */
class SignatureReaderParityTest {
    private static OnnxBackend backend;

    @BeforeAll
    static void createBackend() {
        backend = (OnnxBackend) new OnnxBackendProvider().create();
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"stableavatar-tiny", "longcat-avatar-tiny", "latentsync-tiny", "preview"})
    void readerAndRuntimeAgreeOnEveryGraph(String name) throws IOException {
        Path bundle = Path.of("..", "models", name);
        BundleManifest manifest = BundleManifest.parse(Files.readAllBytes(bundle.resolve(BundleManifest.FILE_NAME)));
        int graphs = 0;
        int refined = 0;
        for (BundleManifest.FileEntry e : manifest.graphFiles()) {
            Path file = bundle.resolve(e.file());
            OnnxSignature sig = OnnxSignature.read(file, e.file());
            try (GraphSession s = backend.open(file, SessionOptions.defaults())) {
                assertThat(sig.inputSpecs(e.key())).as(name + " " + e.key() + " inputs").isEqualTo(s.inputs());
                List<TensorSpec> read = sig.outputSpecs(e.key());
                List<TensorSpec> loaded = s.outputs();
                assertThat(read).as(name + " " + e.key() + " outputs").extracting(TensorSpec::name, TensorSpec::dtype,
                        TensorSpec::rank).containsExactlyElementsOf(loaded.stream()
                        .map(t -> org.assertj.core.groups.Tuple.tuple(t.name(), t.dtype(), t.rank())).toList());
                for (int i = 0; i < read.size(); i++) {
                    long[] r = read.get(i).shape();
                    long[] l = loaded.get(i).shape();
                    for (int d = 0; d < r.length; d++) {
                        if (r[d] >= 0) {
                            assertThat(l[d]).as(name + " " + e.key() + " output " + read.get(i) + " dim " + d).isEqualTo(r[d]);
                        } else {
                            refined += l[d] >= 0 ? 1 : 0;
                        }
                    }
                }
            }
            graphs++;
        }
        assertThat(graphs).isEqualTo(manifest.graphFiles().size()).isPositive();
        LoggerFactory.getLogger(SignatureReaderParityTest.class).info("{}: {} graphs, {} output dimensions symbolic in "
                + "the file and fixed by ONNX Runtime's inference", name, graphs, refined);
    }
}
