package dev.avatar4j.family.stableavatar;

import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.backend.GraphContract;
import dev.avatar4j.backend.Sessions;
import dev.avatar4j.family.StreamingVaeDecoder;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.TensorScope;

/**
 * The graphs of a {@code stableavatar} bundle, opened and checked against the family's contract
 * (docs/BUNDLE-FORMAT.md). The text encoder is optional. The sessions belong to the scope given to
 * the constructor (the engine's), which closes them, also those opened before a later one failed.
 */
final class StableAvatarGraphs {
    static final long ANY = -1;

    final GraphSession audioEncoder;
    final GraphSession imageEncoder;
    final GraphSession textEncoder; // null when the bundle has none
    final GraphSession vaeEncoder;
    final GraphSession dit;
    final GraphSession vaeDecoder;

    StableAvatarGraphs(Bundle bundle, StableAvatarConfig cfg, Backend backend, SessionOptions options,
                       TensorScope owner) {
        long c = cfg.latentChannels();
        long f = cfg.windowLatents();
        audioEncoder = owner.attach(Sessions.open(bundle, "audio-encoder", backend, options, GraphContract.of("audio-encoder")
                .input("input_values", DType.FLOAT32, 1, ANY)
                .output("last_hidden_state", DType.FLOAT32, 1, ANY, ANY)));
        imageEncoder = owner.attach(Sessions.open(bundle, "image-encoder", backend, options, GraphContract.of("image-encoder")
                .input("pixel_values", DType.FLOAT32, 1, 3, 224, 224)
                .output("image_embeds", DType.FLOAT32, 1, ANY, ANY)));
        textEncoder = !bundle.hasGraph("text-encoder") ? null
                : owner.attach(Sessions.open(bundle, "text-encoder", backend, options, GraphContract.of("text-encoder")
                        .input("input_ids", DType.INT64, 1, ANY)
                        .input("attention_mask", DType.INT64, 1, ANY)
                        .output("last_hidden_state", DType.FLOAT32, 1, ANY, ANY)));
        vaeEncoder = owner.attach(Sessions.open(bundle, "vae-encoder", backend, options, GraphContract.of("vae-encoder")
                .input("video", DType.FLOAT32, 1, 3, ANY, ANY, ANY)
                .output("latent", DType.FLOAT32, 1, c, ANY, ANY, ANY)));
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
        GraphContract dec = GraphContract.of("vae-decoder")
                .input("latent", DType.FLOAT32, 1, c, 1, ANY, ANY)
                .input("first", DType.INT64, 1)
                .output("frames", DType.FLOAT32, 1, 3, ANY, ANY, ANY);
        for (StreamingVaeDecoder.Cache cache : cfg.caches()) {
            dec.input(cache.input(), DType.FLOAT32, 1, ANY, ANY, ANY, ANY);
            dec.output(cache.output(), DType.FLOAT32, 1, ANY, ANY, ANY, ANY);
        }
        vaeDecoder = owner.attach(Sessions.open(bundle, "vae-decoder", backend, options, dec));
    }
}
