package dev.avatar4j.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.AvatarModel;
import dev.avatar4j.BundleException;
import dev.avatar4j.testing.FakeBundles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bundle cache shared by threads and processes (issue 22, items 2 and 4): concurrent first loads
 * all succeed, refused bundles leave nothing, the zip-bomb ratio holds for the archive as a whole,
 * stale staging folders of dead processes are swept and live ones kept, and the cache is bounded
 * (least recently used first, never a bundle in use).
 */
class BundleCacheTest {
    @TempDir
    Path tmp;

    private Path cache() {
        return tmp.resolve("cache");
    }

    /** A fake bundle zipped; {@code variant} changes its name (and so its digest). */
    private Path zip(String variant) throws IOException {
        return zip(variant, Map.of());
    }

    private Path zip(String variant, Map<String, String> replacements) throws IOException {
        Map<String, String> r = new LinkedHashMap<>(replacements);
        r.put("\"fake-tiny\"", "\"fake-tiny" + variant + "\"");
        Path dir = FakeBundles.write(tmp.resolve("src-" + variant + "-" + System.nanoTime()), r);
        return zipFolder(dir, tmp.resolve("model" + variant + "-" + System.nanoTime() + ".zip"));
    }

    private static Path zipFolder(Path dir, Path zip) throws IOException {
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip));
             Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.filter(Files::isRegularFile).sorted().toList()) {
                out.putNextEntry(new ZipEntry(dir.relativize(p).toString().replace('\\', '/')));
                out.write(Files.readAllBytes(p));
                out.closeEntry();
            }
        }
        return zip;
    }

    private static List<String> names(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The bundles and staging folders in {@code dir}: {@link #names} without the lease files. */
    private static List<String> bundles(Path dir) throws IOException {
        return names(dir).stream().filter(n -> !n.endsWith(".lease")).toList();
    }

    // ---------------------------------------------------------------- item 2: concurrent first loads

    @Test
    void concurrentFirstLoadsOfOneZipInOneJvmAllSucceed() throws Exception {
        Path zip = zip("");
        int threads = 6;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < 8; round++) {
                Path cache = tmp.resolve("cache-round-" + round);
                CyclicBarrier start = new CyclicBarrier(threads);
                List<Future<Bundle>> loads = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    loads.add(pool.submit(() -> {
                        start.await();
                        return ZipBundle.open(zip, cache, ZipBundle.Limits.DEFAULT);
                    }));
                }
                for (Future<Bundle> f : loads) {
                    Bundle b = f.get(60, TimeUnit.SECONDS); // throws if a load failed
                    assertThat(b.manifest().name()).isEqualTo("fake-tiny");
                    ZipBundle.release(b.directory());
                }
                assertThat(bundles(cache)).as("one copy, no staging left").hasSize(1)
                        .allMatch(ZipBundle::isCacheEntry);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void concurrentFirstLoadsInSeveralProcessesAllSucceedForAZipAndForTheBuiltInBundle() throws Exception {
        Path zip = zip("");
        for (String what : new String[] {zip.toString(), "preview"}) {
            Path cache = tmp.resolve("proc-cache-" + (what.equals("preview") ? "preview" : "zip"));
            Path go = tmp.resolve("go-" + cache.getFileName());
            List<Process> children = new ArrayList<>();
            List<Path> results = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                Path result = tmp.resolve(cache.getFileName() + "-result-" + i);
                results.add(result);
                children.add(child(cache, what, go, result, null, Long.MAX_VALUE));
            }
            Thread.sleep(1500); // let them all start and wait on the signal
            Files.writeString(go, "go");
            for (int i = 0; i < children.size(); i++) {
                Process p = children.get(i);
                assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
                String log = new String(p.getInputStream().readAllBytes());
                assertThat(p.exitValue()).as(what + " child " + i + ": " + readOr(results.get(i)) + " " + log).isZero();
            }
            Path folder = what.equals("preview") ? cache.resolve("bundles") : cache.resolve(ZipBundle.CACHE_DIR);
            assertThat(bundles(folder)).as("one copy, no staging left").hasSize(1);
        }
    }

    private static String readOr(Path p) throws IOException {
        return Files.exists(p) ? Files.readString(p) : "(no result)";
    }

    private Process child(Path cache, String zip, Path go, Path result, Path hold, long maxCache) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", CacheChild.class.getName(), zip, go.toString(),
                result.toString()));
        if (hold != null) {
            cmd.add(hold.toString());
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("AVATAR4J_CACHE", cache.toString());
        pb.environment().put(ZipBundle.MAX_CACHE_ENV, Long.toString(maxCache));
        return pb.start();
    }

    @Test
    void publishingOntoAFolderAnotherExtractionFilledKeepsTheirsAndDropsOurs() throws Exception {
        Path target = cache().resolve("bundle");
        Files.createDirectories(target);
        Files.writeString(target.resolve("avatar-bundle.json"), "theirs");
        Path staging = BundleCache.newStaging(target);
        Files.writeString(staging.resolve("avatar-bundle.json"), "ours");
        BundleCache.publish(staging, target); // Linux: FileSystemException "Directory not empty"
        BundleCache.deleteTree(staging);
        assertThat(Files.readString(target.resolve("avatar-bundle.json"))).isEqualTo("theirs");
        assertThat(names(cache())).containsExactly("bundle");
    }

    // ---------------------------------------------------------------- item 4: nothing left, bounded

    @Test
    void aZipBundleRefusedWhenTheModelLoadsLeavesNothingInTheCache() throws Exception {
        Path unknownFamily = zip("-u", Map.of("\"family\": \"stableavatar\"", "\"family\": \"no-such-family\""));
        String before = System.getProperty(BundleCache.CACHE_PROPERTY);
        System.setProperty(BundleCache.CACHE_PROPERTY, cache().toString());
        try {
            assertThatThrownBy(() -> AvatarModel.builder(unknownFamily).backend("fake").load())
                    .isInstanceOf(BundleException.class);
            assertThat(names(cache().resolve(ZipBundle.CACHE_DIR))).as("cache after a refused bundle").isEmpty();
        } finally {
            if (before == null) {
                System.clearProperty(BundleCache.CACHE_PROPERTY);
            } else {
                System.setProperty(BundleCache.CACHE_PROPERTY, before);
            }
        }
    }

    @Test
    void aBundleThatFailsVerificationAfterExtractionIsRemoved() throws Exception {
        // the manifest names a tensor file that is not a safetensors file: extraction succeeds (its digest
        // matches), opening the bundle refuses it
        Path src = FakeBundles.write(tmp.resolve("src-bad"));
        Files.writeString(src.resolve("text_negative.safetensors"), "not a safetensors file");
        String manifest = Files.readString(src.resolve("avatar-bundle.json"));
        String oldSha = manifest.replaceAll("(?s).*\"text-negative\": \\{\"file\": \"text_negative.safetensors\", "
                + "\"sha256\": \"([0-9a-f]{64})\".*", "$1");
        Files.writeString(src.resolve("avatar-bundle.json"), manifest.replace(oldSha,
                FakeBundles.sha256(Files.readAllBytes(src.resolve("text_negative.safetensors")))));
        Path zip = zipFolder(src, tmp.resolve("bad.zip"));
        try {
            Bundle b = ZipBundle.open(zip, cache(), ZipBundle.Limits.DEFAULT);
            // opened: this bundle's verification does not look inside tensors; the model load refuses it
            ZipBundle.discard(b.directory());
        } catch (BundleException expected) {
            // refused by Bundle.open
        }
        assertThat(names(cache())).as("cache after a refused bundle").isEmpty();
    }

    @Test
    void theRatioLimitHoldsForTheArchiveAsAWhole() throws Exception {
        // 150 named files of 64 KiB zeros: each within its own 64 KiB grace, together ~1000x the archive
        int n = 150;
        int size = 64 << 10;
        byte[] zeros = new byte[size];
        String sha = FakeBundles.sha256(zeros);
        StringBuilder pads = new StringBuilder("\"tensors\": {");
        for (int i = 0; i < n; i++) {
            pads.append("\"pad-").append(i).append("\": {\"file\": \"pad/").append(i).append(".bin\", \"sha256\": \"")
                    .append(sha).append("\"},");
        }
        Path src = FakeBundles.write(tmp.resolve("src-many"), Map.of("\"tensors\": {", pads.toString()));
        Files.createDirectories(src.resolve("pad"));
        for (int i = 0; i < n; i++) {
            Files.write(src.resolve("pad").resolve(i + ".bin"), zeros);
        }
        Path zip = zipFolder(src, tmp.resolve("many.zip"));
        long inflated = (long) n * size;
        assertThat(inflated).as("the archive inflates far beyond 200x").isGreaterThan(200 * Files.size(zip) + size);
        ZipBundle.Limits limits = new ZipBundle.Limits(1000, 1L << 30, 1L << 34, size, 200);
        assertThatThrownBy(() -> ZipBundle.open(zip, cache(), limits)).isInstanceOf(BundleException.class)
                .hasMessageContaining("times the size of the whole archive");
        assertThat(names(cache())).isEmpty();
    }

    @Test
    void staleStagingFoldersOfDeadProcessesAreSweptAndLiveOnesKept() throws Exception {
        Path zips = cache();
        Files.createDirectories(zips);
        String sha = "ab".repeat(32);
        // a process killed during extraction: folder and lock file, lock free
        Path dead = zips.resolve(sha + ".1111.part");
        Files.createDirectories(dead.resolve("sub"));
        Files.write(dead.resolve("sub").resolve("big.bin"), new byte[4096]);
        Files.createFile(zips.resolve(sha + ".1111.part.lock"));
        // killed while deleting its folder: no lock file any more
        Path orphan = zips.resolve(sha + ".2222.part");
        Files.createDirectories(orphan);
        // a live extraction: its lock is held (here by another channel of this JVM)
        Path live = zips.resolve(sha + ".3333.part");
        Files.createDirectories(live);
        Path liveLock = zips.resolve(sha + ".3333.part.lock");
        try (FileChannel ch = FileChannel.open(liveLock, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock held = ch.lock()) {
            Bundle b = ZipBundle.open(zip(""), zips, ZipBundle.Limits.DEFAULT);
            ZipBundle.release(b.directory());
            assertThat(held.isValid()).isTrue();
            assertThat(bundles(zips)).containsExactlyInAnyOrder(b.directory().getFileName().toString(),
                    sha + ".3333.part", sha + ".3333.part.lock");
        }
    }

    @Test
    void aStagingFolderIsRemovedWhenExtractionFails() throws Exception {
        Path zip = zip("", Map.of("text_default.safetensors\", \"sha256\": \"", "text_default.safetensors\", \"sha256\": \"0"));
        assertThatThrownBy(() -> ZipBundle.open(zip, cache(), ZipBundle.Limits.DEFAULT)).isInstanceOf(BundleException.class);
        assertThat(names(cache())).isEmpty();
    }

    @Test
    void theCacheIsBoundedLeastRecentlyUsedFirstAndNeverEvictsABundleInUse() throws Exception {
        Path a = zip("-a");
        Path b = zip("-b");
        Path c = zip("-c");
        Bundle first = ZipBundle.open(a, cache(), ZipBundle.Limits.DEFAULT, Long.MAX_VALUE);
        long one = Files.walk(first.directory()).filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        long bound = 2 * one + one / 2; // room for two bundles
        ZipBundle.release(first.directory());
        Thread.sleep(20);
        Bundle second = ZipBundle.open(b, cache(), ZipBundle.Limits.DEFAULT, bound);
        ZipBundle.release(second.directory());
        Thread.sleep(20);
        Bundle third = ZipBundle.open(c, cache(), ZipBundle.Limits.DEFAULT, bound);
        assertThat(bundles(cache())).as("the least recently used (a) evicted")
                .containsExactlyInAnyOrder(second.directory().getFileName().toString(),
                        third.directory().getFileName().toString());
        // third stays in use; with a bound of one bundle, opening a again evicts b but never c
        Bundle again = ZipBundle.open(a, cache(), ZipBundle.Limits.DEFAULT, one);
        assertThat(bundles(cache())).containsExactlyInAnyOrder(again.directory().getFileName().toString(),
                third.directory().getFileName().toString());
        assertThat(Bundle.open(third.directory()).manifest().name()).isEqualTo("fake-tiny-c");
        ZipBundle.release(third.directory());
        ZipBundle.release(again.directory());
    }

    @Test
    void aBundleInUseByAnotherProcessIsNeverEvicted() throws Exception {
        Path a = zip("-pa");
        Path go = tmp.resolve("go-hold");
        Path hold = tmp.resolve("release-hold");
        Path result = tmp.resolve("hold-result");
        Files.writeString(go, "go");
        Process p = child(tmp.resolve("shared"), a.toString(), go, result, hold, Long.MAX_VALUE);
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!Files.exists(result) && System.nanoTime() < deadline && p.isAlive()) {
                Thread.sleep(10);
            }
            assertThat(readOr(result)).startsWith("ok");
            Path zips = tmp.resolve("shared").resolve(ZipBundle.CACHE_DIR);
            Bundle other = ZipBundle.open(zip("-pb"), zips, ZipBundle.Limits.DEFAULT, 0); // bound 0: evict all it can
            ZipBundle.release(other.directory());
            assertThat(bundles(zips)).as("the other process's bundle stays").hasSize(2);
            Files.writeString(hold, "done");
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            Bundle third = ZipBundle.open(zip("-pc"), zips, ZipBundle.Limits.DEFAULT, 0);
            assertThat(bundles(zips)).as("once released it may go").containsExactly(third.directory().getFileName().toString());
            ZipBundle.release(third.directory());
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void sizesParse() {
        assertThat(BundleCache.parseSize("20g")).isEqualTo(20L << 30);
        assertThat(BundleCache.parseSize("512M")).isEqualTo(512L << 20);
        assertThat(BundleCache.parseSize("1000")).isEqualTo(1000);
        assertThat(BundleCache.parseSize(" 2 KB")).isEqualTo(2048);
        assertThatThrownBy(() -> BundleCache.parseSize("lots")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> BundleCache.parseSize("-1")).isInstanceOf(IllegalArgumentException.class);
    }
}
