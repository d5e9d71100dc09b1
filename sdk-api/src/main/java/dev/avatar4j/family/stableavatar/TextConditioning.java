package dev.avatar4j.family.stableavatar;

import dev.avatar4j.BundleException;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.SafeTensors;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;

/**
 * Text embeddings fed to the DiT as {@code [maxTokens, Dt]}: the bundle's precomputed negative and
 * default prompts (loaded once, owned by the engine's scope), or a custom prompt run through the
 * text encoder (owned by the generation's scope). As in the reference, the encoder output is cut to
 * the true token count and zero-padded back to {@code maxTokens} (the DiT attends to the padding;
 * no mask): every branch's context has the same length {@code maxTokens} whatever its prompt's L,
 * and a real export's DiT pads to its {@code text_len} (512) inside the graph anyway. A precomputed
 * prompt longer than {@code maxTokens} is refused when the bundle loads (the reference cannot run
 * one either; it used to be cut silently).
 */
final class TextConditioning {
    private final StableAvatarConfig cfg;
    private final GraphSession encoder;
    private final Tensor negative;
    private final Tensor defaultPrompt;
    private final int dim;

    TextConditioning(Bundle bundle, StableAvatarConfig cfg, GraphSession encoder, TensorScope owner) {
        this.cfg = cfg;
        this.encoder = encoder;
        this.negative = padded(bundle, "text-negative", owner);
        this.defaultPrompt = padded(bundle, "text-default", owner);
        if (negative.dim(1) != defaultPrompt.dim(1)) {
            throw new BundleException(bundle.directory() + ": text-negative and text-default have different widths");
        }
        this.dim = (int) negative.dim(1);
    }

    /** Reads a [L, D] embedding into a zero-padded [maxTokens, D] tensor of {@code owner} (truncating L). */
    private Tensor padded(Bundle bundle, String key, TensorScope owner) {
        var file = bundle.tensorFile(key).orElseThrow(() -> new BundleException(bundle.directory()
                + ": the manifest has no tensor \"" + key + "\" (family stableavatar needs it)"));
        try (Tensor raw = SafeTensors.readFloat32(file, "embeddings")) {
            if (raw.rank() != 2) {
                throw new BundleException(file + ": tensor \"embeddings\" must be [tokens, dim]");
            }
            long d = raw.dim(1);
            long l = raw.dim(0);
            if (l < 1 || l > cfg.maxTokens()) {
                throw new BundleException(file + ": tensor \"embeddings\" has " + l + " tokens; a prompt must have 1 to "
                        + cfg.maxTokens() + " (text.maxTokens; the DiT's text length)");
            }
            Tensor out = owner.allocate(raw.dtype(), cfg.maxTokens(), d);
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
     * The positive prompt's embedding: the default one (the engine's) when {@code prompt} is null,
     * else a new tensor of {@code scope}.
     */
    Tensor positive(String prompt, TensorScope scope) {
        if (prompt == null) {
            return defaultPrompt;
        }
        if (encoder == null && StableAvatarConfig.SENTENCEPIECE.equals(cfg.tokenizer())) {
            throw new InvalidInputException("this model's text encoder needs the sentencepiece tokenizer, which this "
                    + "SDK does not run yet, so it only supports its built-in prompt; remove the prompt (or export the "
                    + "bundle with the prompt you want: tools/export/stableavatar --prompt TEXT)");
        }
        if (encoder == null) {
            throw new InvalidInputException("this model has no text encoder, so it only supports its built-in "
                    + "prompt; remove the prompt (or export the bundle with the prompt you want: "
                    + "tools/export/stableavatar --prompt TEXT)");
        }
        byte[] bytes = prompt.getBytes(StandardCharsets.UTF_8);
        int n = Math.min(bytes.length, cfg.maxTokens());
        long[] ids = new long[cfg.maxTokens()];
        long[] mask = new long[cfg.maxTokens()];
        for (int i = 0; i < n; i++) {
            ids[i] = (bytes[i] & 0xff) + 1; // utf8-bytes: byte + 1, 0 = padding
            mask[i] = 1;
        }
        try (TensorScope call = scope.newSubScope()) {
            Tensor idT = call.ofLongs(ids, 1, ids.length);
            Tensor maskT = call.ofLongs(mask, 1, mask.length);
            Tensor h = call.attach(encoder.run(Map.of("input_ids", idT, "attention_mask", maskT),
                    Set.of("last_hidden_state"))).get("last_hidden_state");
            if (h.rank() != 3 || h.dim(1) != cfg.maxTokens() || h.dim(2) != dim) {
                throw new BundleException("text encoder returned " + h + ", expected [1," + cfg.maxTokens()
                        + "," + dim + "]");
            }
            Tensor result = scope.allocate(h.dtype(), cfg.maxTokens(), dim);
            MemorySegment.copy(h.segment(), 0, result.segment(), 0, (long) n * dim * 4);
            return result;
        }
    }
}
