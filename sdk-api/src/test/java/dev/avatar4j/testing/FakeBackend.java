package dev.avatar4j.testing;

import dev.avatar4j.BackendException;
import dev.avatar4j.family.stableavatar.Wav2Vec2Geometry;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A pure-Java backend for engine tests: it recognises the {@code stableavatar} graphs of a
 * {@link FakeBundles fake bundle} by file name and computes small deterministic functions with
 * the real signatures (shapes follow the inputs), so the whole pipeline runs without a native
 * runtime. {@link #runs} counts graph calls; {@link #failOn} injects faults.
 */
public final class FakeBackend implements Backend {
    public static final int AUDIO_DIM = 4;
    public static final int CLIP_DIM = 4;

    /** Graph calls by file name. */
    public final Map<String, AtomicInteger> runs = new java.util.concurrent.ConcurrentHashMap<>();
    /** When set, a run of this graph file name throws after {@link #failAfter} calls. */
    public volatile String failOn;
    public volatile int failAfter;
    /**
     * When set, a run of this graph file name after {@link #nanAfter} calls returns its first
     * output with element {@code size/2} replaced by {@link #nanValue} (NaN unless changed): a
     * backend silently producing non-finite numbers.
     */
    public volatile String nanOn;
    public volatile int nanAfter;
    public volatile float nanValue = Float.NaN;
    /** What {@link #graphVariants()} returns (the manifest variants this backend prefers). */
    public volatile List<String> variants = List.of();
    /** The last {@code context} the DiT was given, and its shape. */
    public volatile float[] lastContext;
    public volatile long[] lastContextShape;
    /** The shape of the last {@code pixel_values} an image encoder was given. */
    public volatile long[] lastPixelValues;
    /** Signature overrides by file name, to test contract checks. */
    public final Map<String, List<TensorSpec>> inputOverrides = new HashMap<>();

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public String description() {
        return "fake backend (pure Java, tests only)";
    }

    @Override
    public List<String> graphVariants() {
        return variants;
    }

    @Override
    public GraphSession open(dev.avatar4j.spi.GraphSource graph, SessionOptions options) {
        String name = graph.name();
        return switch (name) {
            case "audio_encoder.onnx" -> session(name, List.of(spec("input_values", DType.FLOAT32, 1, -1)),
                    List.of(spec("last_hidden_state", DType.FLOAT32, 1, -1, AUDIO_DIM)), this::audio);
            case "image_encoder.onnx" -> session(name, List.of(spec("pixel_values", DType.FLOAT32, 1, 3, 224, 224)),
                    List.of(spec("image_embeds", DType.FLOAT32, 1, 257, CLIP_DIM)), this::image);
            case "image_encoder_112.onnx" -> session(name, List.of(spec("pixel_values", DType.FLOAT32, 1, 3, 112, 112)),
                    List.of(spec("image_embeds", DType.FLOAT32, 1, 65, CLIP_DIM)), this::image);
            // the current layout's streamed encoder, equivalent to the whole-clip fake (which writes
            // the reference's latent on latent frame 0 only): the first graph keeps the latent as its
            // cache [1, 16, 1, h, w], each step passes the cache on and returns a zero latent
            case "vae_encoder_first.onnx" -> session(name, List.of(spec("video", DType.FLOAT32, 1, 3, 1, -1, -1)),
                    List.of(spec("latent", DType.FLOAT32, 1, 16, 1, -1, -1),
                            spec("cache_out_0", DType.FLOAT32, 1, -1, -1, -1, -1)), in -> {
                        Tensor z = vaeEncode(in).get("latent");
                        Tensor c = Tensor.allocate(DType.FLOAT32, z.shape());
                        c.segment().copyFrom(z.segment());
                        return Map.of("latent", z, "cache_out_0", c);
                    });
            case "vae_encoder_step.onnx" -> session(name, List.of(spec("video", DType.FLOAT32, 1, 3, 4, -1, -1),
                    spec("cache_in_0", DType.FLOAT32, 1, 16, 1, -1, -1)),
                    List.of(spec("latent", DType.FLOAT32, 1, 16, 1, -1, -1),
                            spec("cache_out_0", DType.FLOAT32, 1, 16, 1, -1, -1)), in -> {
                        Tensor c = in.get("cache_in_0");
                        Tensor z = Tensor.allocate(DType.FLOAT32, c.shape());
                        Tensor out = Tensor.allocate(DType.FLOAT32, c.shape());
                        out.segment().copyFrom(c.segment());
                        return Map.of("latent", z, "cache_out_0", out);
                    });
            case "dit_mha.onnx" -> session(name, List.of(spec("x", DType.FLOAT32, -1, 16, -1, -1, -1),
                    spec("t", DType.FLOAT32, -1), spec("context", DType.FLOAT32, -1, -1, -1),
                    spec("clip", DType.FLOAT32, -1, -1, -1), spec("y", DType.FLOAT32, -1, 20, -1, -1, -1),
                    spec("audio_tokens", DType.FLOAT32, 1, -1, -1), spec("audio_index", DType.INT64, 21, -1),
                    spec("audio_gate", DType.FLOAT32, -1)),
                    List.of(spec("velocity", DType.FLOAT32, -1, 16, -1, -1, -1)), this::dit);
            // the current layout's decoder pair: the first graph produces the cache (1 = one latent
            // frame decoded, as the older graph's first call on a zero cache), the step adds 1
            case "vae_decoder_first.onnx" -> session(name, List.of(spec("latent", DType.FLOAT32, 1, 16, 1, -1, -1)),
                    List.of(spec("frames", DType.FLOAT32, 1, 3, 1, -1, -1),
                            spec("cache_out_0", DType.FLOAT32, 1, -1, -1, -1, -1)), in -> {
                        Tensor z = in.get("latent");
                        Tensor zero = Tensor.allocate(DType.FLOAT32, 1, 2, 2, z.dim(3), z.dim(4));
                        Tensor one = Tensor.ofLongs(new long[] {1}, 1);
                        try (zero; one) {
                            return vaeDecode(Map.of("latent", z, "first", one, "cache_in_0", zero));
                        }
                    });
            case "vae_decoder_step.onnx" -> session(name, List.of(spec("latent", DType.FLOAT32, 1, 16, 1, -1, -1),
                    spec("cache_in_0", DType.FLOAT32, 1, -1, -1, -1, -1)),
                    List.of(spec("frames", DType.FLOAT32, 1, 3, -1, -1, -1),
                            spec("cache_out_0", DType.FLOAT32, 1, -1, -1, -1, -1)), in -> {
                        try (Tensor zero = Tensor.ofLongs(new long[] {0}, 1)) {
                            return vaeDecode(Map.of("latent", in.get("latent"), "first", zero,
                                    "cache_in_0", in.get("cache_in_0")));
                        }
                    });
            case "vae_encoder.onnx" -> session(name, List.of(spec("video", DType.FLOAT32, 1, 3, -1, -1, -1)),
                    List.of(spec("latent", DType.FLOAT32, 1, 16, -1, -1, -1)), this::vaeEncode);
            case "dit.onnx" -> session(name, List.of(spec("x", DType.FLOAT32, -1, 16, -1, -1, -1),
                    spec("t", DType.FLOAT32, -1), spec("context", DType.FLOAT32, -1, -1, -1),
                    spec("clip", DType.FLOAT32, -1, -1, -1), spec("y", DType.FLOAT32, -1, 20, -1, -1, -1),
                    spec("audio_tokens", DType.FLOAT32, 1, -1, -1), spec("audio_index", DType.INT64, 21, -1),
                    spec("audio_gate", DType.FLOAT32, -1)),
                    List.of(spec("velocity", DType.FLOAT32, -1, 16, -1, -1, -1)), this::dit);
            case "vae_decoder.onnx" -> session(name, List.of(spec("latent", DType.FLOAT32, 1, 16, 1, -1, -1),
                    spec("first", DType.INT64, 1), spec("cache_in_0", DType.FLOAT32, 1, 2, 2, -1, -1)),
                    List.of(spec("frames", DType.FLOAT32, 1, 3, -1, -1, -1),
                            spec("cache_out_0", DType.FLOAT32, 1, 2, 2, -1, -1)), this::vaeDecode);
            default -> throw new BackendException("fake backend does not know graph " + name);
        };
    }

    private static TensorSpec spec(String n, DType d, long... shape) {
        return new TensorSpec(n, d, shape);
    }

    private GraphSession session(String name, List<TensorSpec> in, List<TensorSpec> out,
                                 Function<Map<String, Tensor>, Map<String, Tensor>> fn) {
        List<TensorSpec> inputs = inputOverrides.getOrDefault(name, in);
        return new GraphSession() {
            private volatile boolean closed;

            @Override
            public List<TensorSpec> inputs() {
                return inputs;
            }

            @Override
            public List<TensorSpec> outputs() {
                return out;
            }

            @Override
            public Result run(Map<String, Tensor> given, Set<String> wanted) {
                if (closed) {
                    throw new IllegalStateException("session closed");
                }
                int n = runs.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
                if (name.equals(failOn) && n > failAfter) {
                    throw new BackendException("injected failure in " + name);
                }
                for (TensorSpec s : in) {
                    Tensor t = given.get(s.name());
                    if (t == null || t.dtype() != s.dtype() || !s.accepts(t.shape())) {
                        throw new BackendException(name + ": bad input " + s.name() + ": " + t);
                    }
                }
                Map<String, Tensor> all = fn.apply(given);
                if (name.equals(nanOn) && n > nanAfter) {
                    Tensor first = all.get(out.get(0).name());
                    first.setFloat(first.elementCount() / 2, nanValue);
                }
                TensorScope memory = TensorScope.open(); // the result's; it closes every output
                Map<String, Tensor> res = new HashMap<>();
                all.forEach((k, v) -> {
                    memory.attach(v);
                    if (wanted.contains(k)) {
                        res.put(k, v);
                    }
                });
                return new Result(memory, res);
            }

            @Override
            public boolean isThreadSafe() {
                return true;
            }

            @Override
            public void close() {
                closed = true;
            }
        };
    }

    private static float f(Tensor t, long i) {
        return t.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i);
    }

    private Map<String, Tensor> audio(Map<String, Tensor> in) {
        Tensor x = in.get("input_values");
        int n = (int) x.dim(1);
        int l = Wav2Vec2Geometry.tokenCount(n);
        Tensor out = Tensor.allocate(DType.FLOAT32, 1, l, AUDIO_DIM);
        for (int i = 0; i < l; i++) {
            int from = (int) ((long) i * n / l);
            int to = (int) ((long) (i + 1) * n / l);
            double energy = 0;
            for (int j = from; j < to; j++) {
                energy += Math.abs(f(x, j));
            }
            energy /= Math.max(1, to - from);
            for (int d = 0; d < AUDIO_DIM; d++) {
                out.setFloat((long) i * AUDIO_DIM + d, (float) (energy * (d + 1) / AUDIO_DIM));
            }
        }
        return Map.of("last_hidden_state", out);
    }

    private Map<String, Tensor> image(Map<String, Tensor> in) {
        Tensor x = in.get("pixel_values");
        lastPixelValues = x.shape();
        double mean = 0;
        for (long i = 0; i < x.elementCount(); i++) {
            mean += f(x, i);
        }
        mean /= x.elementCount();
        long side = x.dim(2) / 14;
        Tensor out = Tensor.allocate(DType.FLOAT32, 1, 1 + side * side, CLIP_DIM);
        for (long i = 0; i < out.elementCount(); i++) {
            out.setFloat(i, (float) (mean * ((i % 7) - 3) / 3));
        }
        return Map.of("image_embeds", out);
    }

    /** Latent = the reference frame average-pooled 8×8, channel c from RGB channel c % 3, on latent frame 0 (others 0). */
    private Map<String, Tensor> vaeEncode(Map<String, Tensor> in) {
        Tensor v = in.get("video");
        long frames = v.dim(2);
        long h = v.dim(3);
        long w = v.dim(4);
        long lt = (frames - 1) / 4 + 1;
        long lh = h / 8;
        long lw = w / 8;
        Tensor out = Tensor.allocate(DType.FLOAT32, 1, 16, lt, lh, lw);
        for (int c = 0; c < 16; c++) {
            int rgb = c % 3;
            for (long yy = 0; yy < lh; yy++) {
                for (long xx = 0; xx < lw; xx++) {
                    double s = 0;
                    for (int dy = 0; dy < 8; dy++) {
                        for (int dx = 0; dx < 8; dx++) {
                            s += f(v, ((rgb * frames) * h + yy * 8 + dy) * w + xx * 8 + dx);
                        }
                    }
                    out.setFloat(((c * lt) * lh + yy) * lw + xx, (float) (s / 64));
                }
            }
        }
        return Map.of("latent", out);
    }

    /** velocity = x − y_latent − 0.1·gate·audio_mean: a flow towards the reference latent. */
    private Map<String, Tensor> dit(Map<String, Tensor> in) {
        Tensor x = in.get("x");
        Tensor y = in.get("y");
        Tensor gate = in.get("audio_gate");
        Tensor tokens = in.get("audio_tokens");
        lastContext = in.get("context").toFloatArray();
        lastContextShape = in.get("context").shape();
        double audioMean = 0;
        for (long i = 0; i < tokens.elementCount(); i++) {
            audioMean += f(tokens, i);
        }
        audioMean /= Math.max(1, tokens.elementCount());
        long b = x.dim(0);
        long k = x.dim(2);
        long hw = x.dim(3) * x.dim(4);
        Tensor out = Tensor.allocate(DType.FLOAT32, x.shape());
        for (long bi = 0; bi < b; bi++) {
            float g = f(gate, bi);
            for (long c = 0; c < 16; c++) {
                for (long t = 0; t < k; t++) {
                    for (long p = 0; p < hw; p++) {
                        long xi = ((bi * 16 + c) * k + t) * hw + p;
                        long yi = ((bi * 20 + 4 + c) * k + t) * hw + p;
                        out.setFloat(xi, (float) (f(x, xi) - f(y, yi) - 0.1 * g * audioMean * Math.sin(t + p)));
                    }
                }
            }
        }
        return Map.of("velocity", out);
    }

    /** Frames = tanh of latent channels 0..2, nearest-upsampled ×8; 1 frame first, then 4. */
    private Map<String, Tensor> vaeDecode(Map<String, Tensor> in) {
        Tensor z = in.get("latent");
        boolean first = in.get("first").segment().getAtIndex(ValueLayout.JAVA_LONG, 0) == 1;
        Tensor cache = in.get("cache_in_0");
        long lh = z.dim(3);
        long lw = z.dim(4);
        long h = lh * 8;
        long w = lw * 8;
        int n = first ? 1 : 4;
        Tensor frames = Tensor.allocate(DType.FLOAT32, 1, 3, n, h, w);
        for (int c = 0; c < 3; c++) {
            for (int j = 0; j < n; j++) {
                for (long yy = 0; yy < h; yy++) {
                    for (long xx = 0; xx < w; xx++) {
                        float v = (float) Math.tanh(f(z, (c * lh + yy / 8) * lw + xx / 8) + 0.05 * j);
                        frames.setFloat((((long) c * n + j) * h + yy) * w + xx, v);
                    }
                }
            }
        }
        Tensor cacheOut = Tensor.allocate(DType.FLOAT32, cache.shape());
        for (long i = 0; i < cacheOut.elementCount(); i++) {
            cacheOut.setFloat(i, f(cache, i) + 1); // counts decoded latent frames
        }
        return Map.of("frames", frames, "cache_out_0", cacheOut);
    }

    @Override
    public void close() {
    }
}
