package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.testing.OnnxModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX Runtime writes its own log straight to stderr (two coloured lines per error); a failing graph
 * must reach the caller as an exception only, with nothing printed (issue 22, item 10). Run in a
 * child JVM because the process-wide ONNX Runtime environment is created once.
 */
class OrtQuietTest {
    @TempDir
    Path tmp;

    /** Child: runs a graph whose Add cannot broadcast its inputs, prints the exception's class. */
    public static void main(String[] args) throws IOException {
        Path f = Path.of(args[0]);
        // X is declared [1, n]: a [1, 3] input passes the Java-side checks and fails inside ONNX Runtime
        Files.write(f, OnnxModels.addModel(OnnxModels.inlineWeight("W", new float[] {1, 2, 3, 4}), 4, -1, -1));
        try (Backend b = new OnnxBackendProvider().create();
             GraphSession s = b.open(f, SessionOptions.defaults());
             Tensor x = Tensor.allocate(DType.FLOAT32, 1, 3)) {
            s.run(Map.of("X", x), Set.of("Y")).close();
            System.out.println("NO ERROR");
        } catch (BackendException e) {
            System.out.println("CAUGHT " + e.getClass().getSimpleName());
        }
    }

    @Test
    void onnxRuntimePrintsNothingWhenAGraphFails() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), OrtQuietTest.class.getName(), tmp.resolve("g.onnx").toString()))
                .redirectErrorStream(false).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(out).contains("CAUGHT");
        assertThat(err).doesNotContain("\u001b[").doesNotContain("onnxruntime").doesNotContain("[E:");
    }
}
