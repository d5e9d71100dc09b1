package dev.avatar4j.family;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.family.StreamingVaeDecoder.Cache;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * The streamed VAE graphs' call protocol (docs/BUNDLE-FORMAT.md): which graph runs when, with which
 * inputs, and that the caches one call writes are the very buffers the next call reads (swapped, never
 * copied); the manifest's cache entries and their errors.
 */
class StreamingVaeTest {
    static final int C = 16;
    static final int LH = 2;
    static final int LW = 3;

    /** One recorded call: the graph, its input and output names, and the cache buffers' addresses. */
    record Call(String graph, Set<String> inputs, Set<String> outputs, Map<String, Long> addresses, long[] videoShape) {
    }

    /** A fake session that records every call and lets a function fill the outputs. */
    static final class Recording implements GraphSession {
        final String name;
        final List<TensorSpec> in;
        final List<TensorSpec> out;
        final List<Call> calls;
        final BiConsumer<Map<String, Tensor>, Map<String, Tensor>> fn;

        Recording(String name, List<TensorSpec> in, List<TensorSpec> out, List<Call> calls,
                  BiConsumer<Map<String, Tensor>, Map<String, Tensor>> fn) {
            this.name = name;
            this.in = in;
            this.out = out;
            this.calls = calls;
            this.fn = fn;
        }

        @Override
        public List<TensorSpec> inputs() {
            return in;
        }

        @Override
        public List<TensorSpec> outputs() {
            return out;
        }

        @Override
        public Result run(Map<String, Tensor> inputs, Set<String> outputs) {
            throw new UnsupportedOperationException("the streamed VAE writes into its own buffers");
        }

        @Override
        public void runInto(Map<String, Tensor> inputs, Map<String, Tensor> outputs) {
            Map<String, Long> addr = new java.util.HashMap<>();
            inputs.forEach((k, v) -> addr.put(k, v.segment().address()));
            outputs.forEach((k, v) -> addr.put(k, v.segment().address()));
            Tensor video = inputs.get("video");
            calls.add(new Call(name, new TreeSet<>(inputs.keySet()), new TreeSet<>(outputs.keySet()), addr,
                    video == null ? null : video.shape()));
            fn.accept(inputs, outputs);
        }

        @Override
        public boolean isThreadSafe() {
            return false;
        }

        @Override
        public void close() {
        }
    }

    static TensorSpec spec(String name, DType t, long... shape) {
        return new TensorSpec(name, t, shape);
    }

    static void fill(Tensor t, float v) {
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFloat(i, v);
        }
    }

    static final List<Cache> TWO = List.of(new Cache("cache_in_0", "cache_out_0", 4, 2, 1),
            new Cache("cache_in_1", "cache_out_1", 3, 2, 2));

    /** A first-frame graph writing cache i = 10 + i, a step graph writing cache_in + 1; frames 0. */
    static StreamingVaeDecoder.Graphs decoderPair(List<Call> calls, List<Float> stepSaw) {
        List<TensorSpec> cacheOuts = List.of(spec("cache_out_0", DType.FLOAT32, 1, -1, -1, -1, -1),
                spec("cache_out_1", DType.FLOAT32, 1, -1, -1, -1, -1)); // symbolic, as exported
        List<TensorSpec> firstOut = new ArrayList<>(List.of(spec("frames", DType.FLOAT32, 1, 3, 1, -1, -1)));
        firstOut.addAll(cacheOuts);
        Recording first = new Recording("first", List.of(spec("latent", DType.FLOAT32, 1, C, 1, -1, -1)), firstOut,
                calls, (in, out) -> {
                    fill(out.get("frames"), 0f);
                    fill(out.get("cache_out_0"), 10f);
                    fill(out.get("cache_out_1"), 11f);
                });
        List<TensorSpec> stepOut = new ArrayList<>(List.of(spec("frames", DType.FLOAT32, 1, 3, 4, -1, -1)));
        stepOut.addAll(cacheOuts);
        Recording step = new Recording("step", List.of(spec("latent", DType.FLOAT32, 1, C, 1, -1, -1),
                spec("cache_in_0", DType.FLOAT32, 1, -1, -1, -1, -1), spec("cache_in_1", DType.FLOAT32, 1, 3, 2, -1, -1)),
                stepOut, calls, (in, out) -> {
                    fill(out.get("frames"), 0f);
                    for (int i = 0; i < 2; i++) {
                        Tensor cin = in.get("cache_in_" + i);
                        stepSaw.add(cin.getFloat(0));
                        stepSaw.add(cin.getFloat(cin.elementCount() - 1));
                        fill(out.get("cache_out_" + i), cin.getFloat(0) + 1);
                    }
                });
        return new StreamingVaeDecoder.Graphs(first, step);
    }

    @Test
    void theFirstFrameGraphProducesTheCachesTheStepGraphReadsAndTheyAreSwappedNotCopied() {
        List<Call> calls = new ArrayList<>();
        List<Float> saw = new ArrayList<>();
        try (TensorScope scope = TensorScope.open()) {
            StreamingVaeDecoder d = new StreamingVaeDecoder(scope, decoderPair(calls, saw), C, 4, TWO, LH, LW, 8 * LW, 8 * LH);
            MemorySegment latent = scope.allocate(DType.FLOAT32, C, LH, LW).segment();
            List<byte[]> frames = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                d.decode(latent, frames::add);
            }
            assertThat(frames).hasSize(1 + 4 + 4);
            assertThat(calls).extracting(Call::graph).containsExactly("first", "step", "step");
            assertThat(calls.get(0).inputs()).containsExactly("latent"); // no caches in, no "first"
            assertThat(calls.get(0).outputs()).containsExactly("cache_out_0", "cache_out_1", "frames");
            assertThat(calls.get(1).inputs()).containsExactly("cache_in_0", "cache_in_1", "latent");
            // the buffers frame 0 wrote are the ones frame 1 reads; frame 1 writes the other set, which frame 2 reads
            for (int i = 0; i < 2; i++) {
                long written0 = calls.get(0).addresses().get("cache_out_" + i);
                assertThat(calls.get(1).addresses().get("cache_in_" + i)).isEqualTo(written0);
                assertThat(calls.get(1).addresses().get("cache_out_" + i)).isNotEqualTo(written0);
                assertThat(calls.get(2).addresses().get("cache_in_" + i))
                        .isEqualTo(calls.get(1).addresses().get("cache_out_" + i));
                assertThat(calls.get(2).addresses().get("cache_out_" + i)).isEqualTo(written0);
            }
            // values: the first graph's caches (10, 11) over their whole extent, then each step's + 1
            assertThat(saw).containsExactly(10f, 10f, 11f, 11f, 11f, 11f, 12f, 12f);
            // a new decode (next segment / generation) starts with the first-frame graph again
            d.reset();
            d.decode(latent, frames::add);
            assertThat(calls.get(3).graph()).isEqualTo("first");
        }
    }

    @Test
    void cacheShapesComeFromTheManifestWhenTheGraphLeavesThemOpen() {
        List<Call> calls = new ArrayList<>();
        StreamingVaeDecoder.Graphs g = decoderPair(calls, new ArrayList<>());
        assertThat(TWO.get(0).shape(g.step(), "vae-decoder", LH, LW)).containsExactly(1, 4, 2, LH, LW);
        assertThat(TWO.get(1).shape(g.step(), "vae-decoder", LH, LW)).containsExactly(1, 3, 2, 2 * LH, 2 * LW);
        // the graph's fixed sizes must agree with the manifest's
        assertThatThrownBy(() -> new Cache("cache_in_1", "cache_out_1", 5, 2, 2).shape(g.step(), "vae-decoder", LH, LW))
                .isInstanceOf(BundleException.class).hasMessageContaining("channels 5");
        // unknown in both: refused
        assertThatThrownBy(() -> Cache.legacy("cache_in_0", 1).shape(g.step(), "vae-decoder", LH, LW))
                .isInstanceOf(BundleException.class).hasMessageContaining("no fixed channels");
        assertThatThrownBy(() -> new Cache("cache_in_9", "cache_out_9", 1, 1, 1).shape(g.step(), "vae-decoder", LH, LW))
                .isInstanceOf(BundleException.class).hasMessageContaining("has no input cache_in_9");
    }

    @Test
    void theOlderSingleGraphLayoutStartsFromZeroCachesWithFirstSet() {
        List<Call> calls = new ArrayList<>();
        List<Long> firstFlags = new ArrayList<>();
        List<Float> saw = new ArrayList<>();
        Recording legacy = new Recording("legacy", List.of(spec("latent", DType.FLOAT32, 1, C, 1, -1, -1),
                spec("first", DType.INT64, 1), spec("cache_in_0", DType.FLOAT32, 1, 4, 2, -1, -1)),
                List.of(spec("frames", DType.FLOAT32, 1, 3, -1, -1, -1), spec("cache_out_0", DType.FLOAT32, 1, 4, 2, -1, -1)),
                calls, (in, out) -> {
                    firstFlags.add(in.get("first").segment().getAtIndex(ValueLayout.JAVA_LONG, 0));
                    saw.add(in.get("cache_in_0").getFloat(0));
                    fill(out.get("cache_out_0"), in.get("cache_in_0").getFloat(0) + 1);
                });
        try (TensorScope scope = TensorScope.open()) {
            StreamingVaeDecoder d = new StreamingVaeDecoder(scope, new StreamingVaeDecoder.Graphs(null, legacy), C, 4,
                    List.of(Cache.legacy("cache_in_0", 1)), LH, LW, 8 * LW, 8 * LH);
            MemorySegment latent = scope.allocate(DType.FLOAT32, C, LH, LW).segment();
            List<byte[]> frames = new ArrayList<>();
            d.decode(latent, frames::add);
            d.decode(latent, frames::add);
            d.reset();
            d.decode(latent, frames::add);
            assertThat(frames).hasSize(1 + 4 + 1);
            assertThat(firstFlags).containsExactly(1L, 0L, 1L);
            assertThat(saw).containsExactly(0f, 1f, 0f); // zeroed again by reset
            assertThat(calls.get(0).inputs()).contains("first", "cache_in_0");
        }
    }

    @Test
    void theStreamedEncoderRunsOneFrameThenChunksAndHandsTheCachesOver() {
        List<Call> calls = new ArrayList<>();
        List<Cache> caches = List.of(new Cache("cache_in_0", "cache_out_0", 3, 1, 8), new Cache("cache_in_1", "cache_out_1", 2, 2, 1));
        int h = 8 * LH;
        int w = 8 * LW;
        int[] call = {0};
        // latent of call k = k + the first pixel of its first frame; caches count the calls
        BiConsumer<Map<String, Tensor>, Map<String, Tensor>> fn = (in, out) -> {
            Tensor v = in.get("video");
            fill(out.get("latent"), call[0] * 100 + v.getFloat(0));
            for (int i = 0; i < 2; i++) {
                Tensor cin = in.get("cache_in_" + i);
                fill(out.get("cache_out_" + i), cin == null ? 1 : cin.getFloat(0) + 1);
            }
            call[0]++;
        };
        List<TensorSpec> outs = List.of(spec("latent", DType.FLOAT32, 1, C, 1, -1, -1),
                spec("cache_out_0", DType.FLOAT32, 1, -1, -1, -1, -1), spec("cache_out_1", DType.FLOAT32, 1, -1, -1, -1, -1));
        Recording first = new Recording("first", List.of(spec("video", DType.FLOAT32, 1, 3, 1, -1, -1)), outs, calls, fn);
        Recording step = new Recording("step", List.of(spec("video", DType.FLOAT32, 1, 3, 4, -1, -1),
                spec("cache_in_0", DType.FLOAT32, 1, 3, 1, -1, -1), spec("cache_in_1", DType.FLOAT32, 1, -1, -1, -1, -1)),
                outs, calls, fn);
        List<Integer> written = new ArrayList<>();
        try (TensorScope scope = TensorScope.open()) {
            StreamingVaeEncoder enc = new StreamingVaeEncoder(scope, first, step, caches, C, 4, LH, LW, w, h);
            Tensor latents = enc.encode(9, (i, dst) -> { // frame i has the value i everywhere
                written.add(i);
                for (long p = 0; p < 3L * h * w; p++) {
                    dst.setAtIndex(ValueLayout.JAVA_FLOAT, p, i);
                }
            }, scope);
            assertThat(latents.shape()).containsExactly(1, C, 3, LH, LW);
            assertThat(written).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8);
            assertThat(calls).extracting(Call::graph).containsExactly("first", "step", "step");
            assertThat(calls.get(0).videoShape()).containsExactly(1, 3, 1, h, w);
            assertThat(calls.get(1).videoShape()).containsExactly(1, 3, 4, h, w);
            assertThat(calls.get(0).inputs()).containsExactly("video");
            assertThat(calls.get(1).inputs()).containsExactly("cache_in_0", "cache_in_1", "video");
            for (int i = 0; i < 2; i++) {
                assertThat(calls.get(1).addresses().get("cache_in_" + i))
                        .isEqualTo(calls.get(0).addresses().get("cache_out_" + i));
            }
            // latent frame k of channel c: call k's latent, whose chunk starts at pixel frame 4k-3 (k >= 1)
            long plane = (long) LH * LW;
            for (int c = 0; c < C; c += 5) {
                assertThat(latents.getFloat((c * 3L) * plane)).isEqualTo(0f);
                assertThat(latents.getFloat((c * 3L + 1) * plane)).isEqualTo(101f);
                assertThat(latents.getFloat((c * 3L + 2) * plane + plane - 1)).isEqualTo(205f);
            }
            assertThatThrownBy(() -> enc.encode(8, (i, dst) -> { }, scope)).isInstanceOf(IllegalArgumentException.class);

            // a cancellation point before every call: one that throws before the third runs no third call
            calls.clear();
            int[] points = {0};
            assertThatThrownBy(() -> enc.encode(9, (i, dst) -> { }, scope, () -> {
                if (++points[0] == 3) {
                    throw new IllegalStateException("cancelled");
                }
            })).hasMessage("cancelled");
            assertThat(calls).extracting(Call::graph).containsExactly("first", "step");
        }
    }

    private static BundleManifest manifest(String graphs) {
        String json = """
                {"format": 1, "family": "stableavatar", "name": "t", "graphs": {%s}}""".formatted(graphs);
        return BundleManifest.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private static final String SHA = "\"sha256\": \"" + "0".repeat(64) + "\"";

    private static String graph(String key, String caches) {
        return "\"" + key + "\": {\"file\": \"" + key + ".onnx\", " + SHA + (caches == null ? "" : ", \"caches\": " + caches) + "}";
    }

    @Test
    void manifestCacheEntriesAreParsedAndCheckedAsAPair() {
        String full = "[{\"name\": \"cache_in_0\", \"output\": \"cache_out_0\", \"channels\": 16, \"frames\": 2, \"scale\": 1},"
                + " {\"name\": \"c_in\", \"output\": \"c_out\", \"channels\": 96, \"frames\": 1, \"scale\": 8}]";
        List<Cache> caches = Cache.declaredIn(manifest(graph("vae-decoder-first", full) + ", " + graph("vae-decoder", full)));
        assertThat(caches).containsExactly(new Cache("cache_in_0", "cache_out_0", 16, 2, 1), new Cache("c_in", "c_out", 96, 1, 8));
        // the first-frame graph may omit its list (it is the step's)
        assertThat(Cache.declaredIn(manifest(graph("vae-decoder-first", null) + ", " + graph("vae-decoder", full))))
                .isEqualTo(caches);
        // the older layout: names only
        assertThat(Cache.declaredIn(manifest(graph("vae-decoder", "[{\"name\": \"cache_in_3\", \"scale\": 2}]"))))
                .containsExactly(new Cache("cache_in_3", "cache_out_3", 0, 0, 2));
    }

    @Test
    void manifestCacheErrorsNameTheEntry() {
        String one = "[{\"name\": \"cache_in_0\", \"output\": \"cache_out_0\", \"channels\": 16, \"frames\": 2, \"scale\": 1}]";
        String other = "[{\"name\": \"cache_in_0\", \"output\": \"cache_out_0\", \"channels\": 16, \"frames\": 1, \"scale\": 1}]";
        assertThatThrownBy(() -> Cache.declaredIn(manifest(graph("vae-decoder-first", one) + ", " + graph("vae-decoder", other))))
                .isInstanceOf(BundleException.class).hasMessageContaining("differ");
        assertThatThrownBy(() -> Cache.declaredIn(manifest(graph("vae-decoder-first", one))))
                .isInstanceOf(BundleException.class).hasMessageContaining("needs its step graph");
        assertThatThrownBy(() -> Cache.declaredIn(manifest(graph("vae-decoder-first", one) + ", " + graph("vae-decoder", null))))
                .isInstanceOf(BundleException.class).hasMessageContaining("must list the caches");
        String noSizes = "[{\"name\": \"cache_in_0\", \"output\": \"cache_out_0\", \"scale\": 1}]";
        assertThatThrownBy(() -> Cache.declaredIn(manifest(graph("vae-decoder-first", null) + ", " + graph("vae-decoder", noSizes))))
                .isInstanceOf(BundleException.class).hasMessageContaining("\"channels\" and \"frames\"");
        String dup = "[{\"name\": \"a\", \"output\": \"b\", \"channels\": 1, \"frames\": 1, \"scale\": 1},"
                + " {\"name\": \"c\", \"output\": \"b\", \"channels\": 1, \"frames\": 1, \"scale\": 1}]";
        assertThatThrownBy(() -> Cache.declaredIn(manifest(graph("vae-decoder", dup))))
                .isInstanceOf(BundleException.class).hasMessageContaining("caches[1]").hasMessageContaining("\"b\"");
        String badScale = "[{\"name\": \"a\", \"output\": \"b\", \"channels\": 1, \"frames\": 1, \"scale\": 0}]";
        assertThatThrownBy(() -> Cache.declaredIn(manifest(graph("vae-decoder", badScale))))
                .isInstanceOf(BundleException.class).hasMessageContaining("caches[0]");
        String legacyBad = "[{\"name\": \"state0\", \"scale\": 1}]";
        assertThatThrownBy(() -> Cache.declaredIn(manifest(graph("vae-decoder", legacyBad))))
                .isInstanceOf(BundleException.class).hasMessageContaining("no \"output\"");
        String control = "[{\"name\": \"a\\u001b[31m\", \"output\": \"b\", \"channels\": 1, \"frames\": 1, \"scale\": 1}]";
        assertThatThrownBy(() -> Cache.declaredIn(manifest(graph("vae-decoder", control))))
                .isInstanceOf(BundleException.class).hasMessageContaining("caches[0]");
        assertThatThrownBy(() -> Cache.pair(manifest(graph("vae-encoder-first", one) + ", " + graph("vae-encoder-step", other)),
                "vae-encoder-first", "vae-encoder-step")).isInstanceOf(BundleException.class).hasMessageContaining("differ");
    }
}
