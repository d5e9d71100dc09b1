package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code avatar4j inspect}: the committed LongCat bundle is valid (exit 0, every DiT graph OK);
 * without its weights file it passes with {@code --no-digests} and fails with digests (exit 3, one
 * line on standard error naming the file); a corrupt graph is exit 3 without a stack trace.
 */
class InspectCommandTest {
    @TempDir
    Path tmp;
    static Path models;

    record Run(int code, String out, String err) {
    }

    @BeforeAll
    static void findModels() {
        Path d = Path.of("").toAbsolutePath();
        while (!Files.isRegularFile(d.resolve("models/longcat-avatar-tiny/avatar-bundle.json"))) {
            d = d.getParent();
        }
        models = d.resolve("models");
    }

    private static Run run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code;
        try (PrintStream out = new PrintStream(o, true, StandardCharsets.UTF_8);
             PrintStream err = new PrintStream(e, true, StandardCharsets.UTF_8)) {
            code = Avatar4jCli.run(args, out, err);
        }
        return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theTinyLongCatBundleIsValid() {
        Run r = run("inspect", "--model", models.resolve("longcat-avatar-tiny").toString());

        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).contains("model     longcat-avatar \"longcat-avatar-tiny\"")
                .contains("video     fps 25, width 64, height 64").contains("digests   verified")
                .contains("graph     dit-p3-continuation  dit_p3_continuation.onnx  weights 0 B inline + ")
                .contains("  in      audio_latter: float[").contains("  contract OK")
                .endsWith("result    OK: the bundle is valid" + System.lineSeparator());
        assertThat(r.out().lines().filter(l -> l.startsWith("  contract ")).toList()).allMatch(l -> l.equals("  contract OK"));
    }

    @Test
    void withoutItsWeightsTheBundlePassesWithoutDigestsAndFailsWithThem() throws IOException {
        Path copy = copy("longcat-avatar-tiny");
        Files.delete(copy.resolve("dit.onnx.data"));

        Run quick = run("inspect", "--model", copy.toString(), "--no-digests", "--json");
        assertThat(quick.code()).as(quick.err()).isZero();
        Map<String, Object> json = JSON.std.mapFrom(quick.out());
        assertThat(json).containsEntry("valid", true).containsEntry("digests", "not checked");
        assertThat((List<?>) json.get("notes")).singleElement().asString().contains("dit.onnx.data is absent");

        Run full = run("inspect", "--model", copy.toString());
        assertThat(full.code()).isEqualTo(Avatar4jCli.EXIT_BUNDLE);
        assertThat(full.err().lines().toList()).singleElement().asString()
                .startsWith("avatar4j: external data ").contains("dit.onnx.data is missing");
        assertThat(full.out()).contains("PROBLEM   external data ").contains("result    INVALID: 1 problem");
    }

    @Test
    void aCorruptGraphIsABundleProblemWithoutAStackTrace() throws IOException {
        Path copy = copy("longcat-avatar-tiny");
        Path graph = copy.resolve("dit_p2.onnx");
        byte[] b = Files.readAllBytes(graph);
        Files.write(graph, java.util.Arrays.copyOf(b, b.length / 3));

        Run r = run("inspect", "--model", copy.toString());

        assertThat(r.code()).isEqualTo(Avatar4jCli.EXIT_BUNDLE);
        assertThat(r.err()).startsWith("avatar4j: ").doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(r.out()).contains("PROBLEM   graph dit_p2.onnx (dit-p2) is not a valid ONNX model: ")
                .contains("PROBLEM   bundle file ").contains("(dit-p2) is corrupt or was modified: sha256");
    }

    @Test
    void aMissingBundleIsExitThree() {
        Run r = run("inspect", "--model", tmp.resolve("absent").toString());
        assertThat(r.code()).isEqualTo(Avatar4jCli.EXIT_BUNDLE);
        assertThat(r.err()).startsWith("avatar4j: model bundle not found");
    }

    private Path copy(String name) throws IOException {
        Path to = Files.createDirectories(tmp.resolve(name));
        try (Stream<Path> s = Files.list(models.resolve(name))) {
            for (Path f : s.toList()) {
                Files.copy(f, to.resolve(f.getFileName().toString()));
            }
        }
        return to;
    }
}
