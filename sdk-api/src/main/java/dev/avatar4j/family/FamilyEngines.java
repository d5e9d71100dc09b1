package dev.avatar4j.family;

import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.family.latentsync.LatentSyncEngine;
import dev.avatar4j.family.longcat.LongCatConfig;
import dev.avatar4j.family.longcat.LongCatEngine;
import dev.avatar4j.family.preview.PreviewConfig;
import dev.avatar4j.family.preview.PreviewEngine;
import dev.avatar4j.family.stableavatar.StableAvatarConfig;
import dev.avatar4j.family.stableavatar.StableAvatarEngine;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.SessionOptions;

/** Creates the {@link FamilyEngine} for a bundle's family. */
public final class FamilyEngines {
    private FamilyEngines() {
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
        throw new BundleException(bundle.directory() + ": unknown model family \"" + family + "\" (this SDK runs: " + StableAvatarConfig.FAMILY
                + ", " + PreviewConfig.FAMILY + ", " + LongCatConfig.FAMILY + ", " + LatentSyncEngine.FAMILY + ")");
    }
}
