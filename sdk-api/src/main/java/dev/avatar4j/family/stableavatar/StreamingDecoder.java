package dev.avatar4j.family.stableavatar;

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
 * The streaming VAE decoder: one latent frame per call, the causal-conv caches carried from call
 * to call as explicit graph inputs/outputs. Latent frame 0 yields 1 pixel frame, later ones 4.
 * Pixels are mapped to uint8 as the reference does ({@code (x/2+0.5)·255} truncated).
 */
final class StreamingDecoder implements AutoCloseable {
    private final GraphSession graph;
    private final StableAvatarConfig cfg;
    private final int width;
    private final int height;
    private final Tensor latent;
    private final Tensor first;
    private final List<Tensor> caches = new ArrayList<>();
    private int next;

    StreamingDecoder(GraphSession graph, StableAvatarConfig cfg, int lh, int lw, int width, int height) {
        this.graph = graph;
        this.cfg = cfg;
        this.width = width;
        this.height = height;
        this.latent = Tensor.allocate(DType.FLOAT32, 1, cfg.latentChannels(), 1, lh, lw);
        this.first = Tensor.allocate(DType.INT64, 1);
        try {
            for (StableAvatarConfig.Cache c : cfg.caches()) {
                TensorSpec spec = graph.inputs().stream().filter(s -> s.name().equals(c.input())).findFirst()
                        .orElseThrow(() -> new BundleException("vae-decoder has no input " + c.input()));
                long[] shape = spec.shape();
                if (shape[1] < 0 || shape[2] < 0) {
                    throw new BundleException("vae-decoder cache " + c.input() + " must have fixed channel and time "
                            + "sizes, has " + spec.shapeString());
                }
                caches.add(Tensor.allocate(DType.FLOAT32, 1, shape[1], shape[2], (long) lh * c.scale(),
                        (long) lw * c.scale()));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Decodes the next latent frame ({@code [C, h, w]}) and passes each pixel frame to {@code out}. */
    void decode(MemorySegment latentFrame, Consumer<byte[]> out) {
        MemorySegment.copy(latentFrame, 0, latent.segment(), 0, latent.byteSize());
        first.segment().setAtIndex(ValueLayout.JAVA_LONG, 0, next == 0 ? 1 : 0);
        Map<String, Tensor> in = new HashMap<>();
        in.put("latent", latent);
        in.put("first", first);
        java.util.Set<String> wanted = new java.util.HashSet<>();
        wanted.add("frames");
        for (int i = 0; i < caches.size(); i++) {
            in.put(cfg.caches().get(i).input(), caches.get(i));
            wanted.add(cfg.caches().get(i).output());
        }
        Map<String, Tensor> res = graph.run(in, wanted);
        try {
            for (int i = 0; i < caches.size(); i++) {
                Tensor updated = res.get(cfg.caches().get(i).output());
                if (updated == null || updated.byteSize() != caches.get(i).byteSize()) {
                    throw new BundleException("vae-decoder returned cache " + cfg.caches().get(i).output() + " as "
                            + updated + ", expected " + caches.get(i));
                }
                MemorySegment.copy(updated.segment(), 0, caches.get(i).segment(), 0, updated.byteSize());
            }
            Tensor frames = res.get("frames");
            int expectFrames = next == 0 ? 1 : cfg.temporalStride();
            if (frames.rank() != 5 || frames.dim(2) != expectFrames || frames.dim(3) != height || frames.dim(4) != width) {
                throw new BundleException("vae-decoder returned frames " + frames + ", expected [1,3," + expectFrames
                        + "," + height + "," + width + "]");
            }
            emit(frames, expectFrames, out);
        } finally {
            res.values().forEach(Tensor::close);
        }
        next++;
    }

    private void emit(Tensor frames, int n, Consumer<byte[]> out) {
        long plane = (long) width * height;
        MemorySegment s = frames.segment();
        for (int j = 0; j < n; j++) {
            byte[] rgb = new byte[Math.toIntExact(plane * 3)];
            for (int ch = 0; ch < 3; ch++) {
                long base = ((long) ch * n + j) * plane;
                for (int p = 0; p < plane; p++) {
                    rgb[p * 3 + ch] = ImageOps.toUint8(s.getAtIndex(ValueLayout.JAVA_FLOAT, base + p));
                }
            }
            out.accept(rgb);
        }
    }

    @Override
    public void close() {
        latent.close();
        first.close();
        caches.forEach(Tensor::close);
    }
}
