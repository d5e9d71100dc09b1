package dev.avatar4j.family.stableavatar;

import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.backend.GraphContract;
import dev.avatar4j.backend.Sessions;
import dev.avatar4j.family.StreamingVaeDecoder;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.TensorScope;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The graphs of a {@code stableavatar} bundle, opened and checked against the family's contract
 * (docs/BUNDLE-FORMAT.md). The text encoder is optional (and only opened when the bundle's tokenizer
 * can be run); the VAE encoder is the streamed pair when the bundle has it (preferred: the
 * whole-clip graph is not even opened), else the whole-clip graph; the decoder is the first-frame +
 * step pair, or the older single graph with a {@code first} input. Each session loads the variant
 * the backend prefers ({@link Backend#graphVariants()}). The sessions belong to the scope given to
 * the constructor (the engine's), which closes them, also those opened before a later one failed.
 */
final class StableAvatarGraphs {
    static final long ANY = -1;

    final GraphSession audioEncoder;
    final GraphSession imageEncoder;
    /** The image encoder's input side S ({@code pixel_values [1, 3, S, S]}), read from the graph. */
    final int clipSize;
    final GraphSession textEncoder; // null when the bundle has none, or its tokenizer is not implemented
    final GraphSession vaeEncoder; // null when the streamed pair is used
    final GraphSession vaeEncoderFirst; // null with the whole-clip encoder
    final GraphSession vaeEncoderStep;
    final GraphSession dit;
    final StreamingVaeDecoder.Graphs vaeDecoder;

    StableAvatarGraphs(Bundle bundle, StableAvatarConfig cfg, Backend backend, SessionOptions options,
                       TensorScope owner) {
        Map<String, GraphContract> contracts = contracts(cfg, bundle::hasGraph);
        // The DiT first: it has most of the weights (7 GB of 11 at full size), and while a session opens
        // its weights are briefly held twice (the verified bytes and ONNX Runtime's copy), so opening
        // it while nothing else is loaded keeps the peak at twice the DiT rather than twice the DiT
        // plus everything opened before it.
        dit = open(bundle, "dit", backend, options, owner, contracts);
        audioEncoder = open(bundle, "audio-encoder", backend, options, owner, contracts);
        imageEncoder = open(bundle, "image-encoder", backend, options, owner, contracts);
        clipSize = clipSize(imageEncoder.inputs(), bundle.directory().toString());
        textEncoder = !contracts.containsKey("text-encoder") ? null
                : open(bundle, "text-encoder", backend, options, owner, contracts);
        if (contracts.containsKey("vae-encoder-first")) {
            vaeEncoder = null;
            vaeEncoderFirst = open(bundle, "vae-encoder-first", backend, options, owner, contracts);
            vaeEncoderStep = open(bundle, "vae-encoder-step", backend, options, owner, contracts);
        } else {
            vaeEncoderFirst = null;
            vaeEncoderStep = null;
            vaeEncoder = open(bundle, "vae-encoder", backend, options, owner, contracts);
        }
        vaeDecoder = StreamingVaeDecoder.Graphs.open(bundle, cfg.latentChannels(), cfg.caches(), backend, options, owner);
        // graphs exported from checkpoints that do not belong together fail here, not mid-generation
        Map<String, GraphSession> byKey = Map.of("dit", dit, "image-encoder", imageEncoder, "audio-encoder", audioEncoder);
        checkTogether(k -> byKey.get(k).inputs(), k -> byKey.get(k).outputs(), bundle.directory().toString());
    }

    /**
     * Checks what no single graph's contract can: that the graphs fit together (the image encoder's
     * input is a fixed square, its tokens and width are the DiT's {@code clip}, the audio encoder's
     * width is the DiT's {@code audio_tokens}). Run on the sessions when the bundle loads, and on the
     * signatures read from the files when it is inspected.
     *
     * @param inputs  the inputs of graph {@code dit}, {@code image-encoder} or {@code audio-encoder}
     * @param outputs their outputs
     * @param where   names the bundle in messages
     * @throws BundleException naming both graphs and the dimension when they do not fit
     */
    static void checkTogether(Function<String, List<TensorSpec>> inputs, Function<String, List<TensorSpec>> outputs,
                              String where) {
        clipSize(inputs.apply("image-encoder"), where);
        List<TensorSpec> dit = inputs.apply("dit");
        fits(where, outputs.apply("image-encoder"), "image-encoder", "image_embeds", 1, dit, "clip", "CLIP tokens");
        fits(where, outputs.apply("image-encoder"), "image-encoder", "image_embeds", 2, dit, "clip", "CLIP width");
        fits(where, outputs.apply("audio-encoder"), "audio-encoder", "last_hidden_state", 2, dit, "audio_tokens",
                "audio feature width");
    }

    /**
     * The contract of every graph this family opens for a bundle with {@code cfg} whose manifest
     * has the graphs {@code has} accepts, in the order they are opened: the session path and an
     * inspection without sessions check the same contracts.
     *
     * @param cfg the bundle's configuration
     * @param has whether the manifest names a graph
     * @return the contracts by graph key
     */
    static Map<String, GraphContract> contracts(StableAvatarConfig cfg, Predicate<String> has) {
        long c = cfg.latentChannels();
        long f = cfg.windowLatents();
        Map<String, GraphContract> m = new LinkedHashMap<>();
        m.put("dit", GraphContract.of("dit")
                .input("x", DType.FLOAT32, ANY, c, ANY, ANY, ANY)
                .input("t", DType.FLOAT32, ANY)
                .input("context", DType.FLOAT32, ANY, ANY, ANY)
                .input("clip", DType.FLOAT32, ANY, ANY, ANY)
                .input("y", DType.FLOAT32, ANY, 4 + c, ANY, ANY, ANY)
                .input("audio_tokens", DType.FLOAT32, 1, ANY, ANY)
                .input("audio_index", DType.INT64, f, ANY)
                .input("audio_gate", DType.FLOAT32, ANY)
                .output("velocity", DType.FLOAT32, ANY, c, ANY, ANY, ANY));
        m.put("audio-encoder", GraphContract.of("audio-encoder")
                .input("input_values", DType.FLOAT32, 1, ANY)
                .output("last_hidden_state", DType.FLOAT32, 1, ANY, ANY));
        m.put("image-encoder", GraphContract.of("image-encoder")
                .input("pixel_values", DType.FLOAT32, 1, 3, ANY, ANY)
                .output("image_embeds", DType.FLOAT32, 1, ANY, ANY));
        if (has.test("text-encoder") && cfg.tokenizes()) {
            m.put("text-encoder", GraphContract.of("text-encoder")
                    .input("input_ids", DType.INT64, 1, ANY)
                    .input("attention_mask", DType.INT64, 1, ANY)
                    .output("last_hidden_state", DType.FLOAT32, 1, ANY, ANY));
        }
        if (has.test("vae-encoder-first")) {
            m.put("vae-encoder-first", cached(GraphContract.of("vae-encoder-first")
                    .input("video", DType.FLOAT32, 1, 3, 1, ANY, ANY)
                    .output("latent", DType.FLOAT32, 1, c, 1, ANY, ANY), cfg.encoderCaches(), false));
            m.put("vae-encoder-step", cached(GraphContract.of("vae-encoder-step")
                    .input("video", DType.FLOAT32, 1, 3, cfg.temporalStride(), ANY, ANY)
                    .output("latent", DType.FLOAT32, 1, c, 1, ANY, ANY), cfg.encoderCaches(), true));
        } else {
            m.put("vae-encoder", GraphContract.of("vae-encoder")
                    .input("video", DType.FLOAT32, 1, 3, ANY, ANY, ANY)
                    .output("latent", DType.FLOAT32, 1, c, ANY, ANY, ANY));
        }
        m.putAll(StreamingVaeDecoder.Graphs.contracts(c, cfg.caches(), has.test("vae-decoder-first")));
        return m;
    }

    private static GraphSession open(Bundle bundle, String key, Backend backend, SessionOptions options,
                                     TensorScope owner, Map<String, GraphContract> contracts) {
        return owner.attach(Sessions.open(bundle, key, backend, options, contracts.get(key)));
    }

    /**
     * Checks that dimension {@code dim} of {@code producer}'s output equals the same dimension of the
     * DiT's input {@code ditInput}, when both graphs fix it.
     */
    private static void fits(String where, List<TensorSpec> producer, String key, String output, int dim,
                             List<TensorSpec> dit, String ditInput, String what) {
        long a = dimOf(producer, output, dim);
        long b = dimOf(dit, ditInput, dim);
        if (a > 0 && b > 0 && a != b) {
            throw new BundleException(where + ": the graphs do not fit together: " + key + " gives " + a
                    + " " + what + " (" + output + " dimension " + dim + "), the dit takes " + b + " (" + ditInput
                    + "); were they exported from the same model?");
        }
    }

    /** The size of dimension {@code dim} of the named tensor, or −1 when unknown. */
    static long dimOf(List<TensorSpec> specs, String name, int dim) {
        for (TensorSpec s : specs) {
            if (s.name().equals(name) && dim < s.shape().length) {
                return s.shape()[dim];
            }
        }
        return -1;
    }

    private static GraphContract cached(GraphContract g, List<StreamingVaeDecoder.Cache> caches, boolean step) {
        return StreamingVaeDecoder.Graphs.withCaches(g, caches, step);
    }

    /** S of the image encoder's {@code pixel_values [1, 3, S, S]}: fixed and square, as CLIP's position table. */
    private static int clipSize(List<TensorSpec> imageEncoderInputs, String where) {
        TensorSpec in = imageEncoderInputs.stream().filter(s -> s.name().equals("pixel_values")).findFirst()
                .orElseThrow();
        long[] d = in.shape();
        if (d[2] < 1 || d[2] != d[3] || d[2] > 4096) {
            throw new BundleException(where + ": image-encoder input pixel_values must have a fixed square "
                    + "size [1, 3, S, S] (S = 224 for CLIP ViT-H/14), is " + in.shapeString());
        }
        return (int) d[2];
    }
}
