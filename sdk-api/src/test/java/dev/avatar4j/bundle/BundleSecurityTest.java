package dev.avatar4j.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.avatar4j.AvatarModel;
import dev.avatar4j.BundleException;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.testing.FakeBackendProvider;
import dev.avatar4j.testing.FakeBundles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bundles are untrusted input: {@link Bundle#open} and model loading must refuse every malformed,
 * tampered or escaping bundle with a {@link BundleException} that names the offending file or key,
 * and never with anything else.
 */
class BundleSecurityTest {
    @TempDir
    Path tmp;

    private static void load(Path dir) {
        try (AvatarModel m = AvatarModel.builder(dir).backend("fake").load()) {
            assertThat(m.family()).isEqualTo("stableavatar");
        }
    }

    private Path bundle(Map<String, String> replacements) throws IOException {
        return FakeBundles.write(tmp.resolve("bundle"), replacements);
    }

    private Path bundle() throws IOException {
        return bundle(Map.of());
    }

    // ---------------------------------------------------------------- the happy path

    @Test
    void validFakeBundleOpensAndLoads() throws IOException {
        Path dir = bundle();
        Bundle b = Bundle.open(dir);
        assertThat(b.directory()).isEqualTo(dir.toRealPath());
        assertThat(b.manifest().family()).isEqualTo("stableavatar");
        assertThat(b.manifest().name()).isEqualTo("fake-tiny");
        assertThat(b.manifest().license()).isEqualTo("test");
        assertThat(b.manifest().graphs()).containsOnlyKeys("audio-encoder", "image-encoder", "vae-encoder", "dit",
                "vae-decoder");
        assertThat(b.graphFile("dit")).isEqualTo(dir.toRealPath().resolve("dit.onnx"));
        assertThat(b.hasGraph("text-encoder")).isFalse();
        assertThat(b.tensorFile("text-negative")).contains(dir.toRealPath().resolve("text_negative.safetensors"));
        assertThat(b.tensorFile("nope")).isEmpty();
        assertThatThrownBy(() -> b.graphFile("text-encoder")).isInstanceOf(BundleException.class)
                .hasMessageContaining("\"text-encoder\"");
        load(dir);
    }

    @Test
    void uppercaseDigestsAreAccepted() throws IOException {
        Path dir = bundle();
        String json = Files.readString(dir.resolve(BundleManifest.FILE_NAME));
        String sha = FakeBundles.sha256(Files.readAllBytes(dir.resolve("dit.onnx")));
        Files.writeString(dir.resolve(BundleManifest.FILE_NAME), json.replace(sha, sha.toUpperCase()));
        assertThat(Bundle.open(dir).manifest().graphs().get("dit").sha256()).isEqualTo(sha);
    }

    @Test
    void aLinkIsRefusedEvenWhenItStaysInsideTheBundle() throws IOException {
        Path dir = bundle();
        Files.createDirectories(dir.resolve("real"));
        Files.move(dir.resolve("dit.onnx"), dir.resolve("real/dit.onnx"));
        Files.createSymbolicLink(dir.resolve("dit.onnx"), Path.of("real/dit.onnx"));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("dit.onnx").hasMessageContaining("symbolic link");
    }

    // ---------------------------------------------------------------- issue 22, item 8: the manifest itself

    @Test
    void aSymlinkedManifestIsRefusedAndItsTargetNeverEchoed() throws IOException {
        Path dir = bundle();
        Path secret = Files.writeString(tmp.resolve("apikey"), "sk_live_0123456789abcdef\n");
        Files.delete(dir.resolve(BundleManifest.FILE_NAME));
        Files.createSymbolicLink(dir.resolve(BundleManifest.FILE_NAME), secret);
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("symbolic link").hasMessageNotContaining("sk_live");
        // a link to a valid manifest inside the bundle is refused too
        Path real = Files.copy(FakeBundles.write(tmp.resolve("other")).resolve(BundleManifest.FILE_NAME),
                dir.resolve("real.json"));
        Files.delete(dir.resolve(BundleManifest.FILE_NAME));
        Files.createSymbolicLink(dir.resolve(BundleManifest.FILE_NAME), real.getFileName());
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("symbolic link");
    }

    @Test
    void jsonErrorsGiveThePositionNeverTheContent() throws IOException {
        Path dir = bundle();
        for (String text : List.of("sk_live_0123456789abcdef", "{\"format\": sk_live_0123456789abcdef}",
                "{\"name\": \"sk_live_0123456789abcdef", "\"sk_live_0123456789abcdef\"", "[\"sk_live_0123456789abcdef\"]")) {
            Files.writeString(dir.resolve(BundleManifest.FILE_NAME), text);
            assertThatThrownBy(() -> Bundle.open(dir)).as(text).isInstanceOf(BundleException.class)
                    .hasMessageContaining(BundleManifest.FILE_NAME).hasMessageNotContaining("sk_live")
                    .satisfies(e -> assertThat(e.getCause() == null || !String.valueOf(e.getCause().getMessage())
                            .contains("sk_live")).isTrue());
        }
        Files.writeString(dir.resolve(BundleManifest.FILE_NAME), "{\n  \"format\": sk_live_0123456789abcdef}");
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("line 2, column");
    }

    // ---------------------------------------------------------------- issue 22, item 11: strict parsing

    @Test
    void contentAfterTheManifestObjectIsRefused() throws IOException {
        Path dir = bundle();
        String json = Files.readString(dir.resolve(BundleManifest.FILE_NAME));
        for (String tail : List.of(" garbage", "{}", " {\"format\": 2}", "]", "\"x\"", " 42", "\u0000")) {
            Files.writeString(dir.resolve(BundleManifest.FILE_NAME), json + tail);
            assertThatThrownBy(() -> Bundle.open(dir)).as(tail).isInstanceOf(BundleException.class)
                    .hasMessageContaining(BundleManifest.FILE_NAME);
        }
        Files.writeString(dir.resolve(BundleManifest.FILE_NAME), json + "\n\t  \n");
        assertThat(Bundle.open(dir).manifest().name()).isEqualTo("fake-tiny");
    }

    @Test
    void controlCharactersInNamesAreRefused() throws IOException {
        for (String name : List.of("evil\\u001b[2J\\u001b[31mOK", "two\\nlines", "cr\\rhere", "bell\\u0007",
                "bidi\\u202egnp.exe", "")) {
            Path dir = bundle(Map.of("\"fake-tiny\"", "\"" + name + "\""));
            assertThatThrownBy(() -> Bundle.open(dir)).as(name).isInstanceOf(BundleException.class)
                    .hasMessageContaining("\"name\"").hasMessageNotContaining("\u001b");
        }
    }

    @Test
    void outputSizesInTheManifestAreBounded() throws IOException {
        for (String size : List.of("2147483632", "4112", "-16", "0")) {
            Path dir = bundle(Map.of("\"width\": 32", "\"width\": " + size));
            assertThatThrownBy(() -> Bundle.open(dir)).as(size).isInstanceOf(BundleException.class)
                    .hasMessageContaining("video.width").hasMessageContaining(String.valueOf(BundleManifest.MAX_VIDEO_SIDE));
        }
        Path dir = bundle(Map.of("\"height\": 32", "\"height\": 4096"));
        assertThat(Bundle.open(dir).manifest().name()).isEqualTo("fake-tiny");
    }

    // ---------------------------------------------------------------- not a bundle

    @Test
    void missingDirectory() {
        Path dir = tmp.resolve("nowhere");
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("not found").hasMessageContaining(dir.toString());
    }

    @Test
    void aFileInsteadOfADirectory() throws IOException {
        Path file = Files.writeString(tmp.resolve("model.bin"), "hello");
        assertThatThrownBy(() -> Bundle.open(file)).isInstanceOf(BundleException.class)
                .hasMessageContaining("must be a directory").hasMessageContaining(file.toString());
    }

    @Test
    void aDirectoryWithoutManifest() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("is not a model bundle").hasMessageContaining(BundleManifest.FILE_NAME)
                .hasMessageContaining(dir.toString());
        // a directory named like the manifest is not a manifest either
        Files.createDirectories(dir.resolve(BundleManifest.FILE_NAME));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("is not a model bundle");
    }

    // ---------------------------------------------------------------- malformed manifests

    @Test
    void malformedJson() throws IOException {
        Path dir = bundle();
        for (String text : List.of("{", "{\"format\": 1,", "not json at all", "[1, 2, 3]", "\"a string\"", "42",
                "{\"format\": 1} }", "\u0000\u0001\u0002")) {
            Files.writeString(dir.resolve(BundleManifest.FILE_NAME), text);
            assertThatThrownBy(() -> Bundle.open(dir)).as(text).isInstanceOf(BundleException.class)
                    .hasMessageContaining(BundleManifest.FILE_NAME);
        }
    }

    @Test
    void emptyOrNullManifest() throws IOException {
        Path dir = bundle();
        for (String text : List.of("", "   \n", "null")) {
            Files.writeString(dir.resolve(BundleManifest.FILE_NAME), text);
            assertThatThrownBy(() -> Bundle.open(dir)).as("'%s'", text).isInstanceOf(BundleException.class)
                    .hasMessageContaining(BundleManifest.FILE_NAME);
        }
    }

    @Test
    void deeplyNestedJsonIsRefusedWithoutStackOverflow() {
        byte[] deep = "[".repeat(200_000).getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> BundleManifest.parse(deep)).isInstanceOf(BundleException.class)
                .hasMessageContaining(BundleManifest.FILE_NAME);
        byte[] deepObjects = "{\"a\":".repeat(100_000).getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> BundleManifest.parse(deepObjects)).isInstanceOf(BundleException.class)
                .hasMessageContaining(BundleManifest.FILE_NAME);
    }

    @Test
    void wrongFormat() throws IOException {
        Path dir = bundle(Map.of("\"format\": 1", "\"format\": 2"));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("\"format\"").hasMessageContaining("2");
        Path dir2 = FakeBundles.write(tmp.resolve("b2"), Map.of("\"format\": 1", "\"format\": \"1\""));
        assertThatThrownBy(() -> Bundle.open(dir2)).isInstanceOf(BundleException.class)
                .hasMessageContaining("\"format\"").hasMessageContaining("integer");
        Path dir3 = FakeBundles.write(tmp.resolve("b3"), Map.of("\"format\": 1", "\"format\": 1.5"));
        assertThatThrownBy(() -> Bundle.open(dir3)).isInstanceOf(BundleException.class)
                .hasMessageContaining("\"format\"");
        Path dir4 = FakeBundles.write(tmp.resolve("b4"), Map.of("\"format\": 1,", ""));
        assertThatThrownBy(() -> Bundle.open(dir4)).isInstanceOf(BundleException.class)
                .hasMessageContaining("\"format\" is missing");
    }

    @Test
    void missingFamily() throws IOException {
        Path dir = bundle(Map.of("\"family\": \"stableavatar\",", ""));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("\"family\" is missing").hasMessageContaining(BundleManifest.FILE_NAME);
    }

    @Test
    void unknownFamilyIsRefusedWhenLoading() throws IOException {
        Path dir = bundle(Map.of("\"family\": \"stableavatar\"", "\"family\": \"talking-teapot\""));
        assertThat(Bundle.open(dir).manifest().family()).isEqualTo("talking-teapot");
        assertThatThrownBy(() -> load(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("talking-teapot").hasMessageContaining("family");
    }

    @Test
    void badDigestInTheManifestNamesTheKey() throws IOException {
        Path dir = bundle();
        String json = Files.readString(dir.resolve(BundleManifest.FILE_NAME));
        String sha = FakeBundles.sha256(Files.readAllBytes(dir.resolve("dit.onnx")));
        Files.writeString(dir.resolve(BundleManifest.FILE_NAME), json.replace(sha, sha.substring(1)));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("graphs.dit.sha256");
    }

    @Test
    void graphsSectionOfTheWrongTypeNamesTheKey() throws IOException {
        Path dir = bundle();
        Files.writeString(dir.resolve(BundleManifest.FILE_NAME),
                "{\"format\": 1, \"family\": \"x\", \"name\": \"n\", \"graphs\": [1]}");
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("\"graphs\"");
        Files.writeString(dir.resolve(BundleManifest.FILE_NAME),
                "{\"format\": 1, \"family\": \"x\", \"name\": \"n\", \"graphs\": {\"dit\": {\"file\": 7, "
                        + "\"sha256\": \"" + "0".repeat(64) + "\"}}}");
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("graphs.dit.file");
    }

    @Test
    void manifestOverOneMegabyte() throws IOException {
        Path dir = bundle();
        Path manifest = dir.resolve(BundleManifest.FILE_NAME);
        // still valid JSON: trailing whitespace
        Files.writeString(manifest, " ".repeat(BundleManifest.MAX_BYTES), StandardOpenOption.APPEND);
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("too large").hasMessageContaining(BundleManifest.FILE_NAME);
        byte[] big = new byte[BundleManifest.MAX_BYTES + 1];
        Arrays.fill(big, (byte) ' ');
        assertThatThrownBy(() -> BundleManifest.parse(big)).isInstanceOf(BundleException.class)
                .hasMessageContaining("too large").hasMessageContaining(BundleManifest.FILE_NAME);
    }

    // ---------------------------------------------------------------- tampered and escaping files

    @Test
    void modifiedGraphFailsTheDigestCheck() throws IOException {
        Path dir = bundle();
        Files.writeString(dir.resolve("dit.onnx"), "fake graph dit, with a backdoor");
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("dit.onnx").hasMessageContaining("corrupt or was modified");
    }

    @Test
    void modifiedTensorFailsTheDigestCheck() throws IOException {
        Path dir = bundle();
        byte[] data = Files.readAllBytes(dir.resolve("text_default.safetensors"));
        data[data.length - 1] ^= 1;
        Files.write(dir.resolve("text_default.safetensors"), data);
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("text_default.safetensors").hasMessageContaining("corrupt or was modified");
    }

    @Test
    void dotDotPathTraversalIsRefused() throws IOException {
        Path dir = bundle();
        // the outside file even has the right digest: only its location is wrong
        Files.copy(dir.resolve("dit.onnx"), tmp.resolve("outside.onnx"));
        Path manifest = dir.resolve(BundleManifest.FILE_NAME);
        String json = Files.readString(manifest);
        for (String evil : List.of("../outside.onnx", "sub/../../outside.onnx", "./../outside.onnx")) {
            Files.writeString(manifest, json.replace("\"file\": \"dit.onnx\"", "\"file\": \"" + evil + "\""));
            assertThatThrownBy(() -> Bundle.open(dir)).as(evil).isInstanceOf(BundleException.class)
                    .hasMessageContaining(evil).hasMessageContaining("outside the bundle");
        }
    }

    @Test
    void absoluteAndBackslashPathsAreRefused() throws IOException {
        Path dir = bundle();
        Path outside = Files.copy(dir.resolve("dit.onnx"), tmp.resolve("outside.onnx"));
        Path manifest = dir.resolve(BundleManifest.FILE_NAME);
        String json = Files.readString(manifest);
        for (String evil : List.of(outside.toAbsolutePath().toString(), "/etc/passwd", "..\\\\outside.onnx",
                "\\\\server\\\\share\\\\dit.onnx")) {
            Files.writeString(manifest, json.replace("\"file\": \"dit.onnx\"", "\"file\": \"" + evil + "\""));
            assertThatThrownBy(() -> Bundle.open(dir)).as(evil).isInstanceOf(BundleException.class)
                    .hasMessageContaining("(dit)").hasMessageContaining("relative path inside the bundle");
        }
        Files.writeString(manifest, json.replace("\"file\": \"dit.onnx\"", "\"file\": \"\""));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("(dit)");
    }

    @Test
    void symlinkedFileLeadingOutIsRefused() throws IOException {
        Path dir = bundle();
        Path outsideDir = Files.createDirectories(tmp.resolve("outside"));
        Files.move(dir.resolve("dit.onnx"), outsideDir.resolve("dit.onnx"));
        Files.createSymbolicLink(dir.resolve("dit.onnx"), outsideDir.resolve("dit.onnx"));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("dit.onnx").hasMessageContaining("leaves the bundle");
    }

    @Test
    void relativeSymlinkLeadingOutIsRefused() throws IOException {
        Path dir = bundle();
        Files.move(dir.resolve("dit.onnx"), tmp.resolve("dit.onnx"));
        Files.createSymbolicLink(dir.resolve("dit.onnx"), Path.of("../dit.onnx"));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("dit.onnx").hasMessageContaining("leaves the bundle");
    }

    @Test
    void symlinkedDirectoryLeadingOutIsRefused() throws IOException {
        Path dir = bundle();
        Path outsideDir = Files.createDirectories(tmp.resolve("outside"));
        Files.move(dir.resolve("dit.onnx"), outsideDir.resolve("dit.onnx"));
        Files.createSymbolicLink(dir.resolve("sub"), outsideDir);
        Path manifest = dir.resolve(BundleManifest.FILE_NAME);
        Files.writeString(manifest, Files.readString(manifest)
                .replace("\"file\": \"dit.onnx\"", "\"file\": \"sub/dit.onnx\""));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("sub/dit.onnx").hasMessageContaining("leaves the bundle");
    }

    @Test
    void danglingSymlinkIsRefused() throws IOException {
        Path dir = bundle();
        Files.delete(dir.resolve("dit.onnx"));
        Files.createSymbolicLink(dir.resolve("dit.onnx"), tmp.resolve("does-not-exist.onnx"));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("dit.onnx");
    }

    @Test
    void missingGraphFile() throws IOException {
        Path dir = bundle();
        Files.delete(dir.resolve("dit.onnx"));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("missing").hasMessageContaining("dit.onnx");
    }

    @Test
    void aDirectoryWhereAGraphFileShouldBe() throws IOException {
        Path dir = bundle();
        Files.delete(dir.resolve("dit.onnx"));
        Files.createDirectory(dir.resolve("dit.onnx"));
        assertThatThrownBy(() -> Bundle.open(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("dit.onnx").hasMessageContaining("not a regular file");
    }

    @Test
    void aGraphTheFamilyNeedsIsMissingFromTheManifest() throws IOException {
        Path dir = bundle();
        Path manifest = dir.resolve(BundleManifest.FILE_NAME);
        String json = Files.readString(manifest);
        String sha = FakeBundles.sha256(Files.readAllBytes(dir.resolve("dit.onnx")));
        Files.writeString(manifest, json.replace("\"dit\": {\"file\": \"dit.onnx\", \"sha256\": \"" + sha + "\"},", ""));
        assertThat(Bundle.open(dir).hasGraph("dit")).isFalse();
        assertThatThrownBy(() -> load(dir)).isInstanceOf(BundleException.class).hasMessageContaining("\"dit\"");
    }

    // ---------------------------------------------------------------- family contract and config

    @Test
    void aGraphWithTheWrongSignatureNamesTheGraphAndTheTensor() throws IOException {
        Path dir = bundle();
        List<TensorSpec> wrong = List.of(
                new TensorSpec("x", DType.FLOAT32, new long[] {-1, 16, -1, -1, -1}),
                new TensorSpec("t", DType.FLOAT32, new long[] {-1}),
                new TensorSpec("context", DType.FLOAT32, new long[] {-1, -1, -1}),
                new TensorSpec("clip", DType.FLOAT32, new long[] {-1, -1, -1}),
                new TensorSpec("y", DType.FLOAT32, new long[] {-1, 19, -1, -1, -1}), // 4 + 16 = 20 expected
                new TensorSpec("audio_tokens", DType.FLOAT32, new long[] {1, -1, -1}),
                new TensorSpec("audio_index", DType.INT64, new long[] {21, -1}),
                new TensorSpec("audio_gate", DType.FLOAT32, new long[] {-1}));
        FakeBackendProvider.INSTANCE.inputOverrides.put("dit.onnx", wrong);
        try {
            assertThatThrownBy(() -> load(dir)).isInstanceOf(BundleException.class)
                    .hasMessageContaining("graph \"dit\"").hasMessageContaining("dit.onnx")
                    .hasMessageContaining("'y'").hasMessageContaining("[?,20,?,?,?]");
            FakeBackendProvider.INSTANCE.inputOverrides.put("dit.onnx",
                    List.of(new TensorSpec("x", DType.INT64, new long[] {-1, 16, -1, -1, -1})));
            assertThatThrownBy(() -> load(dir)).isInstanceOf(BundleException.class)
                    .hasMessageContaining("graph \"dit\"").hasMessageContaining("'x' is INT64")
                    .hasMessageContaining("missing input 't'");
        } finally {
            FakeBackendProvider.INSTANCE.inputOverrides.remove("dit.onnx");
        }
        load(dir); // the override is gone: the same bundle loads
    }

    @Test
    void overlapOutOfRangeNamesTheKey() throws IOException {
        for (String overlap : List.of("0", "1", "21", "100")) {
            Path dir = FakeBundles.write(tmp.resolve("overlap-" + overlap),
                    Map.of("\"overlap\": 5", "\"overlap\": " + overlap));
            assertThatThrownBy(() -> load(dir)).as(overlap).isInstanceOf(BundleException.class)
                    .hasMessageContaining("window.overlap").hasMessageContaining(overlap);
        }
        Path dir = FakeBundles.write(tmp.resolve("overlap-text"), Map.of("\"overlap\": 5", "\"overlap\": \"5\""));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("window.overlap");
    }

    @Test
    void hugeOverlapIsRefusedWithABundleException() throws IOException {
        Path dir = bundle(Map.of("\"overlap\": 5", "\"overlap\": 2000000000"));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("window.overlap");
    }

    @Test
    void widthNotAMultipleOf16NamesTheKey() throws IOException {
        Path dir = bundle(Map.of("\"width\": 32", "\"width\": 40"));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("video.width").hasMessageContaining("16");
        Path dir2 = FakeBundles.write(tmp.resolve("w2"), Map.of("\"width\": 32", "\"width\": 32.5"));
        assertThatThrownBy(() -> load(dir2)).isInstanceOf(BundleException.class)
                .hasMessageContaining("video.width");
    }

    @Test
    void badTailModeNamesTheKey() throws IOException {
        Path dir = bundle(Map.of("\"weights\": \"log\"}", "\"weights\": \"log\", \"tail\": \"sideways\"}"));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("window.tail").hasMessageContaining("sideways");
    }

    @Test
    void badWeightSchemeNamesTheKey() throws IOException {
        Path dir = bundle(Map.of("\"weights\": \"log\"", "\"weights\": \"cubic\""));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("cubic").hasMessageContaining("window.weights");
    }

    @Test
    void badShiftModeNamesTheKey() throws IOException {
        Path dir = bundle(Map.of("\"shiftMode\": \"diffusers-0.30.1\"", "\"shiftMode\": \"warp\""));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(BundleException.class)
                .hasMessageContaining("warp").hasMessageContaining("sampler.shiftMode");
    }

    @Test
    void otherFamilySettingsNameTheirKeys() throws IOException {
        Map<String, String> cases = Map.of(
                "\"type\": \"flow-match-euler\"", "\"type\": \"ddim\"",
                "\"encoder\": \"wav2vec2\"", "\"encoder\": \"whisper\"",
                "\"windowFrames\": 81", "\"windowFrames\": 80",
                "\"sampleRate\": 16000", "\"sampleRate\": 16001",
                "\"defaultSteps\": 2", "\"defaultSteps\": 0",
                "\"shift\": 5.0", "\"shift\": -1",
                "\"patch\": [1, 2, 2]", "\"patch\": [1, 2]");
        Map<String, String> keys = Map.of(
                "\"type\": \"flow-match-euler\"", "sampler.type",
                "\"encoder\": \"wav2vec2\"", "audio.encoder",
                "\"windowFrames\": 81", "video.windowFrames",
                "\"sampleRate\": 16000", "audio.sampleRate",
                "\"defaultSteps\": 2", "sampler.defaultSteps",
                "\"shift\": 5.0", "sampler.shift",
                "\"patch\": [1, 2, 2]", "video.patch");
        int i = 0;
        for (Map.Entry<String, String> c : cases.entrySet()) {
            Path dir = FakeBundles.write(tmp.resolve("c" + i++), Map.of(c.getKey(), c.getValue()));
            assertThatThrownBy(() -> load(dir)).as(c.getValue()).isInstanceOf(BundleException.class)
                    .hasMessageContaining(keys.get(c.getKey()));
        }
    }

    // ---------------------------------------------------------------- fuzzing: only BundleException

    @Property(tries = 200)
    void arbitraryBytesNeverThrowAnythingButBundleException(@ForAll @Size(max = 300) byte[] bytes) {
        parseOnlyFailsWithBundleException(bytes);
        byte[] braced = new byte[bytes.length + 1];
        braced[0] = '{';
        System.arraycopy(bytes, 0, braced, 1, bytes.length);
        parseOnlyFailsWithBundleException(braced);
    }

    @Property(tries = 200)
    void jsonLikeTextNeverThrowsAnythingButBundleException(@ForAll("jsonish") String text) {
        parseOnlyFailsWithBundleException(text.getBytes(StandardCharsets.UTF_8));
    }

    @Provide
    Arbitrary<String> jsonish() {
        return Arbitraries.strings().withChars("{}[]\":,.-+eE0123456789 \\ntrufalsgraphsfomty").ofMaxLength(120)
                .map(s -> "{\"format\":1," + s);
    }

    private static void parseOnlyFailsWithBundleException(byte[] bytes) {
        try {
            BundleManifest.parse(bytes);
        } catch (BundleException expected) {
            assertThat(expected.getMessage()).contains(BundleManifest.FILE_NAME);
        } catch (Throwable t) {
            fail("BundleManifest.parse threw " + t + " for " + new String(bytes, StandardCharsets.ISO_8859_1), t);
        }
    }

    private static Path fuzzRoot;
    private static byte[] validManifest;

    private static synchronized Path fuzzBundle() throws IOException {
        if (fuzzRoot == null) {
            fuzzRoot = Files.createTempDirectory("avatar4j-bundle-fuzz");
            FakeBundles.write(fuzzRoot.resolve("bundle"));
            validManifest = Files.readAllBytes(fuzzRoot.resolve("bundle").resolve(BundleManifest.FILE_NAME));
        }
        return fuzzRoot.resolve("bundle");
    }

    @AfterContainer
    static synchronized void deleteFuzzBundle() throws IOException {
        if (fuzzRoot != null) {
            try (Stream<Path> files = Files.walk(fuzzRoot)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
            fuzzRoot = null;
        }
    }

    /** A mutation of the valid manifest: cut at {@code cut} (if ≥ 0), then {@code k} random bytes replaced. */
    record Mutation(int cutPermille, List<Tuple.Tuple2<Integer, Byte>> replacements) {
        byte[] apply(byte[] valid) {
            byte[] b = cutPermille < 0 ? valid.clone()
                    : Arrays.copyOf(valid, (int) ((long) valid.length * cutPermille / 1000));
            for (Tuple.Tuple2<Integer, Byte> r : replacements) {
                if (b.length > 0) {
                    b[r.get1() % b.length] = r.get2();
                }
            }
            return b;
        }
    }

    @Provide
    Arbitrary<Mutation> mutations() {
        Arbitrary<Integer> cut = Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.just(-1)), Tuple.of(1, Arbitraries.integers().between(0, 999)));
        Arbitrary<Byte> someByte = Arbitraries.oneOf(Arbitraries.bytes(),
                Arbitraries.of("{}[]\":,.-0123456789eEnul\\/ ".chars().boxed().toList()).map(c -> (byte) (int) c));
        Arbitrary<Tuple.Tuple2<Integer, Byte>> replacement = Combinators.combine(
                Arbitraries.integers().between(0, Integer.MAX_VALUE), someByte).as(Tuple::of);
        return Combinators.combine(cut, replacement.list().ofMaxSize(4)).as(Mutation::new)
                .filter(m -> m.cutPermille() >= 0 || !m.replacements().isEmpty());
    }

    @Property(tries = 200)
    void mutatedManifestsNeverThrowAnythingButBundleException(@ForAll("mutations") Mutation mutation)
            throws IOException {
        Path dir = fuzzBundle();
        byte[] json = mutation.apply(validManifest);
        Files.write(dir.resolve(BundleManifest.FILE_NAME), json);
        try {
            load(dir);
        } catch (BundleException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        } catch (Throwable t) {
            fail("loading threw " + t + " for manifest:\n" + new String(json, StandardCharsets.ISO_8859_1), t);
        }
    }
}
