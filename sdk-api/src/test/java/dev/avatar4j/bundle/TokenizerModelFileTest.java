package dev.avatar4j.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BundleException;
import dev.avatar4j.testing.FakeBundles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tokenizer's model file ({@code text.model}, umT5's {@code spiece.model} in exported StableAvatar
 * bundles) is part of the bundle like its graphs: verified on open and kept when a bundle is zipped,
 * although no family reads it yet.
 */
class TokenizerModelFileTest {
    private static final byte[] SPIECE = "a sentencepiece model".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path tmp;

    private Path bundleWithTokenizerModel() throws IOException {
        Path dir = FakeBundles.write(tmp.resolve("b"));
        Files.write(dir.resolve("spiece.model"), SPIECE);
        Path manifest = dir.resolve(BundleManifest.FILE_NAME);
        String json = Files.readString(manifest).replaceFirst("\\{", "{\"text\": {\"tokenizer\": \"sentencepiece\", \"model\": "
                + "{\"file\": \"spiece.model\", \"sha256\": \"" + FakeBundles.sha256(SPIECE) + "\"}, \"maxTokens\": 128},");
        Files.writeString(manifest, json);
        return dir;
    }

    @Test
    void theModelFileIsListedAndVerified() throws IOException {
        Path dir = bundleWithTokenizerModel();
        Bundle b = Bundle.open(dir);
        assertThat(b.manifest().tokenizerModel()).hasValueSatisfying(e -> assertThat(e.file()).isEqualTo("spiece.model"));
        assertThat(b.manifest().files()).anySatisfy(e -> assertThat(e.key()).isEqualTo("text.model"));

        Files.write(dir.resolve("spiece.model"), "another model".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("spiece.model").hasMessageContaining("corrupt or was modified");
        Files.delete(dir.resolve("spiece.model"));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class).hasMessageContaining("spiece.model");
    }

    @Test
    void aZippedBundleKeepsIt() throws IOException {
        Path dir = bundleWithTokenizerModel();
        Path zip = tmp.resolve("m.zip");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip)); Stream<Path> files = Files.list(dir)) {
            for (Path p : files.sorted().toList()) {
                out.putNextEntry(new ZipEntry(p.getFileName().toString()));
                out.write(Files.readAllBytes(p));
                out.closeEntry();
            }
        }
        Bundle b = ZipBundle.open(zip, tmp.resolve("cache"), ZipBundle.Limits.DEFAULT);
        assertThat(b.directory().resolve("spiece.model")).hasBinaryContent(SPIECE);
    }

    @Test
    void aMalformedDigestIsRefused() throws IOException {
        Path dir = bundleWithTokenizerModel();
        Path manifest = dir.resolve(BundleManifest.FILE_NAME);
        Files.writeString(manifest, Files.readString(manifest).replace(FakeBundles.sha256(SPIECE), "xyz"));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("text.model.sha256");
    }
}
