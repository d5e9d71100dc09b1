package dev.avatar4j.family;

import dev.avatar4j.BackendException;
import dev.avatar4j.BundleException;
import dev.avatar4j.backend.GraphContract;
import dev.avatar4j.backend.Sessions;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.bundle.JsonObject;
import dev.avatar4j.image.ImageOps;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.spi.DeviceTensor;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The streaming VAE decoder: one latent frame per call, the causal-conv caches carried from call
 * to call as explicit graph inputs/outputs. Latent frame 0 yields 1 pixel frame, later ones 4.
 * Pixels are mapped to uint8 as the reference does ({@code (x/2+0.5)·255} truncated). Shared by the
 * families whose bundles export the Wan VAE decoder this way (stableavatar, longcat-avatar). Its
 * buffers belong to the scope given to the constructor (one generation's).
 *
 * <p>Two bundle layouts (docs/BUNDLE-FORMAT.md): the current one has a first-frame graph
 * ({@code vae-decoder-first}: {@code latent} → {@code frames} and every {@code cache_out_i}: it
 * <em>produces</em> the initial caches; the reference's first frame is a different computation, not a
 * step on zero caches) and a step graph ({@code vae-decoder}: {@code latent}, {@code cache_in_i} →
 * {@code frames}, {@code cache_out_i}). The older layout (tiny test bundles) has only the step graph
 * with an extra {@code first int64 [1]} input and starts from zero caches. Either way the decoder
 * holds exactly two sets of caches, in and out, and swaps them after each call: nothing is copied
 * per latent frame (3.78 GB per set at 480×832). The caches, the latent and the frames are
 * {@link DeviceTensor}s of the generation's {@link DeviceScope}: on a GPU backend the caches never
 * leave the device, and per latent frame only the latent crosses in and the pixel frames cross out.
 */
public final class StreamingVaeDecoder {
    /**
     * One causal cache of a streamed VAE graph, as the manifest declares it
     * ({@code graphs.<key>.caches[i]}): the step graph's input ({@code name}, e.g. {@code cache_in_3}),
     * the output that replaces it after a call ({@code output}, e.g. {@code cache_out_3}), its
     * channel count and depth in frames, and its spatial size relative to the latent grid (h·scale,
     * w·scale). The one record for this concept: the family configurations, the graph contracts, the
     * streaming decoder and the streaming encoder all use it.
     *
     * @param input    the step graph's input name
     * @param output   the output name that replaces the cache after a call
     * @param channels channels, or 0 when the manifest does not say (then the step graph's input must)
     * @param frames   depth in frames, or 0 when the manifest does not say (ditto)
     * @param scale    spatial size relative to the latent, at least 1
     */
    public record Cache(String input, String output, int channels, int frames, int scale) {
        private static final String NAME = "[A-Za-z0-9_.:/-]{1,200}";

        /**
         * @throws BundleException if a name is empty or not a plain identifier, or a size is out of range
         */
        public Cache {
            if (input == null || output == null || !input.matches(NAME) || !output.matches(NAME) || input.equals(output)) {
                // the names are not echoed: they may hold anything (terminal escapes, log lines)
                throw new BundleException(BundleManifest.FILE_NAME + ": bad cache entry: \"name\" and \"output\" must be two "
                        + "different tensor names of 1 to 200 characters [A-Za-z0-9_.:/-]");
            }
            if (scale < 1 || channels < 0 || frames < 0) {
                throw new BundleException(BundleManifest.FILE_NAME + ": bad cache entry " + input + ": needs scale >= 1, "
                        + "channels and frames >= 0, got scale " + scale + ", channels " + channels + ", frames " + frames);
            }
        }

        /**
         * A cache of the older layout, which names only the input: the output is the input's name with
         * {@code cache_in} replaced by {@code cache_out}, channels and depth come from the graph.
         *
         * @param input the input name, starting with {@code cache_in}
         * @param scale spatial size relative to the latent
         * @return the cache
         */
        public static Cache legacy(String input, int scale) {
            if (input == null || !input.matches(NAME) || !input.startsWith("cache_in")) {
                throw new BundleException(BundleManifest.FILE_NAME + ": a cache entry with no \"output\" must be named "
                        + "cache_in... (the older layout)");
            }
            return new Cache(input, input.replaceFirst("^cache_in", "cache_out"), 0, 0, scale);
        }

        /**
         * The caches a manifest declares for its {@code vae-decoder} graph.
         *
         * @param manifest the bundle's manifest
         * @return the caches in declaration order; empty when the graph or the entry is absent
         * @throws BundleException if an entry is malformed, or {@code vae-decoder-first} declares others
         */
        public static List<Cache> declaredIn(BundleManifest manifest) {
            return pair(manifest, "vae-decoder-first", "vae-decoder");
        }

        /**
         * The caches of a first-frame + step graph pair: the step graph's list, which the first-frame
         * graph's entry must repeat exactly when it has one.
         *
         * @param manifest the bundle's manifest
         * @param firstKey the first-frame graph's key (may be absent from the manifest)
         * @param stepKey  the step graph's key
         * @return the caches in declaration order; empty when the step graph or its list is absent
         * @throws BundleException if an entry is malformed or the two lists differ
         */
        public static List<Cache> pair(BundleManifest manifest, String firstKey, String stepKey) {
            List<Cache> step = of(manifest, stepKey);
            if (manifest.graph(firstKey).isPresent()) {
                if (manifest.graph(stepKey).isEmpty()) {
                    throw new BundleException(BundleManifest.FILE_NAME + ": graph \"" + firstKey + "\" needs its step graph \""
                            + stepKey + "\"");
                }
                if (step.isEmpty()) {
                    throw new BundleException(BundleManifest.FILE_NAME + ": graphs." + stepKey
                            + ".caches must list the caches that " + firstKey + " produces");
                }
                if (step.stream().anyMatch(c -> c.channels() == 0 || c.frames() == 0)) {
                    throw new BundleException(BundleManifest.FILE_NAME + ": graphs." + stepKey
                            + ".caches: every cache of a first/step pair needs \"channels\" and \"frames\"");
                }
                List<Cache> first = of(manifest, firstKey);
                if (!first.isEmpty() && !first.equals(step)) {
                    throw new BundleException(BundleManifest.FILE_NAME + ": graphs." + firstKey + ".caches and graphs."
                            + stepKey + ".caches differ (the first-frame graph must output exactly the step graph's caches)");
                }
            }
            return step;
        }

        private static List<Cache> of(BundleManifest manifest, String key) {
            List<JsonObject> entries = manifest.graph(key).map(e -> e.extra().objects("caches")).orElse(List.of());
            List<Cache> out = new ArrayList<>();
            Set<String> names = new HashSet<>();
            for (int i = 0; i < entries.size(); i++) {
                JsonObject c = entries.get(i);
                String where = "graphs." + key + ".caches[" + i + "]";
                Cache cache;
                try {
                    cache = c.has("output")
                            ? new Cache(c.string("name"), c.string("output"), c.integer("channels", 0),
                                    c.integer("frames", 0), c.integer("scale"))
                            : legacy(c.string("name"), c.integer("scale"));
                } catch (BundleException e) {
                    throw new BundleException(BundleManifest.FILE_NAME + ": " + where + ": "
                            + e.getMessage().replace(BundleManifest.FILE_NAME + ": ", ""), e);
                }
                for (String n : List.of(cache.input(), cache.output())) {
                    if (!names.add(n)) {
                        throw new BundleException(BundleManifest.FILE_NAME + ": " + where + " reuses the name \"" + n + "\"");
                    }
                }
                out.add(cache);
            }
            return List.copyOf(out);
        }

        /**
         * The cache's concrete shape {@code [1, C, T, scale·lh, scale·lw]}: C and T from the manifest,
         * else from the step graph's input (which must then have fixed sizes); when both give them,
         * they must agree.
         *
         * @param step the step graph (it reads the cache)
         * @param key  the step graph's manifest key, for messages
         * @param lh   latent height
         * @param lw   latent width
         * @return the shape
         * @throws BundleException if the graph lacks the input or the sizes are unknown or disagree
         */
        public long[] shape(GraphSession step, String key, int lh, int lw) {
            TensorSpec spec = step.inputs().stream().filter(s -> s.name().equals(input)).findFirst()
                    .orElseThrow(() -> new BundleException(key + " has no input " + input + " (the manifest lists it)"));
            long[] g = spec.shape();
            if (g.length != 5) {
                throw new BundleException(key + " input " + input + " must be [1, C, T, H, W], is " + spec.shapeString());
            }
            long c = size(channels, g[1], "channels", spec, key);
            long t = size(frames, g[2], "frames", spec, key);
            long[] shape = {1, c, t, (long) lh * scale, (long) lw * scale};
            for (int i = 3; i < 5; i++) {
                if (g[i] >= 0 && g[i] != shape[i]) {
                    throw new BundleException(key + " input " + input + " is " + spec.shapeString() + ", but scale "
                            + scale + " at latent " + lh + "x" + lw + " needs " + Arrays.toString(shape));
                }
            }
            return shape;
        }

        private long size(int declared, long graph, String what, TensorSpec spec, String key) {
            if (declared > 0 && graph >= 0 && graph != declared) {
                throw new BundleException(key + " input " + input + " is " + spec.shapeString() + ", but the manifest says "
                        + what + " " + declared);
            }
            if (declared > 0) {
                return declared;
            }
            if (graph < 0) {
                throw new BundleException(key + " cache " + input + " has no fixed " + what + " in the graph ("
                        + spec.shapeString() + ") and the manifest does not give \"" + what + "\"");
            }
            return graph;
        }
    }

    /**
     * The decoder's sessions: the first-frame graph ({@code vae-decoder-first}, null in the older
     * single-graph layout) and the step graph ({@code vae-decoder}).
     *
     * @param first the first-frame session, or null when the step graph takes {@code first int64 [1]}
     * @param step  the step session
     */
    public record Graphs(GraphSession first, GraphSession step) {
        /** @throws NullPointerException if {@code step} is null */
        public Graphs {
            java.util.Objects.requireNonNull(step, "step");
        }

        /**
         * Opens a bundle's decoder, checked against the contract: the pair {@code vae-decoder-first}
         * + {@code vae-decoder} when the bundle has the first-frame graph, else the single
         * {@code vae-decoder} with its {@code first} input. Shared by the families that export Wan's
         * decoder this way.
         *
         * @param bundle         the bundle
         * @param latentChannels latent channels
         * @param caches         the caches the manifest declares ({@link Cache#declaredIn})
         * @param backend        the backend (its preferred graph variants are loaded)
         * @param options        session options
         * @param owner          owns the sessions
         * @return the sessions
         */
        public static Graphs open(Bundle bundle, long latentChannels, List<Cache> caches, Backend backend,
                                  SessionOptions options, TensorScope owner) {
            boolean pair = bundle.hasGraph("vae-decoder-first");
            Map<String, GraphContract> contracts = contracts(latentChannels, caches, pair);
            GraphSession first = !pair ? null : owner.attach(Sessions.open(bundle, "vae-decoder-first", backend, options,
                    contracts.get("vae-decoder-first")));
            return new Graphs(first, owner.attach(Sessions.open(bundle, "vae-decoder", backend, options,
                    contracts.get("vae-decoder"))));
        }

        /**
         * The decoder's contracts, as {@link #open} checks them: {@code vae-decoder-first} and
         * {@code vae-decoder} when {@code pair}, else the single {@code vae-decoder} with its
         * {@code first} input.
         *
         * @param latentChannels latent channels
         * @param caches         the caches the manifest declares
         * @param pair           whether the bundle has the first-frame graph
         * @return the contracts by graph key
         */
        public static Map<String, GraphContract> contracts(long latentChannels, List<Cache> caches, boolean pair) {
            long any = -1;
            Map<String, GraphContract> m = new java.util.LinkedHashMap<>();
            if (pair) {
                m.put("vae-decoder-first", withCaches(GraphContract.of("vae-decoder-first")
                        .input("latent", DType.FLOAT32, 1, latentChannels, 1, any, any)
                        .output("frames", DType.FLOAT32, 1, 3, 1, any, any), caches, false));
            }
            GraphContract step = GraphContract.of("vae-decoder")
                    .input("latent", DType.FLOAT32, 1, latentChannels, 1, any, any)
                    .output("frames", DType.FLOAT32, 1, 3, any, any, any);
            if (!pair) {
                step.input("first", DType.INT64, 1);
            }
            m.put("vae-decoder", withCaches(step, caches, true));
            return m;
        }

        /**
         * Adds caches to a contract: each {@code output} as an output, and each {@code input} as an
         * input when {@code step} (a first-frame graph reads none).
         *
         * @param contract the contract to extend
         * @param caches   the caches
         * @param step     whether the graph reads the caches
         * @return {@code contract}
         */
        public static GraphContract withCaches(GraphContract contract, List<Cache> caches, boolean step) {
            for (Cache cache : caches) {
                if (step) {
                    contract.input(cache.input(), DType.FLOAT32, 1, -1, -1, -1, -1);
                }
                contract.output(cache.output(), DType.FLOAT32, 1, -1, -1, -1, -1);
            }
            return contract;
        }
    }

    private final GraphSession firstGraph; // null: the older layout (the step graph has a "first" input)
    private final GraphSession graph;
    private final List<Cache> caches;
    private final int width;
    private final int height;
    private final DeviceScope device;
    private final DeviceTensor latent;
    private final DeviceTensor firstOn;  // the older layout's first = 1 and first = 0, uploaded once
    private final DeviceTensor firstOff;
    private final DeviceTensor firstFrames;  // [1, 3, 1, H, W]
    private final DeviceTensor laterFrames;  // [1, 3, temporalStride, H, W]
    private final MemorySegment staging;     // host copy of the frames when they live on a device
    // causal caches: the graph reads cachesIn and writes cachesOut, then the two swap (no copies);
    // on a device they never leave it
    private List<DeviceTensor> cachesIn = new ArrayList<>();
    private List<DeviceTensor> cachesOut = new ArrayList<>();
    private final Map<String, DeviceTensor> inputs = new HashMap<>();
    private final Map<String, DeviceTensor> outputs = new HashMap<>();
    private int next;
    // per-channel scratch planes of toRgb, reused across calls (one decoder per generation thread)
    private float[] planeR;
    private float[] planeG;
    private float[] planeB;

    /**
     * A decoder whose buffers are host memory of {@code scope} (the caches are bound to the graphs
     * as host tensors; a device backend copies them every call: use the other constructor there).
     *
     * @param scope          the scope that owns the decoder's buffers (the generation's)
     * @param graphs         the sessions
     * @param latentChannels channels of one latent frame
     * @param temporalStride pixel frames per latent frame after the first
     * @param caches         the graph's causal caches
     * @param lh             latent height
     * @param lw             latent width
     * @param width          pixel width
     * @param height         pixel height
     */
    public StreamingVaeDecoder(TensorScope scope, Graphs graphs, int latentChannels, int temporalStride,
                               List<Cache> caches, int lh, int lw, int width, int height) {
        this(scope, scope.attach(DeviceScope.host()), graphs, latentChannels, temporalStride, caches, lh, lw, width,
                height);
    }

    /**
     * A decoder whose latent, frames and caches are tensors of {@code device}: the caches stay on the
     * device from the first latent frame to the last (double-buffered, swapped by reference), and
     * per latent frame only the latent goes in and the pixel frames come out.
     *
     * @param scope          the scope that owns the decoder's host buffers (the generation's)
     * @param device         the device scope that owns its device tensors (the generation's)
     * @param graphs         the sessions
     * @param latentChannels channels of one latent frame
     * @param temporalStride pixel frames per latent frame after the first
     * @param caches         the graph's causal caches
     * @param lh             latent height
     * @param lw             latent width
     * @param width          pixel width
     * @param height         pixel height
     */
    public StreamingVaeDecoder(TensorScope scope, DeviceScope device, Graphs graphs, int latentChannels,
                               int temporalStride, List<Cache> caches, int lh, int lw, int width, int height) {
        this.firstGraph = graphs.first();
        this.graph = graphs.step();
        this.caches = List.copyOf(caches);
        this.width = width;
        this.height = height;
        this.device = device;
        this.latent = device.allocate(DType.FLOAT32, 1, latentChannels, 1, lh, lw);
        if (firstGraph == null) {
            this.firstOn = device.allocate(DType.INT64, 1);
            this.firstOff = device.allocate(DType.INT64, 1); // zeroed
            try (TensorScope one = scope.newSubScope()) {
                firstOn.copyFrom(one.ofLongs(new long[] {1}, 1).segment());
            }
        } else {
            this.firstOn = null;
            this.firstOff = null;
        }
        this.firstFrames = device.allocate(DType.FLOAT32, 1, 3, 1, height, width);
        this.laterFrames = device.allocate(DType.FLOAT32, 1, 3, temporalStride, height, width);
        this.staging = laterFrames.host() != null ? null
                : scope.allocate(DType.FLOAT32, 1, 3, temporalStride, height, width).segment();
        for (Cache c : this.caches) {
            long[] concrete = c.shape(graph, "vae-decoder", lh, lw);
            cachesIn.add(device.allocate(DType.FLOAT32, concrete)); // zeroed: the older layout starts from zeros
            cachesOut.add(device.allocate(DType.FLOAT32, concrete));
        }
    }

    /**
     * Starts over: the next latent frame is a first one (each decode starts with fresh caches, as the
     * reference's {@code decode}: StableAvatar decodes once per generation, LongCat once per segment).
     * The older layout's caches are zeroed; the first-frame graph writes every cache itself.
     */
    public void reset() {
        if (firstGraph == null) {
            cachesIn.forEach(DeviceTensor::clear);
        }
        next = 0;
    }

    /** Decodes the next latent frame ({@code [C, h, w]}) and passes each pixel frame to {@code out}. */
    public void decode(MemorySegment latentFrame, Consumer<byte[]> out) {
        latent.copyFrom(latentFrame); // the one input that crosses to the device per latent frame
        boolean isFirst = next == 0;
        DeviceTensor frames = isFirst ? firstFrames : laterFrames;
        inputs.clear();
        outputs.clear();
        inputs.put("latent", latent);
        outputs.put("frames", frames);
        GraphSession run = isFirst && firstGraph != null ? firstGraph : graph;
        if (firstGraph == null) {
            inputs.put("first", isFirst ? firstOn : firstOff);
        }
        for (int i = 0; i < cachesIn.size(); i++) {
            if (run != firstGraph) { // the first-frame graph reads no cache: it produces them
                inputs.put(caches.get(i).input(), cachesIn.get(i));
            }
            outputs.put(caches.get(i).output(), cachesOut.get(i));
        }
        try {
            run.run(device, inputs, outputs); // bound in place: no allocation or cache copy per latent frame
        } catch (BackendException e) {
            throw new BackendException((run == firstGraph ? "vae-decoder-first" : "vae-decoder") + " failed on latent frame "
                    + next + " (expected frames " + Arrays.toString(frames.shape()) + "): " + e.getMessage(), e);
        }
        // the frames, the one output that crosses to the host (no copy when the device is the host)
        MemorySegment pixels = frames.toHost(staging);
        byte[][] rgb = toRgb(pixels, frames.shape(), (int) frames.shape()[2]); // checks every value before any frame leaves
        List<DeviceTensor> swap = cachesIn;
        cachesIn = cachesOut;
        cachesOut = swap;
        for (byte[] f : rgb) {
            out.accept(f);
        }
        next++;
    }

    /**
     * The n decoded frames as packed RGB bytes. Each frame's three channel planes are first copied
     * in bulk to heap arrays (memcpy speed) and converted in one pass over plain arrays, which the
     * JIT compiles without the per-element bounds, alignment and liveness checks of segment
     * accessors (the benchmark profile showed this conversion as the top CPU user of the
     * generation thread outside graph runs). Fails on NaN or infinite pixels before any frame of
     * this latent frame is emitted: the uint8 mapping would otherwise turn them silently into
     * black or saturated pixels.
     */
    private byte[][] toRgb(MemorySegment frames, long[] shape, int n) {
        int plane = Math.multiplyExact(width, height);
        MemorySegment s = frames.asSlice(0, 3L * n * plane * Float.BYTES);
        if (planeR == null || planeR.length != plane) {
            planeR = new float[plane];
            planeG = new float[plane];
            planeB = new float[plane];
        }
        float[] pr = planeR;
        float[] pg = planeG;
        float[] pb = planeB;
        byte[][] rgb = new byte[n][];
        for (int j = 0; j < n; j++) {
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, (long) j * plane * Float.BYTES, pr, 0, plane);
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, ((long) n + j) * plane * Float.BYTES, pg, 0, plane);
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, (2L * n + j) * plane * Float.BYTES, pb, 0, plane);
            byte[] dst = new byte[Math.multiplyExact(plane, 3)];
            boolean finite = true;
            for (int p = 0, q = 0; p < plane; p++, q += 3) {
                float vr = pr[p];
                float vg = pg[p];
                float vb = pb[p];
                // x − x is 0 for finite x and NaN for NaN/±∞: one branch-free test for three values
                finite &= (vr - vr) + (vg - vg) + (vb - vb) == 0f;
                dst[q] = ImageOps.toUint8(vr);
                dst[q + 1] = ImageOps.toUint8(vg);
                dst[q + 2] = ImageOps.toUint8(vb);
            }
            if (!finite) {
                for (int p = 0; p < plane; p++) {
                    if (!(Float.isFinite(pr[p]) && Float.isFinite(pg[p]) && Float.isFinite(pb[p]))) {
                        throw nonFinite(frames, shape, n, plane, j, p);
                    }
                }
            }
            rgb[j] = dst;
        }
        return rgb;
    }

    private BackendException nonFinite(MemorySegment frames, long[] shape, int n, int plane, int j, int p) {
        long i = -1;
        float v = Float.NaN;
        for (int ch = 0; ch < 3 && i < 0; ch++) {
            long at = ((long) ch * n + j) * plane + p;
            float x = frames.getAtIndex(ValueLayout.JAVA_FLOAT, at);
            if (!Float.isFinite(x)) {
                i = at;
                v = x;
            }
        }
        return new BackendException("vae-decoder produced a non-finite pixel value (" + v + ") on latent frame "
                + next + " (element " + i + " of frames " + Arrays.toString(shape)
                + "); the graph or the backend's precision is broken for these inputs");
    }
}
