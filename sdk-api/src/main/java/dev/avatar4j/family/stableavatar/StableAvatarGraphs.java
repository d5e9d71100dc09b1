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
import java.util.List;

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
        long c = cfg.latentChannels();
        long f = cfg.windowLatents();
        // The DiT first: it has most of the weights (7 GB of 11 at full size), and while a session opens
        // its weights are briefly held twice (the verified bytes and ONNX Runtime's copy), so opening
        // it while nothing else is loaded keeps the peak at twice the DiT rather than twice the DiT
        // plus everything opened before it.
        dit = owner.attach(Sessions.open(bundle, "dit", backend, options, GraphContract.of("dit")
                .input("x", DType.FLOAT32, ANY, c, ANY, ANY, ANY)
                .input("t", DType.FLOAT32, ANY)
                .input("context", DType.FLOAT32, ANY, ANY, ANY)
                .input("clip", DType.FLOAT32, ANY, ANY, ANY)
                .input("y", DType.FLOAT32, ANY, 4 + c, ANY, ANY, ANY)
                .input("audio_tokens", DType.FLOAT32, 1, ANY, ANY)
                .input("audio_index", DType.INT64, f, ANY)
                .input("audio_gate", DType.FLOAT32, ANY)
                .output("velocity", DType.FLOAT32, ANY, c, ANY, ANY, ANY)));
        audioEncoder = owner.attach(Sessions.open(bundle, "audio-encoder", backend, options, GraphContract.of("audio-encoder")
                .input("input_values", DType.FLOAT32, 1, ANY)
                .output("last_hidden_state", DType.FLOAT32, 1, ANY, ANY)));
        imageEncoder = owner.attach(Sessions.open(bundle, "image-encoder", backend, options, GraphContract.of("image-encoder")
                .input("pixel_values", DType.FLOAT32, 1, 3, ANY, ANY)
                .output("image_embeds", DType.FLOAT32, 1, ANY, ANY)));
        clipSize = clipSize(imageEncoder, bundle);
        textEncoder = !bundle.hasGraph("text-encoder") || !cfg.tokenizes() ? null
                : owner.attach(Sessions.open(bundle, "text-encoder", backend, options, GraphContract.of("text-encoder")
                        .input("input_ids", DType.INT64, 1, ANY)
                        .input("attention_mask", DType.INT64, 1, ANY)
                        .output("last_hidden_state", DType.FLOAT32, 1, ANY, ANY)));
        if (bundle.hasGraph("vae-encoder-first")) {
            vaeEncoder = null;
            vaeEncoderFirst = owner.attach(Sessions.open(bundle, "vae-encoder-first", backend, options,
                    cached(GraphContract.of("vae-encoder-first").input("video", DType.FLOAT32, 1, 3, 1, ANY, ANY)
                            .output("latent", DType.FLOAT32, 1, c, 1, ANY, ANY), cfg.encoderCaches(), false)));
            vaeEncoderStep = owner.attach(Sessions.open(bundle, "vae-encoder-step", backend, options,
                    cached(GraphContract.of("vae-encoder-step")
                            .input("video", DType.FLOAT32, 1, 3, cfg.temporalStride(), ANY, ANY)
                            .output("latent", DType.FLOAT32, 1, c, 1, ANY, ANY), cfg.encoderCaches(), true)));
        } else {
            vaeEncoderFirst = null;
            vaeEncoderStep = null;
            vaeEncoder = owner.attach(Sessions.open(bundle, "vae-encoder", backend, options, GraphContract.of("vae-encoder")
                    .input("video", DType.FLOAT32, 1, 3, ANY, ANY, ANY)
                    .output("latent", DType.FLOAT32, 1, c, ANY, ANY, ANY)));
        }
        vaeDecoder = StreamingVaeDecoder.Graphs.open(bundle, c, cfg.caches(), backend, options, owner);
        // graphs exported from checkpoints that do not belong together fail here, not mid-generation
        fits(bundle, imageEncoder, "image-encoder", "image_embeds", 1, "clip", "CLIP tokens");
        fits(bundle, imageEncoder, "image-encoder", "image_embeds", 2, "clip", "CLIP width");
        fits(bundle, audioEncoder, "audio-encoder", "last_hidden_state", 2, "audio_tokens", "audio feature width");
    }

    /**
     * Checks that dimension {@code dim} of {@code producer}'s output equals the same dimension of the
     * DiT's input {@code ditInput}, when both graphs fix it.
     */
    private void fits(Bundle bundle, GraphSession producer, String key, String output, int dim, String ditInput,
                      String what) {
        long a = dimOf(producer.outputs(), output, dim);
        long b = dimOf(dit.inputs(), ditInput, dim);
        if (a > 0 && b > 0 && a != b) {
            throw new BundleException(bundle.directory() + ": the graphs do not fit together: " + key + " gives " + a
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
    private static int clipSize(GraphSession imageEncoder, Bundle bundle) {
        TensorSpec in = imageEncoder.inputs().stream().filter(s -> s.name().equals("pixel_values")).findFirst()
                .orElseThrow();
        long[] d = in.shape();
        if (d[2] < 1 || d[2] != d[3] || d[2] > 4096) {
            throw new BundleException(bundle.directory() + ": image-encoder input pixel_values must have a fixed square "
                    + "size [1, 3, S, S] (S = 224 for CLIP ViT-H/14), is " + in.shapeString());
        }
        return (int) d[2];
    }
}
