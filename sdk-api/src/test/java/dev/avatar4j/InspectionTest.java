package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.testing.OnnxModels.Msg;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link AvatarModel#inspect}: the committed bundles pass; a bundle without its DiT weights can be
 * inspected without digests (so no weight is read) and fails with them; a renamed or retyped input,
 * a truncated graph and a modified file are reported as problems naming graph, file and tensor,
 * never thrown.
 */
class InspectionTest {
    @TempDir
    Path tmp;
    static Path models;

    @BeforeAll
    static void findModels() {
        Path d = Path.of("").toAbsolutePath();
        while (!Files.isRegularFile(d.resolve("models/stableavatar-tiny/avatar-bundle.json"))) {
            d = d.getParent();
        }
        models = d.resolve("models");
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> graphs(Inspection i) {
        return (List<Map<String, Object>>) i.details().get("graphs");
    }

    @ParameterizedTest
    @ValueSource(strings = {"stableavatar-tiny", "longcat-avatar-tiny", "latentsync-tiny", "preview"})
    void everyCommittedBundleIsValidAndEveryGraphItsFamilyOpensMeetsItsContract(String name) throws IOException {
        Path bundle = models.resolve(name);
        long[] last = {0, 0};
        Inspection i = AvatarModel.inspect(bundle, true, (done, total) -> {
            assertThat(done).isGreaterThan(last[0]).isLessThanOrEqualTo(total);
            last[0] = done;
            last[1] = total;
        });

        assertThat(i.problems()).isEmpty();
        assertThat(i.valid()).isTrue();
        assertThat(i.details()).containsEntry("digests", "verified").containsEntry("hashedBytes", last[0]);
        assertThat(last[0]).isEqualTo(last[1]).isPositive();
        List<String> verdicts = graphs(i).stream().map(g -> (String) g.get("contract")).toList();
        assertThat(verdicts).allMatch(v -> v.equals("OK") || v.equals("not used by " + i.family()));
        assertThat(verdicts).contains("OK");
        assertThat(i.summary().getLast()).isEqualTo("result    OK: the bundle is valid");
        if (name.equals("longcat-avatar-tiny")) {
            // every person count present is checked in both segment layouts
            assertThat(graphs(i)).filteredOn(g -> ((String) g.get("key")).startsWith("dit-p"))
                    .extracting(g -> g.get("key") + " " + g.get("contract"))
                    .containsExactlyInAnyOrder("dit-p1 OK", "dit-p1-continuation OK", "dit-p2 OK",
                            "dit-p2-continuation OK", "dit-p3 OK", "dit-p3-continuation OK");
            Map<String, Object> dit = graphs(i).stream().filter(g -> g.get("key").equals("dit-p1")).findFirst().orElseThrow();
            assertThat(dit.get("externalFiles")).isEqualTo(List.of("dit.onnx.data"));
            assertThat(dit.get("externalBytes")).isEqualTo(Files.size(bundle.resolve("dit.onnx.data")));
        }
    }

    @Test
    void withoutItsWeightsALongCatBundleIsInspectedWithoutDigestsAndFailsWithThem() throws IOException {
        Path copy = copy("longcat-avatar-tiny");
        Files.delete(copy.resolve("dit.onnx.data"));

        Inspection quick = AvatarModel.inspect(copy, false, (d, t) -> {
            throw new AssertionError("nothing is hashed without digests");
        });
        assertThat(quick.problems()).isEmpty();
        assertThat(quick.valid()).isTrue();
        assertThat(quick.notes()).singleElement().asString().startsWith("external data dit.onnx.data is absent: not checked")
                .contains("loading needs it");
        assertThat(quick.details()).containsEntry("digests", "not checked");
        assertThat(graphs(quick)).filteredOn(g -> ((String) g.get("key")).startsWith("dit-p"))
                .allMatch(g -> g.get("contract").equals("OK")).hasSize(6);

        Inspection full = AvatarModel.inspect(copy, true, (d, t) -> { });
        assertThat(full.valid()).isFalse();
        assertThat(full.problems()).singleElement().asString()
                .startsWith("external data ").contains("dit.onnx.data is missing").contains("cannot be loaded without it");
        assertThat(full.summary().getLast()).isEqualTo("result    INVALID: 1 problem");
    }

    @Test
    void aRenamedInputIsAProblemNamingGraphFileAndTensor() throws IOException {
        Path copy = copy("stableavatar-tiny");
        Path file = copy.resolve("audio_encoder.onnx");
        byte[] bytes = Files.readAllBytes(file);
        String latin = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(latin).contains("input_values");
        replaceGraph(copy, "audio_encoder.onnx",
                latin.replace("input_values", "input_valuez").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));

        Inspection i = AvatarModel.inspect(copy, true, (d, t) -> { });

        assertThat(i.valid()).isFalse();
        assertThat(i.problems()).singleElement().asString()
                .startsWith("graph \"audio-encoder\" (audio_encoder.onnx) does not match the contract: ")
                .contains("missing input 'input_values'").contains("unexpected input 'input_valuez'");
    }

    @Test
    void aRetypedInputIsAProblemNamingGraphAndTensor() throws IOException {
        Path copy = copy("longcat-avatar-tiny");
        // a vae-encoder whose video input is int64: [1, 3, ?, ?, ?] -> latent float [1, 16, ?, ?, ?]
        Msg graph = new Msg().msg(11, value("video", 7, 1, 3, -1, -1, -1)).msg(12, value("latent", 1, 1, 16, -1, -1, -1));
        replaceGraph(copy, "vae_encoder.onnx", new Msg().varint(1, 8).msg(7, graph).toBytes());

        Inspection i = AvatarModel.inspect(copy, false, (d, t) -> { });

        assertThat(i.problems()).containsExactly("graph \"vae-encoder\" (vae_encoder.onnx) does not match the contract: "
                + "input 'video' is INT64, expected FLOAT32");
    }

    @Test
    void aTruncatedGraphIsAProblemNotAnException() throws IOException {
        Path copy = copy("longcat-avatar-tiny");
        byte[] whole = Files.readAllBytes(copy.resolve("audio_encoder.onnx"));
        replaceGraph(copy, "audio_encoder.onnx", java.util.Arrays.copyOf(whole, whole.length / 2));

        Inspection i = AvatarModel.inspect(copy, true, (d, t) -> { });

        assertThat(i.valid()).isFalse();
        assertThat(i.problems()).singleElement().asString()
                .startsWith("graph audio_encoder.onnx (audio-encoder) is not a valid ONNX model: ");
        assertThat(graphs(i)).filteredOn(g -> g.get("key").equals("audio-encoder")).singleElement()
                .extracting(g -> g.get("contract")).isEqualTo("not checked: the graph file could not be read");
    }

    @Test
    void aModifiedFileFailsItsDigestOnlyWhenDigestsAreChecked() throws IOException {
        Path copy = copy("longcat-avatar-tiny");
        Path text = copy.resolve("text_default.safetensors");
        byte[] b = Files.readAllBytes(text);
        b[b.length - 1] ^= 1;
        Files.write(text, b);

        assertThat(AvatarModel.inspect(copy, false, (d, t) -> { }).valid()).isTrue();
        Inspection i = AvatarModel.inspect(copy, true, (d, t) -> { });
        assertThat(i.problems()).singleElement().asString().contains("text_default.safetensors (text-default) is corrupt "
                + "or was modified: sha256 ");
        assertThat(i.details()).containsEntry("digests", "failed");
    }

    /**
     * A graph file over 2 GB (a sparse file) is refused as loading refuses it, and its signature,
     * after the 2 GB of inline data, is still read.
     */
    @Test
    void aGraphFileOverTwoGigabytesIsAProblem() throws IOException {
        Path copy = copy("latentsync-tiny");
        long data = (1L << 31) + 10;
        int r = 256; // models/latentsync-tiny's face size (its manifest's video.resolution)
        Msg graph = new Msg().msg(11, value("latent", 1, -1, 4, r / 8, r / 8)).msg(12, value("image", 1, -1, 3, r, r));
        byte[] tail = graph.toBytes();
        byte[] head = new Msg().varint(1, 8).toBytes();
        Path file = copy.resolve("vae_decoder.onnx");
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE,
                java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(head));
            // an unknown length-delimited field 99 holding the hole, then the graph
            ch.write(java.nio.ByteBuffer.wrap(key((99L << 3) | 2, data)));
            ch.position(ch.position() + data);
            ch.write(java.nio.ByteBuffer.wrap(key((7L << 3) | 2, tail.length)));
            ch.write(java.nio.ByteBuffer.wrap(tail));
        }

        Inspection i = AvatarModel.inspect(copy, false, (d, t) -> { });

        assertThat(i.problems()).singleElement().asString().startsWith("graph vae_decoder.onnx (vae-decoder) is ")
                .endsWith("a graph over 2 GB must keep its weights in external data");
        assertThat(graphs(i)).filteredOn(g -> g.get("key").equals("vae-decoder")).singleElement()
                .extracting(g -> g.get("contract")).isEqualTo("OK");
        Files.delete(file);
    }

    private static byte[] key(long key, long value) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (long v : new long[] {key, value}) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) ((v & 0x7f) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }
        return out.toByteArray();
    }

    @Test
    void aManifestTheFamilyRefusesIsAProblemAndNoGraphIsCalledUnused() throws IOException {
        Path copy = copy("longcat-avatar-tiny");
        Path manifest = copy.resolve("avatar-bundle.json");
        String json = Files.readString(manifest);
        assertThat(json).contains("\"dit-p1\": {");
        Files.writeString(manifest, json.replace("\"dit-p1\": {", "\"dit\": {"));

        Inspection i = AvatarModel.inspect(copy, false, (d, t) -> { });

        assertThat(i.problems()).singleElement().asString().contains("graph \"dit\" is the old longcat-avatar contract");
        assertThat(graphs(i)).extracting(g -> g.get("contract"))
                .containsOnly("not checked: the manifest is not a valid longcat-avatar bundle");
    }

    /** Graphs that each meet their contract but do not fit together are refused, as loading refuses them. */
    @Test
    void stableAvatarGraphsThatDoNotFitTogetherAreAProblem() throws IOException {
        Path copy = copy("stableavatar-tiny");
        // an audio encoder whose features are 48 wide, where the tiny DiT's audio_tokens are 32 wide
        Msg graph = new Msg().msg(11, value("input_values", 1, 1, -1)).msg(12, value("last_hidden_state", 1, 1, -1, 48));
        replaceGraph(copy, "audio_encoder.onnx", new Msg().varint(1, 8).msg(7, graph).toBytes());

        Inspection i = AvatarModel.inspect(copy, false, (d, t) -> { });

        assertThat(graphs(i)).filteredOn(g -> g.get("key").equals("audio-encoder")).singleElement()
                .extracting(g -> g.get("contract")).isEqualTo("OK");
        assertThat(i.problems()).singleElement().asString().endsWith("the graphs do not fit together: audio-encoder "
                + "gives 48 audio feature width (last_hidden_state dimension 2), the dit takes 32 (audio_tokens); were "
                + "they exported from the same model?");
    }

    @Test
    void noBundleIsABundleException() {
        assertThatThrownBy(() -> AvatarModel.inspect(tmp.resolve("nothing"), false, (d, t) -> { }))
                .isInstanceOf(BundleException.class).hasMessageContaining("model bundle not found");
        assertThatThrownBy(() -> AvatarModel.inspect(tmp, false, (d, t) -> { }))
                .isInstanceOf(BundleException.class).hasMessageContaining("is not a model bundle");
    }

    /** A ValueInfoProto of a tensor; a negative size is symbolic. */
    private static Msg value(String name, int elemType, long... dims) {
        Msg shape = new Msg();
        for (long d : dims) {
            shape.msg(1, d < 0 ? new Msg().string(2, "n") : new Msg().varint(1, d));
        }
        return new Msg().string(1, name).msg(2, new Msg().msg(1, new Msg().varint(1, elemType).msg(2, shape)));
    }

    private Path copy(String name) throws IOException {
        Path to = tmp.resolve(name);
        Files.createDirectories(to);
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(models.resolve(name))) {
            s.forEach(files::add);
        }
        for (Path f : files) {
            Files.copy(f, to.resolve(f.getFileName().toString()));
        }
        return to;
    }

    /** Writes a graph file and its new sha256 into the manifest. */
    private static void replaceGraph(Path bundle, String file, byte[] bytes) throws IOException {
        Path f = bundle.resolve(file);
        String old = sha256(Files.readAllBytes(f));
        Files.write(f, bytes);
        Path manifest = bundle.resolve("avatar-bundle.json");
        String json = Files.readString(manifest);
        assertThat(json).contains(old);
        Files.writeString(manifest, json.replace(old, sha256(bytes)));
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
