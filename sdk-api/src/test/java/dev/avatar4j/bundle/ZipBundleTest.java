package dev.avatar4j.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.BundleException;
import dev.avatar4j.RenderResult;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.TestMedia;
import dev.avatar4j.testing.TestMedia.RecordingSink;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Zip bundles are untrusted input: a valid one loads and generates like a directory; every hostile
 * one (zip-slip names, links, duplicates, too many entries, oversized files, bombs) is refused with a
 * {@link BundleException} naming the zip and the entry, writes nothing outside the cache and leaves no
 * staging directory behind.
 */
class ZipBundleTest {
    @TempDir
    Path tmp;

    private Path cache() {
        return tmp.resolve("cache");
    }

    /** The files of a valid fake bundle, by name. */
    private Map<String, byte[]> bundleFiles() throws IOException {
        Path dir = FakeBundles.write(tmp.resolve("src-" + System.nanoTime()));
        Map<String, byte[]> files = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                files.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        return files;
    }

    private static Path writeZip(Path zip, Map<String, byte[]> entries) throws IOException {
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                out.putNextEntry(new ZipEntry(e.getKey()));
                out.write(e.getValue());
                out.closeEntry();
            }
        }
        return zip;
    }

    private Path validZip(String prefix) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        bundleFiles().forEach((k, v) -> entries.put(prefix + k, v));
        return writeZip(tmp.resolve("model.zip"), entries);
    }

    private Path zipWith(Map<String, byte[]> extra) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>(bundleFiles());
        entries.putAll(extra);
        return writeZip(tmp.resolve("evil.zip"), entries);
    }

    private Bundle open(Path zip) {
        return ZipBundle.open(zip, cache(), ZipBundle.Limits.DEFAULT);
    }

    /** Refused with a message naming the zip and {@code entry}; nothing left in the cache. */
    private void assertRefused(Path zip, ZipBundle.Limits limits, String... fragments) throws IOException {
        assertThatThrownBy(() -> ZipBundle.open(zip, cache(), limits)).isInstanceOf(BundleException.class)
                .hasMessageContaining(zip.toString()).hasMessageContaining(fragments[0])
                .satisfies(e -> {
                    for (String f : fragments) {
                        assertThat(e.getMessage()).contains(f);
                    }
                });
        assertCacheEmpty();
    }

    private void assertRefused(Path zip, String... fragments) throws IOException {
        assertRefused(zip, ZipBundle.Limits.DEFAULT, fragments);
    }

    private void assertCacheEmpty() throws IOException {
        if (Files.exists(cache())) {
            try (Stream<Path> s = Files.list(cache())) {
                assertThat(s.toList()).as("cache after a refused zip").isEmpty();
            }
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- valid zips

    @Test
    void aValidZipLoadsAndGeneratesWithTheFakeBackend() throws IOException {
        Path zip = validZip("");
        try (AvatarModel m = AvatarModel.builder(zip).backend("fake").load()) {
            assertThat(m.name()).isEqualTo("fake-tiny");
            assertThat(m.directory().toString()).contains(ZipBundle.CACHE_DIR);
            RecordingSink sink = new RecordingSink();
            RenderResult r = Avatar.from(TestMedia.gradient(40, 30)).speak(TestMedia.speechLike(1.0, 16000), 16000)
                    .model(m).seed(1).render(sink);
            assertThat(r.frames()).isPositive();
            assertThat(sink.frames).hasSize(r.frames());
            assertThat(sink.completed).isTrue();
        }
    }

    @Test
    void aZipIsExtractedOnceByDigestAndOnlyTheNamedFiles() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>(bundleFiles());
        entries.put("README.txt", bytes("not named by the manifest"));
        entries.put("docs/", new byte[0]);
        entries.put("docs/notes.md", bytes("neither"));
        Path zip = writeZip(tmp.resolve("model.zip"), entries);
        Bundle b = open(zip);
        Path dir = b.directory();
        assertThat(dir.getParent()).isEqualTo(cache().toRealPath());
        assertThat(dir.getFileName().toString()).matches("[0-9a-f]{64}");
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactlyInAnyOrderElementsOf(
                    bundleFiles().keySet());
        }
        try (Stream<Path> s = Files.list(cache())) { // the bundle and its lease file: no staging directory left
            assertThat(s.map(p -> p.getFileName().toString()).toList())
                    .containsExactlyInAnyOrder(dir.getFileName().toString(), dir.getFileName() + ".lease");
        }
        long modified = Files.getLastModifiedTime(dir.resolve("dit.onnx")).toMillis();
        Bundle again = open(zip);
        assertThat(again.directory()).isEqualTo(dir);
        assertThat(Files.getLastModifiedTime(dir.resolve("dit.onnx")).toMillis()).isEqualTo(modified);
    }

    @Test
    void theTensorRtProfilesNextToTheGraphsAreExtractedToo() throws IOException {
        // the TensorRT backend reads them next to the graphs: a zipped bundle must keep its profiles
        // and per-graph precisions (an fp32 VAE would otherwise be built in fp16)
        byte[] profiles = bytes("dit.onnx/@precision = bf16\n");
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("m/", new byte[0]);
        bundleFiles().forEach((k, v) -> entries.put("m/" + k, v));
        entries.put("m/tensorrt-profiles.properties", profiles);
        Bundle b = open(writeZip(tmp.resolve("model.zip"), entries));
        assertThat(b.directory().resolve("tensorrt-profiles.properties")).hasBinaryContent(profiles);
    }

    @Test
    void anOversizedCompanionFileIsRefused() throws IOException {
        byte[] big = new byte[(int) ZipBundle.MAX_COMPANION_BYTES + 1];
        java.util.Arrays.fill(big, (byte) '#');
        assertRefused(zipWith(Map.of("tensorrt-profiles.properties", big)), "tensorrt-profiles.properties",
                "more than the limit of " + ZipBundle.MAX_COMPANION_BYTES);
    }

    @Test
    void theManifestMayBeInsideASingleTopLevelFolder() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("fake-tiny/", new byte[0]);
        bundleFiles().forEach((k, v) -> entries.put("fake-tiny/" + k, v));
        entries.put("__MACOSX/fake-tiny/._dit.onnx", bytes("resource fork"));
        Bundle b = open(writeZip(tmp.resolve("model.zip"), entries));
        assertThat(b.manifest().name()).isEqualTo("fake-tiny");
        assertThat(Files.exists(b.directory().resolve("fake-tiny"))).isFalse();
        assertThat(Files.exists(b.directory().resolve("__MACOSX"))).isFalse();
    }

    @Test
    void bundleOpenAcceptsAZip() throws IOException {
        Path zip = validZip("");
        // through the public entry point, which uses the real cache root
        assertThat(Bundle.open(zip).manifest().name()).isEqualTo("fake-tiny");
        assertThat(ZipBundle.isZip(zip)).isTrue();
        assertThat(ZipBundle.isZip(tmp)).isFalse();
    }

    // ---------------------------------------------------------------- not a bundle zip

    @Test
    void aZipWithoutManifestOrWithTwoTopLevelFolders() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        bundleFiles().forEach((k, v) -> entries.put("a/" + k, v));
        entries.put("b/other.txt", bytes("x"));
        assertRefused(writeZip(tmp.resolve("two.zip"), entries), "has no avatar-bundle.json");
        Map<String, byte[]> files = bundleFiles();
        files.remove(BundleManifest.FILE_NAME);
        assertRefused(writeZip(tmp.resolve("none.zip"), files), "has no avatar-bundle.json");
    }

    @Test
    void garbageNamedZip() throws IOException {
        Path zip = Files.write(tmp.resolve("garbage.zip"), bytes("this is not a zip file at all"));
        assertRefused(zip, "not a valid zip");
        Path empty = Files.write(tmp.resolve("empty.zip"), new byte[0]);
        assertRefused(empty, "not a valid zip");
    }

    @Test
    void aFileTheManifestNamesIsMissingOrTampered() throws IOException {
        Map<String, byte[]> files = bundleFiles();
        files.remove("dit.onnx");
        assertRefused(writeZip(tmp.resolve("missing.zip"), files), "has no entry dit.onnx");
        Map<String, byte[]> tampered = bundleFiles();
        tampered.put("dit.onnx", bytes("fake graph dit, with a backdoor"));
        assertRefused(writeZip(tmp.resolve("tampered.zip"), tampered), "dit.onnx", "corrupt or was modified");
    }

    @Test
    void aBrokenManifestNamesTheZip() throws IOException {
        Map<String, byte[]> files = bundleFiles();
        files.put(BundleManifest.FILE_NAME, bytes("{\"format\": 2}"));
        assertRefused(writeZip(tmp.resolve("format.zip"), files), "\"format\"");
        files.put(BundleManifest.FILE_NAME, new byte[BundleManifest.MAX_BYTES + 1]);
        assertRefused(writeZip(tmp.resolve("big.zip"), files), BundleManifest.FILE_NAME, "too large");
    }

    @Test
    void aManifestPathLeavingTheBundleIsRefused() throws IOException {
        Map<String, byte[]> files = bundleFiles();
        String json = new String(files.get(BundleManifest.FILE_NAME), StandardCharsets.UTF_8);
        files.put(BundleManifest.FILE_NAME, bytes(json.replace("\"file\": \"dit.onnx\"", "\"file\": \"../dit.onnx\"")));
        assertRefused(writeZip(tmp.resolve("escape.zip"), files), "../dit.onnx", "(dit)");
    }

    // ---------------------------------------------------------------- hostile entries

    @Test
    void zipSlipNamesAreRefusedAndNothingIsWrittenOutside() throws IOException {
        for (String evil : List.of("../evil.txt", "sub/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt", "C:evil.txt",
                "..\\evil.txt", "sub\\evil.txt", "./evil.txt", "a//evil.txt", "..")) {
            Path zip = zipWith(Map.of(evil, bytes("pwned")));
            assertRefused(zip, "entry \"" + evil + "\"", "unsafe name");
        }
        // control characters are refused and escaped in the message, which stays one line
        assertRefused(zipWith(Map.of("evil\nname", bytes("x"))), "entry \"evil\\u000aname\"", "unsafe name");
        assertThat(tmp.resolve("evil.txt")).doesNotExist();
        assertThat(tmp.getParent().resolve("evil.txt")).doesNotExist();
    }

    @Test
    void symlinkEntriesAreRefused() throws IOException {
        Path zip = zipWith(Map.of("link.onnx", bytes("/etc/passwd")));
        setUnixMode(zip, "link.onnx", 0120777);
        assertRefused(zip, "entry \"link.onnx\"", "symbolic link");
        Path fifo = zipWith(Map.of("pipe", new byte[0]));
        setUnixMode(fifo, "pipe", 0010644);
        assertRefused(fifo, "entry \"pipe\"", "special file");
        // a regular file with Unix mode bits is fine
        Path regular = zipWith(Map.of("notes.txt", bytes("hi")));
        setUnixMode(regular, "notes.txt", 0100644);
        assertThat(open(regular).manifest().name()).isEqualTo("fake-tiny");
    }

    @Test
    void duplicateEntriesAreRefused() throws IOException {
        // ZipOutputStream refuses exact duplicates: write a same-length name and patch it
        Path zip = zipWith(Map.of("dit.onnQ", bytes("fake graph dit")));
        byte[] b = Files.readAllBytes(zip);
        replaceAll(b, bytes("dit.onnQ"), bytes("dit.onnx"));
        Files.write(zip, b);
        assertRefused(zip, "entry \"dit.onnx\"", "duplicate");
        Path folded = zipWith(Map.of("DIT.onnx", bytes("fake graph dit")));
        assertRefused(folded, "entry \"", "duplicate");
    }

    @Test
    void tooManyEntriesAreRefused() throws IOException {
        Map<String, byte[]> extra = new LinkedHashMap<>();
        for (int i = 0; i < ZipBundle.MAX_ENTRIES; i++) {
            extra.put("pad/" + i, new byte[0]);
        }
        assertRefused(zipWith(extra), "entries, more than the limit of " + ZipBundle.MAX_ENTRIES);
    }

    @Test
    void entryAndTotalSizeLimitsCountInflatedBytes() throws IOException {
        Path zip = validZip("");
        long biggest = bundleFiles().entrySet().stream().filter(e -> !e.getKey().equals(BundleManifest.FILE_NAME))
                .mapToLong(e -> e.getValue().length).max().orElseThrow();
        long sum = bundleFiles().entrySet().stream().filter(e -> !e.getKey().equals(BundleManifest.FILE_NAME))
                .mapToLong(e -> e.getValue().length).sum();
        assertRefused(zip, new ZipBundle.Limits(1000, biggest - 1, Long.MAX_VALUE, 1 << 20, 200),
                "entry \"", "more than the limit of " + (biggest - 1));
        assertRefused(zip, new ZipBundle.Limits(1000, Long.MAX_VALUE, sum - 1, 1 << 20, 200),
                "entry \"", "over the limit of " + (sum - 1));
        assertThat(ZipBundle.open(zip, cache(), new ZipBundle.Limits(1000, biggest, sum, 1 << 20, 200))
                .manifest().name()).isEqualTo("fake-tiny");
    }

    @Test
    void aZipBombIsRefusedQuicklyWithoutInflatingEverything() throws IOException {
        // dit.onnx inflates to 1 GiB of zeros from about 1 MB: a deflate segment for 1 MiB of zeros,
        // flushed so that it stands alone, repeated 1024 times (deflating 1 GiB here would take seconds)
        long gib = 1L << 30;
        byte[] zeros = new byte[1 << 20];
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        d.setInput(zeros);
        ByteArrayOutputStream segment = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        for (int n; (n = d.deflate(buf, 0, buf.length, Deflater.FULL_FLUSH)) > 0 || !d.needsInput(); ) {
            segment.write(buf, 0, n);
        }
        d.end();
        byte[] last = {0x03, 0x00}; // an empty final block with fixed codes
        CRC32 crc = new CRC32();
        for (long n = 0; n < gib; n += zeros.length) {
            crc.update(zeros);
        }
        byte[] seg = segment.toByteArray();
        byte[] deflated = new byte[seg.length * 1024 + last.length];
        for (int i = 0; i < 1024; i++) {
            System.arraycopy(seg, 0, deflated, i * seg.length, seg.length);
        }
        System.arraycopy(last, 0, deflated, seg.length * 1024, last.length);
        Map<String, byte[]> files = bundleFiles();
        files.remove("dit.onnx");
        Path zip = tmp.resolve("bomb.zip");
        RawZip raw = new RawZip();
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            raw.stored(e.getKey(), e.getValue());
        }
        raw.deflated("dit.onnx", deflated, gib, crc.getValue());
        Files.write(zip, raw.finish());
        assertThat(Files.size(zip)).isLessThan(4L << 20);
        long t0 = System.nanoTime();
        assertRefused(zip, "entry \"dit.onnx\"", "zip bomb");
        assertThat((System.nanoTime() - t0) / 1_000_000).as("ms to refuse").isLessThan(10_000);
    }

    @Test
    void theHandWrittenZipWriterIsAValidZip() throws IOException {
        // guards the bomb test: the same writer, with honest content, yields a bundle that opens
        Map<String, byte[]> files = bundleFiles();
        RawZip raw = new RawZip();
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            if (e.getKey().equals("dit.onnx")) {
                Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
                d.setInput(e.getValue());
                d.finish();
                byte[] out = new byte[4096];
                int n = d.deflate(out);
                d.end();
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                raw.deflated(e.getKey(), java.util.Arrays.copyOf(out, n), e.getValue().length, crc.getValue());
            } else {
                raw.stored(e.getKey(), e.getValue());
            }
        }
        Path zip = Files.write(tmp.resolve("raw.zip"), raw.finish());
        assertThat(open(zip).manifest().name()).isEqualTo("fake-tiny");
    }

    // ---------------------------------------------------------------- crafting helpers

    /** Sets the central-directory entry's host to Unix and its external attributes to {@code mode << 16}. */
    private static void setUnixMode(Path zip, String name, int mode) throws IOException {
        byte[] b = Files.readAllBytes(zip);
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        byte[] n = bytes(name);
        for (int p = 0; p + 46 + n.length <= b.length; p++) {
            if (buf.getInt(p) == 0x02014b50 && (buf.getShort(p + 28) & 0xFFFF) == n.length
                    && java.util.Arrays.equals(b, p + 46, p + 46 + n.length, n, 0, n.length)) {
                buf.putShort(p + 4, (short) (3 << 8 | 30)); // made by Unix, spec 3.0
                buf.putInt(p + 38, mode << 16);
                Files.write(zip, b);
                return;
            }
        }
        throw new AssertionError("no central directory entry " + name);
    }

    /** A minimal zip writer (no zip64) for entries whose compressed bytes the test makes itself. */
    private static final class RawZip {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final ByteArrayOutputStream central = new ByteArrayOutputStream();
        private int count;

        void stored(String name, byte[] data) {
            CRC32 crc = new CRC32();
            crc.update(data);
            entry(name, 0, data, data.length, crc.getValue());
        }

        void deflated(String name, byte[] compressed, long size, long crc) {
            entry(name, 8, compressed, size, crc);
        }

        private void entry(String name, int method, byte[] data, long size, long crc) {
            byte[] n = bytes(name);
            int offset = out.size();
            ByteBuffer local = ByteBuffer.allocate(30 + n.length).order(ByteOrder.LITTLE_ENDIAN);
            local.putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) method)
                    .putShort((short) 0).putShort((short) 0x21).putInt((int) crc).putInt(data.length)
                    .putInt((int) size).putShort((short) n.length).putShort((short) 0).put(n);
            out.writeBytes(local.array());
            out.writeBytes(data);
            ByteBuffer cen = ByteBuffer.allocate(46 + n.length).order(ByteOrder.LITTLE_ENDIAN);
            cen.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0)
                    .putShort((short) method).putShort((short) 0).putShort((short) 0x21).putInt((int) crc)
                    .putInt(data.length).putInt((int) size).putShort((short) n.length).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0).putShort((short) 0).putInt(0).putInt(offset).put(n);
            central.writeBytes(cen.array());
            count++;
        }

        byte[] finish() {
            int cenOffset = out.size();
            out.writeBytes(central.toByteArray());
            ByteBuffer end = ByteBuffer.allocate(22).order(ByteOrder.LITTLE_ENDIAN);
            end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) count)
                    .putShort((short) count).putInt(central.size()).putInt(cenOffset).putShort((short) 0);
            out.writeBytes(end.array());
            return out.toByteArray();
        }
    }

    private static void replaceAll(byte[] b, byte[] from, byte[] to) {
        for (int p = 0; p + from.length <= b.length; p++) {
            if (java.util.Arrays.equals(b, p, p + from.length, from, 0, from.length)) {
                System.arraycopy(to, 0, b, p, to.length);
            }
        }
    }
}
