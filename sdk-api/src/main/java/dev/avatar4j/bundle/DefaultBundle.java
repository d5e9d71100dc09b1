package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The demo bundle built into the SDK jar (a tiny random {@code stableavatar} model). Graph
 * runtimes need real files, so it is extracted once into a cache directory keyed by the manifest's
 * digest, under the shared bundle cache ({@code $AVATAR4J_CACHE}, else {@code ~/.cache/avatar4j}, else the
 * temp directory).
 */
public final class DefaultBundle {
    /** Class-path folder of the built-in bundle. */
    public static final String RESOURCE_DIR = "/META-INF/avatar4j/bundles/stableavatar-tiny/";

    private DefaultBundle() {
    }

    /** Extracts (once) and opens the built-in bundle. */
    public static Bundle open() {
        byte[] json = resource(BundleManifest.FILE_NAME);
        BundleManifest manifest = BundleManifest.parse(json);
        String digest = Bundle.sha256Of(json).substring(0, 16);
        Path target = BundleCache.root().resolve("bundles").resolve(manifest.name() + "-" + digest);
        if (!Files.isRegularFile(target.resolve(BundleManifest.FILE_NAME))) {
            extract(manifest, json, target);
        }
        return Bundle.open(target);
    }

    private static void extract(BundleManifest manifest, byte[] json, Path target) {
        Path staging = null;
        try {
            staging = BundleCache.newStaging(target);
            List<BundleManifest.FileEntry> entries = new ArrayList<>(manifest.graphs().values());
            entries.addAll(manifest.tensors().values());
            for (BundleManifest.FileEntry e : entries) {
                if (e.file().contains("/") || e.file().contains("\\") || e.file().startsWith(".")) {
                    throw new BundleException("built-in bundle file names must be plain: " + e.file());
                }
                try (InputStream in = open(e.file())) {
                    Files.copy(in, staging.resolve(e.file()));
                }
            }
            Files.write(staging.resolve(BundleManifest.FILE_NAME), json);
            BundleCache.publish(staging, target);
        } catch (IOException e) {
            throw BundleCache.unwritable("the built-in model", target, e);
        } finally {
            if (staging != null) {
                BundleCache.deleteTree(staging); // nothing left once published
            }
        }
    }

    private static InputStream open(String name) {
        InputStream in = DefaultBundle.class.getResourceAsStream(RESOURCE_DIR + name);
        if (in == null) {
            throw new BundleException("the built-in model is missing from the SDK jar (" + RESOURCE_DIR + name
                    + "); configure a model with AVATAR4J_MODEL or AvatarModel.load(dir)");
        }
        return in;
    }

    private static byte[] resource(String name) {
        try (InputStream in = open(name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new BundleException("cannot read built-in model resource " + name + ": " + e.getMessage(), e);
        }
    }
}
