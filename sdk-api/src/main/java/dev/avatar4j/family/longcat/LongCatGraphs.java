package dev.avatar4j.family.longcat;

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
 * The graphs of a {@code longcat-avatar} bundle, opened and checked against the family contract.
 * The sessions belong to the scope given to the constructor (the engine's), which closes them,
 * also those opened before a later one failed.
 */
final class LongCatGraphs {
    static final long ANY = -1;

    final GraphSession audioEncoder;
    final GraphSession vaeEncoder;
    final GraphSession dit;
    final StreamingVaeDecoder.Graphs vaeDecoder;

    LongCatGraphs(Bundle bundle, LongCatConfig cfg, Backend backend, SessionOptions options, TensorScope owner) {
        long c = cfg.latentChannels();
        int w = LongCatAudioWindows.FRAME_WINDOW;
        int u = LongCatAudioWindows.LATENT_WINDOW;
        audioEncoder = owner.attach(Sessions.open(bundle, "audio-encoder", backend, options,
                GraphContract.of("audio-encoder")
                        .input("input_features", DType.FLOAT32, 1, cfg.melBins(), 3000)
                        .output("hidden_groups", DType.FLOAT32, 1, ANY, LongCatAudio.GROUPS, ANY)));
        vaeEncoder = owner.attach(Sessions.open(bundle, "vae-encoder", backend, options,
                GraphContract.of("vae-encoder")
                        .input("video", DType.FLOAT32, 1, 3, ANY, ANY, ANY)
                        .output("latent", DType.FLOAT32, 1, c, ANY, ANY, ANY)));
        dit = owner.attach(Sessions.open(bundle, "dit", backend, options, GraphContract.of("dit")
                .input("x", DType.FLOAT32, ANY, c, ANY, ANY, ANY)
                .input("t", DType.FLOAT32, ANY, ANY)
                .input("positions", DType.FLOAT32, ANY)
                .input("frame_mask", DType.FLOAT32, ANY, ANY)
                .input("context", DType.FLOAT32, ANY, ANY, ANY)
                .input("audio_first", DType.FLOAT32, ANY, ANY, w, LongCatAudio.GROUPS, ANY)
                .input("audio_latter", DType.FLOAT32, ANY, ANY, ANY, u, LongCatAudio.GROUPS, ANY)
                .input("person_mask", DType.FLOAT32, ANY, ANY, ANY)
                .output("velocity", DType.FLOAT32, ANY, c, ANY, ANY, ANY)));
        vaeDecoder = StreamingVaeDecoder.Graphs.open(bundle, c, cfg.caches(), backend, options, owner);
    }
}
