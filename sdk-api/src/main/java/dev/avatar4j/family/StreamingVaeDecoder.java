package dev.avatar4j.family;

import dev.avatar4j.BackendException;
import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.image.ImageOps;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The streaming VAE decoder: one latent frame per call, the causal-conv caches carried from call
 * to call as explicit graph inputs/outputs. Latent frame 0 yields 1 pixel frame, later ones 4.
 * Pixels are mapped to uint8 as the reference does ({@code (x/2+0.5)·255} truncated). Shared by the
 * families whose bundles export the Wan VAE decoder this way (stableavatar, longcat-avatar). Its
 * buffers belong to the scope given to the constructor (one generation's).
 */
public final class StreamingVaeDecoder {
    /**
     * One causal cache of the graph, as the manifest declares it ({@code graphs.vae-decoder.caches}):
     * its input ({@code cache_in_i}), whose replacement is the output {@code cache_out_i}, and its
     * spatial size relative to the latent grid (h·scale, w·scale). The one record for this concept:
     * the family configurations, the graph contracts and the decoder all use it.
     *
     * @param input the cache's input name, starting with {@code cache_in}
     * @param scale spatial size relative to the latent, at least 1
     */
    public record Cache(String input, int scale) {
        /**
         * @throws BundleException if the name does not start with {@code cache_in} or the scale is below 1
         */
        public Cache {
            if (input == null || scale < 1 || !input.startsWith("cache_in")) {
                throw new BundleException(BundleManifest.FILE_NAME + ": graphs.vae-decoder.caches: bad entry Cache[input="
                        + input + ", scale=" + scale + "]");
            }
        }

        /** {@return the output that replaces this cache after a call: {@code cache_out_i}} */
        public String output() {
            return input.replaceFirst("^cache_in", "cache_out");
        }

        /**
         * The caches a manifest declares for its {@code vae-decoder} graph.
         *
         * @param manifest the bundle's manifest
         * @return the caches in declaration order; empty when the graph or the entry is absent
         * @throws BundleException if an entry is malformed
         */
        public static List<Cache> declaredIn(BundleManifest manifest) {
            return manifest.graph("vae-decoder").map(e -> e.extra().objects("caches")).orElse(List.of()).stream()
                    .map(c -> new Cache(c.string("name"), c.integer("scale"))).toList();
        }
    }

    private final GraphSession graph;
    private final List<Cache> caches;
    private final int width;
    private final int height;
    private final Tensor latent;
    private final Tensor first;
    private final Tensor firstFrames;  // [1, 3, 1, H, W]
    private final Tensor laterFrames;  // [1, 3, temporalStride, H, W]
    // causal caches: the graph reads cachesIn and writes cachesOut, then the two swap (no copies)
    private List<Tensor> cachesIn = new ArrayList<>();
    private List<Tensor> cachesOut = new ArrayList<>();
    private final Map<String, Tensor> inputs = new HashMap<>();
    private final Map<String, Tensor> outputs = new HashMap<>();
    private int next;
    // per-channel scratch planes of toRgb, reused across calls (one decoder per generation thread)
    private float[] planeR;
    private float[] planeG;
    private float[] planeB;

    /**
     * @param scope          the scope that owns the decoder's buffers (the generation's)
     * @param graph          the vae-decoder session
     * @param latentChannels channels of one latent frame
     * @param temporalStride pixel frames per latent frame after the first
     * @param caches         the graph's causal caches
     * @param lh             latent height
     * @param lw             latent width
     * @param width          pixel width
     * @param height         pixel height
     */
    public StreamingVaeDecoder(TensorScope scope, GraphSession graph, int latentChannels, int temporalStride,
                               List<Cache> caches, int lh, int lw, int width, int height) {
        this.graph = graph;
        this.caches = List.copyOf(caches);
        this.width = width;
        this.height = height;
        this.latent = scope.allocate(DType.FLOAT32, 1, latentChannels, 1, lh, lw);
        this.first = scope.allocate(DType.INT64, 1);
        this.firstFrames = scope.allocate(DType.FLOAT32, 1, 3, 1, height, width);
        this.laterFrames = scope.allocate(DType.FLOAT32, 1, 3, temporalStride, height, width);
        for (Cache c : this.caches) {
            TensorSpec spec = graph.inputs().stream().filter(s -> s.name().equals(c.input())).findFirst()
                    .orElseThrow(() -> new BundleException("vae-decoder has no input " + c.input()));
            long[] shape = spec.shape();
            if (shape[1] < 0 || shape[2] < 0) {
                throw new BundleException("vae-decoder cache " + c.input() + " must have fixed channel and time "
                        + "sizes, has " + spec.shapeString());
            }
            long[] concrete = {1, shape[1], shape[2], (long) lh * c.scale(), (long) lw * c.scale()};
            cachesIn.add(scope.allocate(DType.FLOAT32, concrete));
            cachesOut.add(scope.allocate(DType.FLOAT32, concrete));
        }
    }

    /**
     * Starts over: zero caches, the next latent frame is a first one (LongCat decodes each segment's
     * latents on their own, as its reference does).
     */
    public void reset() {
        cachesIn.forEach(t -> t.segment().fill((byte) 0));
        next = 0;
    }

    /** Decodes the next latent frame ({@code [C, h, w]}) and passes each pixel frame to {@code out}. */
    public void decode(MemorySegment latentFrame, Consumer<byte[]> out) {
        MemorySegment.copy(latentFrame, 0, latent.segment(), 0, latent.byteSize());
        boolean isFirst = next == 0;
        first.segment().setAtIndex(ValueLayout.JAVA_LONG, 0, isFirst ? 1 : 0);
        Tensor frames = isFirst ? firstFrames : laterFrames;
        inputs.clear();
        outputs.clear();
        inputs.put("latent", latent);
        inputs.put("first", first);
        outputs.put("frames", frames);
        for (int i = 0; i < cachesIn.size(); i++) {
            inputs.put(caches.get(i).input(), cachesIn.get(i));
            outputs.put(caches.get(i).output(), cachesOut.get(i));
        }
        try {
            graph.runInto(inputs, outputs); // outputs written in place: no allocation per latent frame
        } catch (BackendException e) {
            throw new BackendException("vae-decoder failed on latent frame " + next + " (expected frames "
                    + Arrays.toString(frames.shape()) + "): " + e.getMessage(), e);
        }
        byte[][] rgb = toRgb(frames, (int) frames.dim(2)); // checks every value before any frame leaves
        List<Tensor> swap = cachesIn;
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
    private byte[][] toRgb(Tensor frames, int n) {
        int plane = Math.multiplyExact(width, height);
        MemorySegment s = frames.segment().asSlice(0, 3L * n * plane * Float.BYTES);
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
                        throw nonFinite(frames, n, plane, j, p);
                    }
                }
            }
            rgb[j] = dst;
        }
        return rgb;
    }

    private BackendException nonFinite(Tensor frames, int n, int plane, int j, int p) {
        long i = -1;
        float v = Float.NaN;
        for (int ch = 0; ch < 3 && i < 0; ch++) {
            long at = ((long) ch * n + j) * plane + p;
            float x = frames.segment().getAtIndex(ValueLayout.JAVA_FLOAT, at);
            if (!Float.isFinite(x)) {
                i = at;
                v = x;
            }
        }
        return new BackendException("vae-decoder produced a non-finite pixel value (" + v + ") on latent frame "
                + next + " (element " + i + " of frames " + Arrays.toString(frames.shape())
                + "); the graph or the backend's precision is broken for these inputs");
    }
}
