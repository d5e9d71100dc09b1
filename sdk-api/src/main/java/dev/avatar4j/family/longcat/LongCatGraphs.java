package dev.avatar4j.family.longcat;

import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.backend.GraphContract;
import dev.avatar4j.backend.Sessions;
import dev.avatar4j.family.StreamingVaeDecoder;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.TensorScope;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The graphs of a {@code longcat-avatar} bundle, opened and checked against the family contract.
 * The sessions belong to the scope given to the constructor (the engine's), which closes them,
 * also those opened before a later one failed.
 *
 * <p>The DiT comes as one graph per segment layout and person count (docs/BUNDLE-FORMAT.md):
 * {@code dit-p1} / {@code dit-p1-continuation} are required and opened with the bundle,
 * {@code dit-p2}… and {@code dit-p3}… optional, each pair complete, and opened (and checked) when a
 * request first needs them: each DiT session holds its own copy of the weights (31.7 GB in fp16 at
 * full size), so a one-person generation never loads the multi-person graphs.
 */
final class LongCatGraphs {
    static final long ANY = -1;
    /** The most persons a DiT graph routes (the reference's two speakers plus the silent track). */
    static final int MAX_PERSONS = 3;

    final GraphSession audioEncoder;
    final GraphSession vaeEncoder;
    /** {@code [persons][0 = segment 0, 1 = continuation]}; null until opened. */
    private final GraphSession[][] dits = new GraphSession[MAX_PERSONS + 1][];
    private final boolean[] present = new boolean[MAX_PERSONS + 1];
    final StreamingVaeDecoder.Graphs vaeDecoder;
    private final Bundle bundle;
    private final LongCatConfig cfg;
    private final Backend backend;
    private final SessionOptions options;
    private final TensorScope owner;

    LongCatGraphs(Bundle bundle, LongCatConfig cfg, Backend backend, SessionOptions options, TensorScope owner) {
        this.bundle = bundle;
        this.cfg = cfg;
        this.backend = backend;
        this.options = options;
        this.owner = owner;
        Map<String, GraphContract> contracts = contracts(cfg, bundle::hasGraph);
        audioEncoder = owner.attach(Sessions.open(bundle, "audio-encoder", backend, options,
                contracts.get("audio-encoder")));
        vaeEncoder = owner.attach(Sessions.open(bundle, "vae-encoder", backend, options, contracts.get("vae-encoder")));
        for (int p = 1; p <= MAX_PERSONS; p++) {
            present[p] = contracts.containsKey(key(p, false));
        }
        dit(1, false); // the one-person pair: opened and checked with the bundle
        vaeDecoder = StreamingVaeDecoder.Graphs.open(bundle, cfg.latentChannels(), cfg.caches(), backend, options, owner);
    }

    /** The manifest key of the DiT for {@code persons} and a segment layout. */
    static String key(int persons, boolean continuation) {
        return "dit-p" + persons + (continuation ? "-continuation" : "");
    }

    /** {@return the most persons this bundle's DiT graphs drive} */
    int maxPersons() {
        int n = 1;
        for (int p = 1; p <= MAX_PERSONS; p++) {
            if (present[p]) {
                n = p;
            }
        }
        return n;
    }

    /**
     * The DiT for a person count and a segment layout.
     *
     * @param persons 1..{@link #maxPersons()}
     * @param continuation segment 0's layout ({@code false}) or a later segment's
     * @return the session
     */
    synchronized GraphSession dit(int persons, boolean continuation) {
        if (persons < 1 || persons > MAX_PERSONS || !present[persons]) {
            throw new IllegalArgumentException("no DiT graph for " + persons + " persons");
        }
        if (dits[persons] == null) {
            GraphSession first = open(bundle, cfg, backend, options, owner, persons, false);
            dits[persons] = new GraphSession[] {first, open(bundle, cfg, backend, options, owner, persons, true)};
        }
        return dits[persons][continuation ? 1 : 0];
    }

    /** {@return whether the pair for {@code persons} is open (for tests)} */
    synchronized boolean opened(int persons) {
        return dits[persons] != null;
    }

    private static GraphSession open(Bundle bundle, LongCatConfig cfg, Backend backend, SessionOptions options,
                                     TensorScope owner, int persons, boolean continuation) {
        return owner.attach(Sessions.open(bundle, key(persons, continuation), backend, options,
                ditContract(cfg, persons, continuation)));
    }

    /**
     * The contract of every graph this family opens for a bundle with {@code cfg} whose manifest
     * has the graphs {@code has} accepts: the encoders, each DiT pair present ({@code dit-pP} and
     * {@code dit-pP-continuation}; P = 1 required, the others opened when a request needs them) and
     * the decoder. The session path and an inspection without sessions check the same contracts.
     *
     * @param cfg the bundle's configuration
     * @param has whether the manifest names a graph
     * @return the contracts by graph key
     * @throws BundleException when the DiT graphs are the old single {@code dit} or a pair is incomplete
     */
    static Map<String, GraphContract> contracts(LongCatConfig cfg, Predicate<String> has) {
        long c = cfg.latentChannels();
        Map<String, GraphContract> m = new LinkedHashMap<>();
        m.put("audio-encoder", GraphContract.of("audio-encoder")
                .input("input_features", DType.FLOAT32, 1, cfg.melBins(), 3000)
                .output("hidden_groups", DType.FLOAT32, 1, ANY, LongCatAudio.GROUPS, ANY));
        m.put("vae-encoder", GraphContract.of("vae-encoder")
                .input("video", DType.FLOAT32, 1, 3, ANY, ANY, ANY)
                .output("latent", DType.FLOAT32, 1, c, ANY, ANY, ANY));
        if (has.test("dit")) {
            throw new BundleException(BundleManifest.FILE_NAME + ": graph \"dit\" is the old " + LongCatConfig.FAMILY
                    + " contract (positions and frame_mask inputs); this SDK needs one DiT per segment layout and "
                    + "person count, \"dit-p1\" and \"dit-p1-continuation\" (docs/BUNDLE-FORMAT.md)");
        }
        for (int p = 1; p <= MAX_PERSONS; p++) {
            boolean first = has.test(key(p, false));
            boolean cont = has.test(key(p, true));
            if (first != cont || (p == 1 && !first)) {
                throw new BundleException(BundleManifest.FILE_NAME + ": family " + LongCatConfig.FAMILY + " needs graphs \""
                        + key(p, false) + "\" and \"" + key(p, true) + "\"" + (p == 1 ? "" : " together"));
            }
            if (first) {
                m.put(key(p, false), ditContract(cfg, p, false));
                m.put(key(p, true), ditContract(cfg, p, true));
            }
        }
        m.putAll(StreamingVaeDecoder.Graphs.contracts(c, cfg.caches(), has.test("vae-decoder-first")));
        return m;
    }

    /** The contract of the DiT for {@code persons} in segment 0's layout or a continuation's. */
    private static GraphContract ditContract(LongCatConfig cfg, int persons, boolean continuation) {
        long c = cfg.latentChannels();
        long k = cfg.segmentLatents() + (continuation ? 1 : 0);
        GraphContract contract = GraphContract.of(key(persons, continuation))
                .input("x", DType.FLOAT32, persons == 1 ? ANY : 1, c, k, ANY, ANY)
                .input("t", DType.FLOAT32, persons == 1 ? ANY : 1, k)
                .input("context", DType.FLOAT32, persons == 1 ? ANY : 1, ANY, ANY)
                .input("audio_latter", DType.FLOAT32, persons == 1 ? ANY : 1, persons, cfg.segmentLatents() - 1,
                        LongCatAudioWindows.LATENT_WINDOW, LongCatAudio.GROUPS, ANY);
        if (persons > 1) {
            contract = contract.input("person_mask", DType.FLOAT32, ANY, ANY, ANY);
        }
        return contract.output("velocity", DType.FLOAT32, persons == 1 ? ANY : 1, c, k, ANY, ANY);
    }
}
