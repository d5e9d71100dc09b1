package dev.avatar4j.family;

import dev.avatar4j.BackendException;
import dev.avatar4j.BundleException;
import dev.avatar4j.family.StreamingVaeDecoder.Cache;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The streamed VAE encoder (docs/BUNDLE-FORMAT.md, {@code vae-encoder-first} + {@code vae-encoder-step}):
 * the reference's chunking of a {@code 4n+1}-frame clip, pixel frame 0 alone through the first graph,
 * then chunks of {@code temporalStride} frames through the step graph, one latent frame per call, the
 * causal caches carried as explicit graph inputs/outputs. The first graph produces the initial caches;
 * caches restart for every {@link #encode} (the reference encodes each clip with fresh caches).
 * Same latents as the whole-clip {@code vae-encoder}, with a per-call memory of one chunk instead of
 * the whole clip (about 60 GB at 480×832×81 in fp32 for the whole-clip graph).
 *
 * <p>Holds two sets of caches, swapped after each call (nothing copied per chunk), plus one chunk and
 * one latent frame; the buffers belong to the scope given to the constructor.
 */
public final class StreamingVaeEncoder {
    /** Writes pixel frame {@code index} of the clip, {@code [3, H, W]} in [−1, 1], into {@code dst}. */
    @FunctionalInterface
    public interface Frames {
        /**
         * @param index the frame's index in the clip
         * @param dst   {@code 3·H·W} floats, channel-major; its previous content is undefined
         */
        void write(int index, MemorySegment dst);
    }

    private final GraphSession firstGraph;
    private final GraphSession stepGraph;
    private final List<Cache> caches;
    private final int latentChannels;
    private final int temporalStride;
    private final int lh;
    private final int lw;
    private final int width;
    private final int height;
    private final Tensor frame;       // [3, H, W] scratch the caller writes
    private final Tensor firstChunk;  // [1, 3, 1, H, W]
    private final Tensor chunk;       // [1, 3, temporalStride, H, W]
    private final Tensor latent;      // [1, C, 1, h, w]
    private List<Tensor> cachesIn = new ArrayList<>();
    private List<Tensor> cachesOut = new ArrayList<>();

    /**
     * @param scope          owns the encoder's buffers
     * @param firstGraph     the vae-encoder-first session
     * @param stepGraph      the vae-encoder-step session
     * @param caches         the pair's caches (from the manifest, in graph order)
     * @param latentChannels latent channels
     * @param temporalStride pixel frames per step chunk
     * @param lh             latent height
     * @param lw             latent width
     * @param width          pixel width
     * @param height         pixel height
     * @throws BundleException if a cache's size cannot be known from the manifest and the step graph
     */
    public StreamingVaeEncoder(TensorScope scope, GraphSession firstGraph, GraphSession stepGraph, List<Cache> caches,
                               int latentChannels, int temporalStride, int lh, int lw, int width, int height) {
        this.firstGraph = firstGraph;
        this.stepGraph = stepGraph;
        this.caches = List.copyOf(caches);
        this.latentChannels = latentChannels;
        this.temporalStride = temporalStride;
        this.lh = lh;
        this.lw = lw;
        this.width = width;
        this.height = height;
        this.frame = scope.allocate(DType.FLOAT32, 3, height, width);
        this.firstChunk = scope.allocate(DType.FLOAT32, 1, 3, 1, height, width);
        this.chunk = scope.allocate(DType.FLOAT32, 1, 3, temporalStride, height, width);
        this.latent = scope.allocate(DType.FLOAT32, 1, latentChannels, 1, lh, lw);
        for (Cache c : this.caches) {
            long[] shape = c.shape(stepGraph, "vae-encoder-step", lh, lw);
            cachesIn.add(scope.allocate(DType.FLOAT32, shape));
            cachesOut.add(scope.allocate(DType.FLOAT32, shape));
        }
    }

    /**
     * Encodes a clip of {@code pixelFrames = temporalStride·n + 1} frames.
     *
     * @param pixelFrames the clip's length
     * @param frames      writes each pixel frame on demand (in order, each once)
     * @param owner       owns the result
     * @return the normalised latents {@code [1, C, n + 1, h, w]}
     */
    public Tensor encode(int pixelFrames, Frames frames, TensorScope owner) {
        return encode(pixelFrames, frames, owner, () -> { });
    }

    /**
     * Encodes a clip of {@code pixelFrames = temporalStride·n + 1} frames, calling {@code beforeEachCall}
     * before every graph call (a clip of 81 frames is 21 calls: a cancellation point between them).
     *
     * @param pixelFrames    the clip's length
     * @param frames         writes each pixel frame on demand (in order, each once)
     * @param owner          owns the result
     * @param beforeEachCall runs before each of the n + 1 graph calls; throws to stop the encode
     * @return the normalised latents {@code [1, C, n + 1, h, w]}
     */
    public Tensor encode(int pixelFrames, Frames frames, TensorScope owner, Runnable beforeEachCall) {
        if (pixelFrames < 1 || (pixelFrames - 1) % temporalStride != 0) {
            throw new IllegalArgumentException("a clip of " + pixelFrames + " frames is not " + temporalStride + "n+1");
        }
        int n = (pixelFrames - 1) / temporalStride + 1;
        Tensor out = owner.allocate(DType.FLOAT32, 1, latentChannels, n, lh, lw);
        long plane = (long) width * height * Float.BYTES;
        long latentPlane = (long) lh * lw * Float.BYTES;
        Map<String, Tensor> in = new HashMap<>();
        Map<String, Tensor> res = new HashMap<>();
        for (int call = 0; call < n; call++) {
            beforeEachCall.run();
            boolean first = call == 0;
            Tensor video = first ? firstChunk : chunk;
            int t = first ? 1 : temporalStride;
            int start = first ? 0 : 1 + (call - 1) * temporalStride;
            for (int j = 0; j < t; j++) {
                frames.write(start + j, frame.segment());
                for (int ch = 0; ch < 3; ch++) { // [3, H, W] -> channel ch, time j of [1, 3, t, H, W]
                    MemorySegment.copy(frame.segment(), ch * plane, video.segment(), ((long) ch * t + j) * plane, plane);
                }
            }
            in.clear();
            res.clear();
            in.put("video", video);
            res.put("latent", latent);
            for (int i = 0; i < caches.size(); i++) {
                if (!first) {
                    in.put(caches.get(i).input(), cachesIn.get(i));
                }
                res.put(caches.get(i).output(), cachesOut.get(i));
            }
            GraphSession g = first ? firstGraph : stepGraph;
            try {
                g.runInto(in, res);
            } catch (BackendException e) {
                throw new BackendException((first ? "vae-encoder-first" : "vae-encoder-step") + " failed on chunk " + call
                        + " (latent " + Arrays.toString(latent.shape()) + "): " + e.getMessage(), e);
            }
            for (int ch = 0; ch < latentChannels; ch++) { // [1, C, 1, h, w] -> frame `call` of [1, C, n, h, w]
                MemorySegment.copy(latent.segment(), ch * latentPlane, out.segment(), ((long) ch * n + call) * latentPlane,
                        latentPlane);
            }
            List<Tensor> swap = cachesIn;
            cachesIn = cachesOut;
            cachesOut = swap;
        }
        return out;
    }
}
