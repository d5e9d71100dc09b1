package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Frame;
import dev.avatar4j.RenderResult;
import dev.avatar4j.media.FrameSink;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** What a new user meets in the first hour (issue 14, item 7): help, usage errors, plan, reported steps. */
class FirstHourCliTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path PREVIEW = REPO.resolve("models/preview");
    private static final Path SPEECH = REPO.resolve("examples/media/hello.wav");

    /** Every command's help, with picocli's own warnings (written to System.err) captured. */
    @Test
    void everyHelpRendersWithoutPicocliWarnings() {
        PrintStream saved = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        List<String> helps = new ArrayList<>();
        try (PrintStream err = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            System.setErr(err);
            CommandLine root = new Avatar4jCli(new PrintStream(new ByteArrayOutputStream()), err).commandLine();
            collectHelp(root, helps);
        } finally {
            System.setErr(saved);
        }
        assertThat(captured.toString(StandardCharsets.UTF_8)).doesNotContain("WARN", "Could not format");
        assertThat(helps).anyMatch(h -> h.contains("with a 10% margin"));
        assertThat(Avatar4jCliTest.cli("generate", "--help").out()).contains("10% margin");
    }

    private static void collectHelp(CommandLine cmd, List<String> helps) {
        helps.add(cmd.getUsageMessage());
        for (CommandLine sub : cmd.getSubcommands().values()) {
            collectHelp(sub, helps);
        }
    }

    @Test
    void noCommandListsEveryCommand() {
        Avatar4jCliTest.Result r = Avatar4jCliTest.cli();
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("missing command: generate, plan, inspect, dub, live, doctor, engines");
        for (String name : new Avatar4jCli(System.out, System.err).commandLine().getSubcommands().keySet()) {
            if (!name.equals("help")) {
                assertThat(r.err()).contains(name);
            }
        }
    }

    @Test
    void planWithoutAModelShowsWhatThePreviewModelPlans() throws Exception {
        assumeTrue(System.getenv(AvatarModel.MODEL_ENV) == null, "AVATAR4J_MODEL is set");
        String saved = System.getProperty(AvatarModel.MODEL_PROPERTY); // other tests set a shared default
        System.clearProperty(AvatarModel.MODEL_PROPERTY);
        try {
            Avatar4jCliTest.Result text = Avatar4jCliTest.cli("plan", "--audio", SPEECH.toString());
            assertThat(text.code()).as("err: %s", text.err()).isZero();
            // hello.wav: 94,420 samples at 16 kHz = 5.90 s -> 148 frames at 25 fps
            assertThat(text.out()).contains("built-in preview model: no diffusion", "148 frames at 25 fps (5.92 s)");
            Avatar4jCliTest.Result json = Avatar4jCliTest.cli("plan", "--audio", SPEECH.toString(), "--json");
            assertThat(json.code()).isZero();
            Map<String, Object> m = JSON.std.mapFrom(json.out());
            assertThat(m).containsEntry("family", "preview").containsEntry("diffusion", false)
                    .containsEntry("frames", 148).containsEntry("audioSamples", 94420);
            Avatar4jCliTest.Result steps = Avatar4jCliTest.cli("plan", "--audio", SPEECH.toString(), "--steps", "8");
            assertThat(steps.code()).isEqualTo(2);
            assertThat(steps.err()).contains("has none", "--model");
        } finally {
            if (saved != null) {
                System.setProperty(AvatarModel.MODEL_PROPERTY, saved);
            }
        }
    }

    @Test
    void thePreviewModelReportsTheStepsThatRanNone() {
        FrameSink discard = new FrameSink() {
            @Override
            public void accept(Frame frame) {
            }

            @Override
            public void complete() {
            }

            @Override
            public void abort() {
            }
        };
        try (AvatarModel model = AvatarModel.load(PREVIEW)) {
            RenderResult r = Avatar.from(REPO.resolve("examples/media/portrait.png")).speak(SPEECH).model(model)
                    .steps(8).render(discard);
            assertThat(r.steps()).as("the preview model has no sampler: 8 requested, none ran").isZero();
        }
    }

    @Test
    void runningOutOfHeapSaysHowToGiveMoreAndExits4() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Avatar4jCli cli = new Avatar4jCli(new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        int code = cli.handleFailure(new dev.avatar4j.AvatarException("out of memory: use a smaller size",
                new OutOfMemoryError("Java heap space")));
        assertThat(code).isEqualTo(4);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("out of memory", "AVATAR4J_JAVA_OPTS=-Xmx");
        err.reset();
        assertThat(cli.handleFailure(new OutOfMemoryError("Java heap space"))).isEqualTo(4);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("avatar4j: out of memory (Java heap space)");
    }

    @Test
    void failuresAreReportedInTheirOwnWordsWithoutJavaClassNames() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Avatar4jCli cli = new Avatar4jCli(new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String full = "cannot write video /tmp/o.mp4: no space left on device (or quota exceeded) writing /tmp/o.part";
        // how the SDK hands over a full disk: the writer's UncheckedIOException, chained
        assertThat(cli.handleFailure(new dev.avatar4j.AvatarException(full,
                new java.io.UncheckedIOException(full, new java.io.IOException("no space left on device")))))
                .isEqualTo(4);
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("avatar4j: " + full + System.lineSeparator());
        err.reset();
        // a wrapper whose message is only its cause's toString(), outside the SDK's exception types
        assertThat(cli.handleFailure(new java.io.UncheckedIOException(
                new java.nio.file.FileSystemException("/x/o.mp4: No space left on device")))).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("/x/o.mp4: No space left on device")
                .doesNotContain("java.", "Exception");
        err.reset();
        assertThat(cli.handleFailure(new IllegalStateException())).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("avatar4j: unexpected error")
                .doesNotContain("java.", "Exception");
    }
}
