package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.OnnxModels;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * External weights are not held twice: once ONNX Runtime has its own copy, the verified bytes the
 * backend read are freed (issue 17 item 5: the full-size StableAvatar DiT is 7 GB of them).
 */
class ExternalInitializerMemoryTest {
    private static final float[] W = {1, 2, 3, 4};

    @TempDir
    Path tmp;

    /** A bundle whose graph {@code Y = X + W} keeps {@code W} in external data. */
    private Bundle bundle() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("b"));
        byte[] data = OnnxModels.le(W);
        Files.write(dir.resolve("g.data"), data);
        byte[] graph = OnnxModels.addModel(OnnxModels.externalWeight("W", 4, "g.data", 0), 4);
        Files.write(dir.resolve("g.onnx"), graph);
        Files.writeString(dir.resolve("avatar-bundle.json"), "{\"format\": 1, \"family\": \"test\", \"name\": \"t\","
                + " \"graphs\": {\"g\": {\"file\": \"g.onnx\", \"sha256\": \"" + FakeBundles.sha256(graph) + "\","
                + " \"externalData\": [{\"file\": \"g.data\", \"sha256\": \"" + FakeBundles.sha256(data) + "\", \"size\": "
                + data.length + "}]}}}");
        return Bundle.open(dir);
    }

    private static float[] run(GraphSession s) {
        try (Tensor x = Tensor.allocate(DType.FLOAT32, 1, 4);
             GraphSession.Result out = s.run(Map.of("X", x), Set.of("Y"))) {
            return out.get("Y").segment().toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    @Test
    void theBundledOnnxRuntimeCopiesInitializersGivenFromMemory() {
        // What the memory figures in BENCHMARKS.md rely on; if an upgrade makes this false, the SDK
        // still works (it keeps its copy) but a full-size model needs its weights' size more memory.
        assertThat(ExternalInitializerCopyProbe.MEASURED.test(OrtRuntime.get().environment(), o -> { })).isTrue();
    }

    @Test
    void theVerifiedWeightsAreFreedOnceOnnxRuntimeHasItsOwnCopy() throws IOException {
        AtomicInteger probes = new AtomicInteger();
        ExternalInitializerCopyProbe measuredOnce = (env, settings) -> {
            probes.incrementAndGet();
            return ExternalInitializerCopyProbe.MEASURED.test(env, settings);
        };
        Bundle b = bundle();
        try (OnnxBackend backend = new OnnxBackend(OrtRuntime.get(), false, measuredOnce)) {
            for (int i = 0; i < 2; i++) {
                try (GraphSession s = backend.open(b.graph("g"), SessionOptions.defaults())) {
                    assertThat(((OnnxGraphSession) s).holdsInitializerMemory()).isFalse();
                    assertThat(run(s)).containsExactly(W);
                    assertThat(run(s)).containsExactly(W);
                }
            }
        }
        assertThat(probes).hasValue(1);
    }

    @Test
    void theWeightsAreKeptForTheSessionsLifeWhenOnnxRuntimeMayUseThemInPlace() throws IOException {
        Bundle b = bundle();
        try (OnnxBackend backend = new OnnxBackend(OrtRuntime.get(), false, (env, settings) -> false);
             GraphSession s = backend.open(b.graph("g"), SessionOptions.defaults())) {
            assertThat(((OnnxGraphSession) s).holdsInitializerMemory()).isTrue();
            assertThat(run(s)).containsExactly(W);
        }
    }

    @Test
    void aGraphWithoutExternalDataNeverProbes() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("inline"));
        byte[] graph = OnnxModels.addModel(OnnxModels.inlineWeight("W", W), 4);
        Files.write(dir.resolve("g.onnx"), graph);
        Files.writeString(dir.resolve("avatar-bundle.json"), "{\"format\": 1, \"family\": \"test\", \"name\": \"t\","
                + " \"graphs\": {\"g\": {\"file\": \"g.onnx\", \"sha256\": \"" + FakeBundles.sha256(graph) + "\"}}}");
        try (OnnxBackend backend = new OnnxBackend(OrtRuntime.get(), false, (env, settings) -> {
            throw new AssertionError("probed for a graph without external data");
        }); GraphSession s = backend.open(Bundle.open(dir).graph("g"), SessionOptions.defaults())) {
            assertThat(((OnnxGraphSession) s).holdsInitializerMemory()).isFalse();
            assertThat(run(s)).containsExactly(W);
        }
    }

    @Test
    void prepackingCanBeTurnedOffForMemoryAndTheGraphStillComputesTheSame() throws Exception {
        Bundle b = bundle();
        String before = System.getProperty(OnnxBackend.PREPACKING_PROPERTY);
        try {
            System.setProperty(OnnxBackend.PREPACKING_PROPERTY, "false");
            try (OnnxBackend backend = new OnnxBackend(OrtRuntime.get(), false);
                 ai.onnxruntime.OrtSession.SessionOptions o = new ai.onnxruntime.OrtSession.SessionOptions()) {
                backend.configure(o, SessionOptions.defaults());
                assertThat(o.getConfigEntries()).containsEntry("session.disable_prepacking", "1");
                try (GraphSession s = backend.open(b.graph("g"), SessionOptions.defaults())) {
                    assertThat(run(s)).containsExactly(W);
                }
            }
        } finally {
            if (before == null) {
                System.clearProperty(OnnxBackend.PREPACKING_PROPERTY);
            } else {
                System.setProperty(OnnxBackend.PREPACKING_PROPERTY, before);
            }
        }
        try (OnnxBackend backend = new OnnxBackend(OrtRuntime.get(), false);
             ai.onnxruntime.OrtSession.SessionOptions o = new ai.onnxruntime.OrtSession.SessionOptions()) {
            backend.configure(o, SessionOptions.defaults()); // the default keeps ONNX Runtime's pre-packing
            assertThat(o.getConfigEntries()).doesNotContainKey("session.disable_prepacking");
        }
    }
}
