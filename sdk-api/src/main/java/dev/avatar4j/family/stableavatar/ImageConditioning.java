package dev.avatar4j.family.stableavatar;

import dev.avatar4j.BundleException;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.family.StreamingVaeEncoder;
import dev.avatar4j.image.ImageOps;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.Set;

/**
 * The per-generation image conditioning (docs/REFERENCE.md §1.2): the CLIP image tokens and
 * the I2V conditioning {@code y = [mask(4) | reference latent(C)]} for one full window, computed
 * once and cut to each window's length.
 */
final class ImageConditioning {
    /** {@code [1, 1 + (S/p)², Dc]} CLIP tokens ({@code [1, 257, 1280]} for ViT-H/14 at S = 224). */
    final Tensor clip;
    /** {@code [4 + C, F, h, w]}: mask channels (1 on latent frame 0) then the VAE latent of [ref, 0 × 80]. */
    final Tensor y;

    private ImageConditioning(Tensor clip, Tensor y) {
        this.clip = clip;
        this.y = y;
    }

    /**
     * @param scope      owns the conditioning (the generation's scope)
     * @param latentFrames the generation's latent frames T: no window reads {@code y} past latent frame
     *                   {@code min(T, F)}, so the streamed encoder stops there (it is causal: the latents
     *                   it returns are those of the whole clip's encode, bit for bit)
     * @param checkpoint called before each encoder call (CLIP, then the VAE encoder: every call of the
     *                   streamed pair, up to 21 for an 81-frame window); throws to cancel
     */
    static ImageConditioning compute(TensorScope scope, StableAvatarGraphs g, StableAvatarConfig cfg,
                                     GenerationRequest req, int latentFrames, Runnable checkpoint) {
        return compute(scope, g, cfg, req.image(), req.width(), req.height(), latentFrames, checkpoint);
    }

    /**
     * The conditioning of {@code image} at {@code w}×{@code h}, as {@link #compute(TensorScope,
     * StableAvatarGraphs, StableAvatarConfig, GenerationRequest, int, Runnable)}: a live session computes
     * it once, for {@code latentFrames} = F, and serves every utterance from it (the frames any window reads
     * are the same bits whatever T).
     */
    static ImageConditioning compute(TensorScope scope, StableAvatarGraphs g, StableAvatarConfig cfg,
                                     RgbImage image, int w, int h, int latentFrames, Runnable checkpoint) {
        RgbImage img = ImageOps.resize(image, w, h);
        try (TensorScope work = scope.newSubScope()) {
            Tensor signed = work.allocate(DType.FLOAT32, 3, h, w);
            int s = g.clipSize; // the image encoder's input side, read from its graph
            Tensor pixels = work.allocate(DType.FLOAT32, 1, 3, s, s);
            ImageOps.toSignedUnit(img, signed.segment());
            ImageOps.clipPreprocess(signed.segment(), h, w, s, pixels.segment());
            checkpoint.run();
            Tensor clip = scope.attach(g.imageEncoder.run(Map.of("pixel_values", pixels), Set.of("image_embeds")))
                    .get("image_embeds");
            checkpoint.run();
            Tensor y = encodeReference(scope, g, cfg, signed, h, w, latentFrames, checkpoint);
            return new ImageConditioning(clip, y);
        }
    }

    /**
     * VAE-encodes the clip [reference, 0 × (windowFrames − 1)] and prepends the 4 mask channels: with
     * the streamed pair when the bundle has it (one chunk in memory, and only the first min(T, F) latent
     * frames: the later ones stay 0 and are never read), else the whole-clip graph.
     */
    private static Tensor encodeReference(TensorScope scope, StableAvatarGraphs g, StableAvatarConfig cfg,
                                          Tensor signed, int h, int w, int latentFrames, Runnable checkpoint) {
        int frames = cfg.windowFrames();
        long plane = (long) h * w;
        int c = cfg.latentChannels();
        int f = cfg.windowLatents();
        int lh = h / cfg.spatialStride();
        int lw = w / cfg.spatialStride();
        int used = Math.max(1, Math.min(f, latentFrames)); // latent frames any window reads
        try (TensorScope call = scope.newSubScope()) {
            Tensor latent;
            if (g.vaeEncoderFirst != null) {
                StreamingVaeEncoder enc = new StreamingVaeEncoder(call, g.vaeEncoderFirst, g.vaeEncoderStep,
                        cfg.encoderCaches(), c, cfg.temporalStride(), lh, lw, w, h);
                latent = enc.encode((used - 1) * cfg.temporalStride() + 1, (i, dst) -> { // frame 0 the reference, frames 1.. 0 (mid-grey)
                    if (i == 0) {
                        MemorySegment.copy(signed.segment(), 0, dst, 0, 3 * plane * 4);
                    } else {
                        dst.asSlice(0, 3 * plane * 4).fill((byte) 0);
                    }
                }, call, checkpoint);
            } else {
                Tensor video = call.allocate(DType.FLOAT32, 1, 3, frames, h, w);
                for (int ch = 0; ch < 3; ch++) { // frame 0 of channel ch; frames 1.. stay 0 (mid-grey)
                    MemorySegment.copy(signed.segment(), ch * plane * 4, video.segment(), (long) ch * frames * plane * 4,
                            plane * 4);
                }
                latent = call.attach(g.vaeEncoder.run(Map.of("video", video), Set.of("latent"))).get("latent");
                used = f;
            }
            long[] expect = {1, c, used, lh, lw};
            if (!java.util.Arrays.equals(latent.shape(), expect)) {
                throw new BundleException("vae-encoder returned " + latent + ", expected "
                        + java.util.Arrays.toString(expect));
            }
            long framePlane = (long) lh * lw;
            Tensor y = scope.allocate(DType.FLOAT32, 4 + c, f, lh, lw);
            for (int m = 0; m < 4; m++) { // mask: all four channels are 1 on latent frame 0
                y.segment().asSlice((long) m * f * framePlane * 4, framePlane * 4).fill((byte) 0);
                for (long i = 0; i < framePlane; i++) {
                    y.segment().setAtIndex(ValueLayout.JAVA_FLOAT, (long) m * f * framePlane + i, 1f);
                }
            }
            for (int ch = 0; ch < c; ch++) { // [C, used] of the latents -> [C, F] of y (frames past `used` stay 0)
                MemorySegment.copy(latent.segment(), (long) ch * used * framePlane * 4, y.segment(),
                        ((4L + ch) * f) * framePlane * 4, (long) used * framePlane * 4);
            }
            return y;
        }
    }
}
