package dev.avatar4j.family.stableavatar;

import dev.avatar4j.BackendException;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.Progress;
import dev.avatar4j.sampling.Guidance;
import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.spi.DeviceTensor;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The guided velocity of one window: the guidance branches batched into one DiT call, combined
 * with the guidance coefficients (docs/ARCHITECTURE.md §3.1b — guidance is data). Buffers are allocated
 * once per generation in the generation's scope and reused by every call; only the batch rows of branches whose coefficient
 * is non-zero are run. The DiT's inputs and output are {@link DeviceTensor}s of the generation's
 * {@link DeviceScope}: the constants (text context, CLIP tokens, gates, {@code y} per window length)
 * are uploaded once per generation, a window's audio features once per window, and per call only the
 * window's latents and the timestep go in and the branches' velocities come out (the guidance and
 * Euler arithmetic stay on the host).
 */
final class GuidedDit implements WindowVelocity {
    /**
     * One guidance branch: which text embedding it sees and the gate on the audio adapter's output
     * (0 = the reference's unconditional branch, whose adapter output is zeroed).
     */
    record Branch(boolean positiveText, float audioGate) {
    }

    private final TensorScope scope;
    private final DeviceScope device;
    private final GraphSession dit;
    private final GenerationContext ctx;
    private final int branches;
    private final Guidance combine;
    private final long c;
    private final long hw;
    private final long lh;
    private final long lw;
    private final int f;
    // device tensors: allocated once per generation, bound to the DiT by name on every call
    private final DeviceTensor xBatch;     // [B, C, F, h, w] (views cut to k)
    private final DeviceTensor velocity;   // [B, C, F, h, w]
    private final DeviceTensor t;          // [B]
    private final DeviceTensor context;    // [B, Lt, Dt], uploaded once
    private final DeviceTensor clip;       // [B, 257, Dc], uploaded once
    private final DeviceTensor gate;       // [B], uploaded once
    private final Tensor tHost;            // [B]
    private final MemorySegment velocityStaging; // [B, C, F, h, w] on the host, when the device is not the host
    private final Tensor yFull;      // [4+C, F, h, w]
    private final Map<Integer, DeviceTensor> yByLength = new HashMap<>();
    private final WindowAudio audio;
    // each live window's audio features on the device (uploaded once per window, not per step)
    private final Map<Integer, AudioSlot> audioOf = new HashMap<>();
    private final Map<Integer, AudioSlot> slotOwner = new HashMap<>(); // the full-size slot behind each window's views
    private final ArrayDeque<AudioSlot> freeAudio = new ArrayDeque<>();
    private final Map<String, DeviceTensor> in = new HashMap<>();

    /** Device buffers for one window's audio tokens and index, reused by later windows. */
    private record AudioSlot(DeviceTensor tokens, DeviceTensor index) {
        boolean fits(Tensor tok, Tensor idx) {
            return tok.byteSize() <= tokens.byteSize() && idx.byteSize() <= index.byteSize()
                    && tok.dim(2) == tokens.shape()[2];
        }
    }

    GuidedDit(TensorScope scope, DeviceScope device, GraphSession dit, GenerationContext ctx, StableAvatarConfig cfg,
              Guidance guidance, List<Branch> all, Tensor negText, Tensor posText, ImageConditioning image,
              WindowAudio audio, int lh, int lw) {
        this.scope = scope;
        this.device = device;
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
        this.xBatch = device.allocate(DType.FLOAT32, branches, c, f, lh, lw);
        this.velocity = device.allocate(DType.FLOAT32, branches, c, f, lh, lw);
        this.velocityStaging = velocity.host() != null ? null
                : scope.allocate(DType.FLOAT32, branches, c, f, lh, lw).segment();
        this.t = device.allocate(DType.FLOAT32, branches);
        this.tHost = scope.allocate(DType.FLOAT32, branches);
        this.context = device.allocate(DType.FLOAT32, branches, textRows, textDim);
        this.clip = device.allocate(DType.FLOAT32, branches, clipTokens, clipDim);
        this.gate = device.allocate(DType.FLOAT32, branches);
        long textBytes = negText.byteSize();
        write(context, dst -> {
            for (int i = 0; i < branches; i++) {
                MemorySegment.copy((all.get(active.get(i)).positiveText() ? posText : negText).segment(), 0, dst,
                        i * textBytes, textBytes);
            }
        });
        write(clip, dst -> {
            for (int i = 0; i < branches; i++) {
                MemorySegment.copy(image.clip.segment(), 0, dst, i * image.clip.byteSize(), image.clip.byteSize());
            }
        });
        write(gate, dst -> {
            for (int i = 0; i < branches; i++) {
                dst.setAtIndex(ValueLayout.JAVA_FLOAT, i, all.get(active.get(i)).audioGate());
            }
        });
    }

    /**
     * Fills a device tensor from the host: in place when its memory is host memory, else through a
     * temporary host buffer and one upload (per-generation constants: once per generation).
     */
    private void write(DeviceTensor dst, Consumer<MemorySegment> writer) {
        Tensor h = dst.host();
        if (h != null) {
            writer.accept(h.segment());
            return;
        }
        try (TensorScope tmp = scope.newSubScope()) {
            Tensor staged = tmp.allocate(dst.dtype(), dst.shape());
            writer.accept(staged.segment());
            dst.copyFrom(staged.segment());
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
        // the window's latents go in once; the other branches' rows are copied on the device
        xBatch.copyFrom(x, 0, perBranch * 4);
        for (int b = 1; b < branches; b++) {
            xBatch.copyFrom(xBatch, 0, b * perBranch * 4, perBranch * 4);
        }
        for (int b = 0; b < branches; b++) {
            tHost.segment().setAtIndex(ValueLayout.JAVA_FLOAT, b, timestep);
        }
        t.copyFrom(tHost.segment());
        AudioSlot a = audioOn(window);
        DeviceTensor vk = velocity.view(branches, c, k, lh, lw);
        in.clear();
        in.put("x", xBatch.view(branches, c, k, lh, lw));
        in.put("t", t);
        in.put("context", context);
        in.put("clip", clip);
        in.put("y", yFor(k));
        in.put("audio_tokens", a.tokens());
        in.put("audio_index", a.index());
        in.put("audio_gate", gate);
        dit.run(device, in, Map.of("velocity", vk));
        // the branches' velocities come back for the guidance and Euler arithmetic on the host
        MemorySegment v = vk.toHost(velocityStaging == null ? MemorySegment.NULL : velocityStaging);
        combine.combine(v, perBranch, velocityOut);
        checkFinite(window, step, velocityOut, perBranch, v);
        ctx.advance(Progress.Stage.DENOISING, 1);
    }

    /** The window's audio features on the device: uploaded on the window's first call, then reused. */
    private AudioSlot audioOn(Window window) {
        AudioSlot slot = audioOf.get(window.index());
        if (slot != null) {
            return slot;
        }
        WindowAudio.Features a = audio.of(window);
        Tensor tok = a.tokens();
        Tensor idx = a.index();
        AudioSlot free = null;
        for (java.util.Iterator<AudioSlot> it = freeAudio.iterator(); it.hasNext(); ) {
            AudioSlot s = it.next();
            if (s.fits(tok, idx)) {
                it.remove();
                free = s;
                break;
            }
        }
        if (free == null) {
            free = new AudioSlot(device.allocate(tok.dtype(), tok.shape()), device.allocate(idx.dtype(), idx.shape()));
        }
        AudioSlot bound = new AudioSlot(free.tokens().view(tok.shape()), free.index().view(idx.shape()));
        bound.tokens().copyFrom(tok.segment());
        bound.index().copyFrom(idx.segment());
        audioOf.put(window.index(), bound);
        slotOwner.put(window.index(), free);
        return bound;
    }

    /** Window {@code w} has run its last step: its device audio buffers serve later windows. */
    void release(Window w) {
        audioOf.remove(w.index());
        AudioSlot s = slotOwner.remove(w.index());
        if (s != null) {
            freeAudio.add(s);
        }
    }

    /**
     * Fails the generation when the guided velocity holds a NaN or an infinity (a broken or
     * overflowing graph, e.g. float16 on a backend without the right precision), instead of
     * letting it spread through the latents into black or garbage frames. One linear scan of the
     * window's velocity, negligible next to the DiT call; the raw branches are scanned only to
     * name the culprit once a problem is found.
     */
    private void checkFinite(Window window, int step, MemorySegment combined, long n, MemorySegment raw) {
        for (long i = 0; i < n; i++) {
            float v = combined.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            if (!Float.isFinite(v)) {
                throw new BackendException("dit produced a non-finite velocity (" + v + ") at window "
                        + window.index() + " (latent frames " + window.start() + ".." + (window.end() - 1)
                        + "), step " + step + ", element " + i + describeBranches(n, raw)
                        + "; the graph or the backend's precision is broken for these inputs");
            }
        }
    }

    private String describeBranches(long n, MemorySegment raw) {
        StringBuilder bad = new StringBuilder();
        for (int b = 0; b < branches; b++) {
            for (long i = 0; i < n; i++) {
                if (!Float.isFinite(raw.getAtIndex(ValueLayout.JAVA_FLOAT, b * n + i))) {
                    bad.append(bad.isEmpty() ? "" : ", ").append(b);
                    break;
                }
            }
        }
        return bad.isEmpty() ? " (every branch finite: the guidance combination overflowed)"
                : " (non-finite in the raw output of guidance branch " + bad + " of " + branches + ")";
    }

    /** {@code y[:, :, :k]} repeated for every branch; built and uploaded once per distinct window length. */
    private DeviceTensor yFor(int k) {
        return yByLength.computeIfAbsent(k, len -> {
            long ch = 4 + c;
            DeviceTensor y = device.allocate(DType.FLOAT32, branches, ch, len, lh, lw);
            long run = (long) len * hw * 4;
            write(y, dst -> {
                for (int b = 0; b < branches; b++) {
                    for (long cc = 0; cc < ch; cc++) {
                        MemorySegment.copy(yFull.segment(), cc * f * hw * 4, dst, ((b * ch + cc) * len * hw) * 4, run);
                    }
                }
            });
            return y;
        });
    }
}
