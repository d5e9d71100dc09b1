package dev.avatar4j.family;

import dev.avatar4j.BundleException;
import dev.avatar4j.backend.GraphContract;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.family.latentsync.LatentSyncEngine;
import dev.avatar4j.family.longcat.LongCatConfig;
import dev.avatar4j.family.longcat.LongCatEngine;
import dev.avatar4j.family.preview.PreviewConfig;
import dev.avatar4j.family.preview.PreviewEngine;
import dev.avatar4j.family.stableavatar.StableAvatarConfig;
import dev.avatar4j.family.stableavatar.StableAvatarEngine;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.spi.TensorSpec;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Creates the {@link FamilyEngine} for a bundle's family. */
public final class FamilyEngines {
    private FamilyEngines() {
    }

    /**
     * The contracts of the graphs the engine of {@code manifest}'s family would open, from the
     * manifest alone (the family's sections validated as loading validates them): each
     * engine checks its sessions against these same contracts, so an inspection that checks graph
     * signatures read from the files against them reaches the verdict loading would.
     *
     * @param manifest a bundle's manifest
     * @return the contracts by graph key, in the order the engine opens the graphs
     * @throws BundleException if the family is unknown, or its sections or set of graphs are invalid
     */
    public static Map<String, GraphContract> contracts(BundleManifest manifest) {
        String family = manifest.family();
        if (family.equals(StableAvatarConfig.FAMILY)) {
            return StableAvatarEngine.contracts(manifest);
        }
        if (family.equals(PreviewConfig.FAMILY)) {
            PreviewConfig.from(manifest);
            return PreviewEngine.contracts();
        }
        if (family.equals(LongCatConfig.FAMILY)) {
            return LongCatEngine.contracts(manifest);
        }
        if (family.equals(LatentSyncEngine.FAMILY)) {
            return LatentSyncEngine.contracts(manifest);
        }
        throw unknown(family);
    }

    /**
     * Checks what no single graph's contract can, that the graphs fit together, from their
     * signatures: what the engine checks on its sessions when it opens (StableAvatar: the image and
     * audio encoders' widths against the DiT's inputs; nothing for the other families). Call it
     * once every graph involved has passed its contract.
     *
     * @param manifest the bundle's manifest
     * @param inputs   the inputs of a graph by key
     * @param outputs  the outputs of a graph by key
     * @param where    names the bundle in messages
     * @throws BundleException when the graphs do not fit together
     */
    public static void checkTogether(BundleManifest manifest, Function<String, List<TensorSpec>> inputs,
                                     Function<String, List<TensorSpec>> outputs, String where) {
        if (manifest.family().equals(StableAvatarConfig.FAMILY)) {
            StableAvatarEngine.checkTogether(inputs, outputs, where);
        }
    }

    /** The engine for {@code bundle}, with its graphs opened on {@code backend} and checked. */
    public static FamilyEngine<?> create(Bundle bundle, Backend backend, SessionOptions options) {
        String family = bundle.manifest().family();
        if (family.equals(StableAvatarConfig.FAMILY)) {
            return StableAvatarEngine.open(bundle, backend, options);
        }
        if (family.equals(PreviewConfig.FAMILY)) {
            return PreviewEngine.open(bundle, backend, options);
        }
        if (family.equals(LongCatConfig.FAMILY)) {
            return LongCatEngine.open(bundle, backend, options);
        }
        if (family.equals(LatentSyncEngine.FAMILY)) {
            return LatentSyncEngine.open(bundle, backend, options);
        }
        throw new BundleException(bundle.directory() + ": " + unknown(family).getMessage());
    }

    private static BundleException unknown(String family) {
        return new BundleException("unknown model family \"" + family + "\" (this SDK runs: " + StableAvatarConfig.FAMILY
                + ", " + PreviewConfig.FAMILY + ", " + LongCatConfig.FAMILY + ", " + LatentSyncEngine.FAMILY + ")");
    }
}
