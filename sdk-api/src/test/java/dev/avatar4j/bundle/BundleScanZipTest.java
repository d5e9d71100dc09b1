package dev.avatar4j.bundle;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link BundleScan} of a {@code .zip}: extracted into the cache, scanned, and its lease released. */
class BundleScanZipTest {
    @TempDir
    Path tmp;

    @Test
    void aZipIsScannedAndLeftEvictable() throws IOException {
        Path models = Path.of("").toAbsolutePath();
        while (!Files.isRegularFile(models.resolve("models/latentsync-tiny/avatar-bundle.json"))) {
            models = models.getParent();
        }
        Path zip = tmp.resolve("latentsync-tiny.zip");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip));
             Stream<Path> files = Files.list(models.resolve("models/latentsync-tiny"))) {
            for (Path f : files.sorted().toList()) {
                out.putNextEntry(new ZipEntry(f.getFileName().toString()));
                out.write(Files.readAllBytes(f));
                out.closeEntry();
            }
        }
        String before = System.getProperty(BundleCache.CACHE_PROPERTY);
        System.setProperty(BundleCache.CACHE_PROPERTY, tmp.resolve("cache").toString());
        try {
            BundleScan.Result r = BundleScan.scan(zip, true, (done, total, file) -> { });

            assertThat(r.problems()).isEmpty();
            assertThat(r.directory()).startsWith(tmp.resolve("cache").toRealPath());
            int graphFiles = BundleManifest.parse(Files.readAllBytes(models.resolve(
                    "models/latentsync-tiny/" + BundleManifest.FILE_NAME))).graphFiles().size();
            assertThat(r.graphs()).hasSize(graphFiles).allMatch(g -> g.signature() != null);
            assertThat(BundleCache.leased(r.directory())).as("released after the scan").isFalse();
        } finally {
            if (before == null) {
                System.clearProperty(BundleCache.CACHE_PROPERTY);
            } else {
                System.setProperty(BundleCache.CACHE_PROPERTY, before);
            }
        }
    }
}
