package dev.avatar4j.family.stableavatar;

import dev.avatar4j.BundleException;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.SafeTensors;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;

/**
 * Text embeddings fed to the DiT as {@code [maxTokens, Dt]}: the bundle's precomputed negative and
 * default prompts (loaded once), or a custom prompt run through the text encoder. As in the
 * reference, the encoder output is cut to the true token count and zero-padded back to
 * {@code maxTokens} (the DiT attends to the padding; no mask).
 */
final class TextConditioning implements AutoCloseable {
    private final StableAvatarConfig cfg;
    private final GraphSession encoder;
    private final Tensor negative;
    private final Tensor defaultPrompt;
    private final int dim;

    TextConditioning(Bundle bundle, StableAvatarConfig cfg, GraphSession encoder) {
        this.cfg = cfg;
        this.encoder = encoder;
        Tensor neg = null;
        Tensor def = null;
        try {
            neg = padded(load(bundle, "text-negative"));
            def = padded(load(bundle, "text-default"));
            if (neg.dim(1) != def.dim(1)) {
                throw new BundleException(bundle.directory() + ": text-negative and text-default have different widths");
            }
        } catch (RuntimeException e) {
            if (neg != null) {
                neg.close();
            }
            throw e;
        }
        this.negative = neg;
        this.defaultPrompt = def;
        this.dim = (int) neg.dim(1);
    }

    private static Tensor load(Bundle bundle, String key) {
        var file = bundle.tensorFile(key).orElseThrow(() -> new BundleException(bundle.directory()
                + ": the manifest has no tensor \"" + key + "\" (family stableavatar needs it)"));
        Tensor t = SafeTensors.readFloat32(file, "embeddings");
        if (t.rank() != 2) {
            t.close();
            throw new BundleException(file + ": tensor \"embeddings\" must be [tokens, dim]");
        }
        return t;
    }

    /** Copies a [L, D] embedding into a zero-padded [maxTokens, D] tensor (truncating L). */
    private Tensor padded(Tensor raw) {
        try (raw) {
            long d = raw.dim(1);
            long l = Math.min(raw.dim(0), cfg.maxTokens());
            Tensor out = Tensor.allocate(raw.dtype(), cfg.maxTokens(), d);
            MemorySegment.copy(raw.segment(), 0, out.segment(), 0, l * d * 4);
            return out;
        }
    }

    int dim() {
        return dim;
    }

    Tensor negative() {
        return negative;
    }

    /**
     * The positive prompt's embedding: the default one (shared; do not close) when {@code prompt}
     * is null, else a new tensor the caller closes.
     */
    Tensor positive(String prompt) {
        if (prompt == null) {
            return defaultPrompt;
        }
        if (encoder == null || cfg.tokenizer() == null) {
            throw new InvalidInputException("this model has no text encoder, so it only supports its built-in "
                    + "prompt; remove the prompt");
        }
        byte[] bytes = prompt.getBytes(StandardCharsets.UTF_8);
        int n = Math.min(bytes.length, cfg.maxTokens());
        long[] ids = new long[cfg.maxTokens()];
        long[] mask = new long[cfg.maxTokens()];
        for (int i = 0; i < n; i++) {
            ids[i] = (bytes[i] & 0xff) + 1; // utf8-bytes: byte + 1, 0 = padding
            mask[i] = 1;
        }
        try (Tensor idT = Tensor.ofLongs(ids, 1, ids.length); Tensor maskT = Tensor.ofLongs(mask, 1, mask.length)) {
            Map<String, Tensor> out = encoder.run(Map.of("input_ids", idT, "attention_mask", maskT),
                    Set.of("last_hidden_state"));
            try (Tensor h = out.get("last_hidden_state")) {
                if (h.rank() != 3 || h.dim(1) != cfg.maxTokens() || h.dim(2) != dim) {
                    throw new BundleException("text encoder returned " + h + ", expected [1," + cfg.maxTokens()
                            + "," + dim + "]");
                }
                Tensor result = Tensor.allocate(h.dtype(), cfg.maxTokens(), dim);
                MemorySegment.copy(h.segment(), 0, result.segment(), 0, (long) n * dim * 4);
                return result;
            }
        }
    }

    /** Whether {@code t} is one of the shared embeddings (not to be closed by a generation). */
    boolean isShared(Tensor t) {
        return t == negative || t == defaultPrompt;
    }

    @Override
    public void close() {
        negative.close();
        defaultPrompt.close();
    }

}
