package dev.avatar4j.family.longcat;

import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.engine.GraphContract;
import dev.avatar4j.engine.Sessions;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.DType;

/** The graphs of a {@code longcat-avatar} bundle, opened and checked against the family contract. */
final class LongCatGraphs implements AutoCloseable {
    static final long ANY = -1;

    final GraphSession audioEncoder;
    final GraphSession vaeEncoder;
    final GraphSession dit;
    final GraphSession vaeDecoder;

    LongCatGraphs(Bundle bundle, LongCatConfig cfg, Backend backend, SessionOptions options) {
        long c = cfg.latentChannels();
        int w = LongCatAudioWindows.FRAME_WINDOW;
        int u = LongCatAudioWindows.LATENT_WINDOW;
        GraphSession a = null;
        GraphSession ve = null;
        GraphSession d = null;
        GraphSession vd = null;
        try {
            a = Sessions.open(bundle, "audio-encoder", backend, options, GraphContract.of("audio-encoder")
                    .input("input_features", DType.FLOAT32, 1, cfg.melBins(), 3000)
                    .output("hidden_groups", DType.FLOAT32, 1, ANY, LongCatAudio.GROUPS, ANY));
            ve = Sessions.open(bundle, "vae-encoder", backend, options, GraphContract.of("vae-encoder")
                    .input("video", DType.FLOAT32, 1, 3, ANY, ANY, ANY)
                    .output("latent", DType.FLOAT32, 1, c, ANY, ANY, ANY));
            d = Sessions.open(bundle, "dit", backend, options, GraphContract.of("dit")
                    .input("x", DType.FLOAT32, ANY, c, ANY, ANY, ANY)
                    .input("t", DType.FLOAT32, ANY, ANY)
                    .input("positions", DType.FLOAT32, ANY)
                    .input("frame_mask", DType.FLOAT32, ANY, ANY)
                    .input("context", DType.FLOAT32, ANY, ANY, ANY)
                    .input("audio_first", DType.FLOAT32, ANY, ANY, w, LongCatAudio.GROUPS, ANY)
                    .input("audio_latter", DType.FLOAT32, ANY, ANY, ANY, u, LongCatAudio.GROUPS, ANY)
                    .input("person_mask", DType.FLOAT32, ANY, ANY, ANY)
                    .output("velocity", DType.FLOAT32, ANY, c, ANY, ANY, ANY));
            GraphContract dec = GraphContract.of("vae-decoder")
                    .input("latent", DType.FLOAT32, 1, c, 1, ANY, ANY)
                    .input("first", DType.INT64, 1)
                    .output("frames", DType.FLOAT32, 1, 3, ANY, ANY, ANY);
            for (LongCatConfig.Cache cache : cfg.caches()) {
                dec.input(cache.input(), DType.FLOAT32, 1, ANY, ANY, ANY, ANY);
                dec.output(cache.output(), DType.FLOAT32, 1, ANY, ANY, ANY, ANY);
            }
            vd = Sessions.open(bundle, "vae-decoder", backend, options, dec);
        } catch (RuntimeException e) {
            Sessions.closeAll(a, ve, d, vd);
            throw e;
        }
        audioEncoder = a;
        vaeEncoder = ve;
        dit = d;
        vaeDecoder = vd;
    }

    @Override
    public void close() {
        Sessions.closeAll(audioEncoder, vaeEncoder, dit, vaeDecoder);
    }
}
