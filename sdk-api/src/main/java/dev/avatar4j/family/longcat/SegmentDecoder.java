package dev.avatar4j.family.longcat;

import dev.avatar4j.BackendException;
import dev.avatar4j.BundleException;
import dev.avatar4j.image.ImageOps;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Decodes one segment's latents with the streaming VAE decoder, one latent per call with explicit
 * causal caches; the caches start from zero for every segment (the reference decodes each
 * segment's latents on their own). Pixels are mapped to uint8 by truncation.
 */
final class SegmentDecoder implements AutoCloseable {
    private final GraphSession graph;
    private final LongCatConfig cfg;
    private final int width;
    private final int height;
    private final Tensor latent;
    private final Tensor first;
    private final Tensor firstFrames;
    private final Tensor laterFrames;
    private List<Tensor> cachesIn = new ArrayList<>();
    private List<Tensor> cachesOut = new ArrayList<>();
    private final Map<String, Tensor> inputs = new HashMap<>();
    private final Map<String, Tensor> outputs = new HashMap<>();
    private int next;

    SegmentDecoder(GraphSession graph, LongCatConfig cfg, int lh, int lw, int width, int height) {
        this.graph = graph;
        this.cfg = cfg;
        this.width = width;
        this.height = height;
        this.latent = Tensor.allocate(DType.FLOAT32, 1, cfg.latentChannels(), 1, lh, lw);
        this.first = Tensor.allocate(DType.INT64, 1);
        this.firstFrames = Tensor.allocate(DType.FLOAT32, 1, 3, 1, height, width);
        this.laterFrames = Tensor.allocate(DType.FLOAT32, 1, 3, cfg.temporalStride(), height, width);
        try {
            for (LongCatConfig.Cache c : cfg.caches()) {
                TensorSpec spec = graph.inputs().stream().filter(s -> s.name().equals(c.input())).findFirst()
                        .orElseThrow(() -> new BundleException("vae-decoder has no input " + c.input()));
                long[] shape = spec.shape();
                if (shape[1] < 0 || shape[2] < 0) {
                    throw new BundleException("vae-decoder cache " + c.input() + " must have fixed channel and time "
                            + "sizes, has " + spec.shapeString());
                }
                long[] concrete = {1, shape[1], shape[2], (long) lh * c.scale(), (long) lw * c.scale()};
                cachesIn.add(Tensor.allocate(DType.FLOAT32, concrete));
                cachesOut.add(Tensor.allocate(DType.FLOAT32, concrete));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Starts a new segment: zero caches, the next latent is a first latent. */
    void reset() {
        cachesIn.forEach(t -> t.segment().fill((byte) 0));
        next = 0;
    }

    /** Decodes the next latent ({@code [C, h, w]} floats at {@code src}) and hands each RGB24 frame to {@code out}. */
    void decode(MemorySegment src, long offsetFloats, Consumer<byte[]> out) {
        MemorySegment.copy(src, offsetFloats * Float.BYTES, latent.segment(), 0, latent.byteSize());
        boolean isFirst = next == 0;
        first.segment().setAtIndex(ValueLayout.JAVA_LONG, 0, isFirst ? 1 : 0);
        Tensor frames = isFirst ? firstFrames : laterFrames;
        inputs.clear();
        outputs.clear();
        inputs.put("latent", latent);
        inputs.put("first", first);
        outputs.put("frames", frames);
        for (int i = 0; i < cachesIn.size(); i++) {
            inputs.put(cfg.caches().get(i).input(), cachesIn.get(i));
            outputs.put(cfg.caches().get(i).output(), cachesOut.get(i));
        }
        graph.runInto(inputs, outputs);
        List<Tensor> swap = cachesIn;
        cachesIn = cachesOut;
        cachesOut = swap;
        int n = (int) frames.dim(2);
        long plane = (long) width * height;
        MemorySegment s = frames.segment();
        for (int j = 0; j < n; j++) {
            byte[] rgb = new byte[Math.toIntExact(plane * 3)];
            for (int ch = 0; ch < 3; ch++) {
                long base = ((long) ch * n + j) * plane;
                for (int p = 0; p < plane; p++) {
                    float v = s.getAtIndex(ValueLayout.JAVA_FLOAT, base + p);
                    if (!Float.isFinite(v)) {
                        throw new BackendException("vae-decoder produced a non-finite pixel value (" + v
                                + ") on latent " + next + " of the segment");
                    }
                    rgb[p * 3 + ch] = ImageOps.toUint8(v);
                }
            }
            out.accept(rgb);
        }
        next++;
    }

    @Override
    public void close() {
        latent.close();
        first.close();
        firstFrames.close();
        laterFrames.close();
        cachesIn.forEach(Tensor::close);
        cachesOut.forEach(Tensor::close);
    }
}
