package dev.avatar4j.family.stableavatar;

import dev.avatar4j.BackendException;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.Progress;
import dev.avatar4j.sampling.Guidance;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The guided velocity of one window: the guidance branches batched into one DiT call, combined
 * with the guidance coefficients (docs/ARCHITECTURE.md §3.1b — guidance is data). Buffers are allocated
 * once per generation in the generation's scope and reused by every call; only the batch rows of branches whose coefficient
 * is non-zero are run.
 */
final class GuidedDit implements WindowVelocity {
    /**
     * One guidance branch: which text embedding it sees and the gate on the audio adapter's output
     * (0 = the reference's unconditional branch, whose adapter output is zeroed).
     */
    record Branch(boolean positiveText, float audioGate) {
    }

    private final TensorScope scope;
    private final GraphSession dit;
    private final GenerationContext ctx;
    private final int branches;
    private final Guidance combine;
    private final long c;
    private final long hw;
    private final long lh;
    private final long lw;
    private final int f;
    private final Tensor xBatch;     // [B, C, F, h, w] (views cut to k)
    private final Tensor velocity;   // [B, C, F, h, w]
    private final Tensor t;          // [B]
    private final Tensor context;    // [B, Lt, Dt]
    private final Tensor clip;       // [B, 257, Dc]
    private final Tensor gate;       // [B]
    private final Tensor yFull;      // [4+C, F, h, w]
    private final Map<Integer, Tensor> yByLength = new HashMap<>();
    private final WindowAudio audio;

    GuidedDit(TensorScope scope, GraphSession dit, GenerationContext ctx, StableAvatarConfig cfg, Guidance guidance, List<Branch> all,
              Tensor negText, Tensor posText, ImageConditioning image, WindowAudio audio, int lh, int lw) {
        this.scope = scope;
        this.dit = dit;
        this.ctx = ctx;
        this.audio = audio;
        this.c = cfg.latentChannels();
        this.lh = lh;
        this.lw = lw;
        this.hw = (long) lh * lw;
        this.f = cfg.windowLatents();
        this.yFull = image.y;
        // drop branches that contribute nothing (e.g. both scales 1 → only the conditional branch)
        List<Integer> active = new java.util.ArrayList<>();
        for (int b = 0; b < all.size(); b++) {
            if (guidance.coefficient(b) != 0f) {
                active.add(b);
            }
        }
        if (active.isEmpty()) {
            active.add(all.size() - 1);
        }
        this.branches = active.size();
        float[] coeff = new float[branches];
        for (int i = 0; i < branches; i++) {
            coeff[i] = guidance.coefficient(active.get(i));
        }
        if (active.size() == 1 && guidance.coefficient(active.get(0)) == 0f) {
            coeff[0] = 1f;
        }
        this.combine = Guidance.of(coeff);
        long textRows = negText.dim(0);
        long textDim = negText.dim(1);
        long clipTokens = image.clip.dim(1);
        long clipDim = image.clip.dim(2);
        this.xBatch = scope.allocate(DType.FLOAT32, branches, c, f, lh, lw);
        this.velocity = scope.allocate(DType.FLOAT32, branches, c, f, lh, lw);
        this.t = scope.allocate(DType.FLOAT32, branches);
        this.context = scope.allocate(DType.FLOAT32, branches, textRows, textDim);
        this.clip = scope.allocate(DType.FLOAT32, branches, clipTokens, clipDim);
        this.gate = scope.allocate(DType.FLOAT32, branches);
        long textBytes = negText.byteSize();
        for (int i = 0; i < branches; i++) {
            Branch br = all.get(active.get(i));
            MemorySegment.copy((br.positiveText() ? posText : negText).segment(), 0, context.segment(),
                    i * textBytes, textBytes);
            MemorySegment.copy(image.clip.segment(), 0, clip.segment(), i * image.clip.byteSize(),
                    image.clip.byteSize());
            gate.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, br.audioGate());
        }
    }

    /** Forward passes per (window, step). */
    int branches() {
        return branches;
    }

    @Override
    public void velocity(Window window, int step, float timestep, MemorySegment x, MemorySegment velocityOut) {
        ctx.checkpoint();
        int k = window.length();
        long perBranch = c * k * hw;
        for (int b = 0; b < branches; b++) {
            MemorySegment.copy(x, 0, xBatch.segment(), b * perBranch * 4, perBranch * 4);
            t.segment().setAtIndex(ValueLayout.JAVA_FLOAT, b, timestep);
        }
        WindowAudio.Features a = audio.of(window);
        Tensor xk = Tensor.wrap(xBatch.segment(), DType.FLOAT32, branches, c, k, lh, lw); // views: nothing to free
        Tensor vk = Tensor.wrap(velocity.segment(), DType.FLOAT32, branches, c, k, lh, lw);
        Map<String, Tensor> in = new HashMap<>();
        in.put("x", xk);
        in.put("t", t);
        in.put("context", context);
        in.put("clip", clip);
        in.put("y", yFor(k));
        in.put("audio_tokens", a.tokens());
        in.put("audio_index", a.index());
        in.put("audio_gate", gate);
        dit.runInto(in, Map.of("velocity", vk));
        combine.combine(velocity.segment(), perBranch, velocityOut);
        checkFinite(window, step, velocityOut, perBranch);
        ctx.advance(Progress.Stage.DENOISING, 1);
    }

    /**
     * Fails the generation when the guided velocity holds a NaN or an infinity (a broken or
     * overflowing graph, e.g. float16 on a backend without the right precision), instead of
     * letting it spread through the latents into black or garbage frames. One linear scan of the
     * window's velocity, negligible next to the DiT call; the raw branches are scanned only to
     * name the culprit once a problem is found.
     */
    private void checkFinite(Window window, int step, MemorySegment combined, long n) {
        for (long i = 0; i < n; i++) {
            float v = combined.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            if (!Float.isFinite(v)) {
                throw new BackendException("dit produced a non-finite velocity (" + v + ") at window "
                        + window.index() + " (latent frames " + window.start() + ".." + (window.end() - 1)
                        + "), step " + step + ", element " + i + describeBranches(n)
                        + "; the graph or the backend's precision is broken for these inputs");
            }
        }
    }

    private String describeBranches(long n) {
        StringBuilder bad = new StringBuilder();
        for (int b = 0; b < branches; b++) {
            for (long i = 0; i < n; i++) {
                if (!Float.isFinite(velocity.segment().getAtIndex(ValueLayout.JAVA_FLOAT, b * n + i))) {
                    bad.append(bad.isEmpty() ? "" : ", ").append(b);
                    break;
                }
            }
        }
        return bad.isEmpty() ? " (every branch finite: the guidance combination overflowed)"
                : " (non-finite in the raw output of guidance branch " + bad + " of " + branches + ")";
    }

    /** {@code y[:, :, :k]} repeated for every branch; built once per distinct window length. */
    private Tensor yFor(int k) {
        return yByLength.computeIfAbsent(k, len -> {
            long ch = 4 + c;
            Tensor y = scope.allocate(DType.FLOAT32, branches, ch, len, lh, lw);
            long run = (long) len * hw * 4;
            for (int b = 0; b < branches; b++) {
                for (long cc = 0; cc < ch; cc++) {
                    MemorySegment.copy(yFull.segment(), cc * f * hw * 4, y.segment(), ((b * ch + cc) * len * hw) * 4,
                            run);
                }
            }
            return y;
        });
    }
}
