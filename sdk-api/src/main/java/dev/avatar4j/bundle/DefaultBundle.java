package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The bundles built into the SDK jar: the default model {@code preview} (BlazeFace + Silero VAD,
 * a CPU-only talking portrait) and the tiny random {@code stableavatar} demo model. Graph
 * runtimes need real files, so a bundle is extracted once into a cache directory keyed by the manifest's
 * digest, under the shared bundle cache ({@code $AVATAR4J_CACHE}, else {@code ~/.cache/avatar4j}, else the
 * temp directory). Files listed in the manifest's optional {@code notices} section (licences,
 * provenance) are extracted with the graphs.
 */
public final class DefaultBundle {
    /** Class-path folder of the built-in default bundle ({@code preview}). */
    public static final String RESOURCE_DIR = "/META-INF/avatar4j/bundles/preview/";
    /** Class-path folder of the built-in tiny random {@code stableavatar} bundle. */
    public static final String STABLEAVATAR_TINY_DIR = "/META-INF/avatar4j/bundles/stableavatar-tiny/";

    private DefaultBundle() {
    }

    /** Extracts (once) and opens the built-in default bundle. */
    public static Bundle open() {
        return open(RESOURCE_DIR);
    }

    /** Extracts (once) and opens the built-in bundle in class-path folder {@code resourceDir} (ending in {@code /}). */
    public static Bundle open(String resourceDir) {
        byte[] json = resource(resourceDir, BundleManifest.FILE_NAME);
        BundleManifest manifest = BundleManifest.parse(json);
        String digest = Bundle.sha256Of(json).substring(0, 16);
        Path target = BundleCache.root().resolve("bundles").resolve(manifest.name() + "-" + digest);
        if (!Files.isRegularFile(target.resolve(BundleManifest.FILE_NAME))) {
            extract(resourceDir, manifest, json, target);
        }
        return Bundle.open(target);
    }

    private static void extract(String resourceDir, BundleManifest manifest, byte[] json, Path target) {
        Path staging = null;
        try {
            staging = BundleCache.newStaging(target);
            List<BundleManifest.FileEntry> entries = new ArrayList<>(manifest.files());
            if (manifest.root().has("notices")) {
                JsonObject notices = manifest.root().object("notices");
                for (String k : notices.keys()) {
                    JsonObject n = notices.object(k);
                    entries.add(new BundleManifest.FileEntry(k, n.string("file"), n.string("sha256"), n));
                }
            }
            java.util.Set<String> copied = new java.util.HashSet<>();
            for (BundleManifest.FileEntry e : entries) {
                if (e.file().contains("/") || e.file().contains("\\") || e.file().startsWith(".")) {
                    throw new BundleException("built-in bundle file names must be plain: " + e.file());
                }
                if (!copied.add(e.file())) {
                    continue; // a graph variant may share its graph's external data file
                }
                try (InputStream in = open(resourceDir, e.file())) {
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

    private static InputStream open(String resourceDir, String name) {
        InputStream in = DefaultBundle.class.getResourceAsStream(resourceDir + name);
        if (in == null) {
            throw new BundleException("the built-in model is missing from the SDK jar (" + resourceDir + name
                    + "); configure a model with AVATAR4J_MODEL or AvatarModel.load(dir)");
        }
        return in;
    }

    private static byte[] resource(String resourceDir, String name) {
        try (InputStream in = open(resourceDir, name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new BundleException("cannot read built-in model resource " + name + ": " + e.getMessage(), e);
        }
    }
}
