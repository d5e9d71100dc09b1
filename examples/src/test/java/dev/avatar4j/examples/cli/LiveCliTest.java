package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code avatar4j live}: pushes a speech file at real-time pace into a live session and reports
 * and records what the session showed. (How fast it was is printed, never asserted.)
 */
class LiveCliTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path PREVIEW = REPO.resolve("models/preview");

    @Test
    void pushesTheSpeechRecordsWhatWasShownAndReports(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("live.mp4");
        Path report = tmp.resolve("live.json");
        Avatar4jCliTest.Result r = Avatar4jCliTest.cli("live", "--image",
                REPO.resolve("examples/media/portrait.png").toString(), "--audio",
                REPO.resolve("examples/media/hello.wav").toString(), "--out", out.toString(), "--report",
                report.toString(), "--model", PREVIEW.toString(), "--width", "128", "--height", "128",
                "--chunk-ms", "10-120", "--push-rate", "24000", "--pcm16", "--gap-ms", "200", "-q");
        assertThat(r.code()).as("exit code; err: %s", r.err()).isZero();
        assertThat(r.out()).contains("latency push -> first frame of an utterance", "frame interval");
        String json = Files.readString(report);
        long frames = number(json, "frames");
        long speaking = number(json, "speakingFrames");
        long pushed = dev.avatar4j.io.MediaRegistry.global().readAudio(REPO.resolve("examples/media/hello.wav"),
                24_000).samples().length;
        long shown = (long) Math.floor(pushed * 16_000.0 / 24_000 + 0.5); // as the session resamples it
        assertThat(speaking).as("every 40 ms of the speech is one speaking frame")
                .isEqualTo(Math.ceilDiv(shown * 25, 16_000));
        assertThat(frames).isGreaterThan(speaking);
        assertThat(number(json, "utterances")).isEqualTo(1);

        assumeTrue(Avatar4jCliTest.onPath("ffprobe") != null, "ffprobe is not installed: MP4 checks skipped");
        Map<String, String> video = DubRealClipTest.probe(out, "v:0", "stream=width,height,nb_frames");
        assertThat(video).containsEntry("width", "128").containsEntry("nb_frames", Long.toString(frames));
        Map<String, String> audio = DubRealClipTest.probe(out, "a:0", "stream=duration");
        assertThat(Double.parseDouble(audio.get("duration"))).as("a frame's worth of sound under every frame")
                .isCloseTo(frames / 25.0, org.assertj.core.data.Offset.offset(0.1));
    }

    @Test
    void fpsSetsThePreviewSessionsRateAndADiffusionModelRefusesAnother(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("live.json");
        Avatar4jCliTest.Result r = Avatar4jCliTest.cli("live", "--image",
                REPO.resolve("examples/media/portrait.png").toString(), "--audio",
                REPO.resolve("examples/media/hello.wav").toString(), "--report", report.toString(), "--model",
                PREVIEW.toString(), "--width", "64", "--height", "64", "--fps", "30", "-q");
        assertThat(r.code()).as("exit code; err: %s", r.err()).isZero();
        long shown = dev.avatar4j.io.MediaRegistry.global().readAudio(REPO.resolve("examples/media/hello.wav"),
                16_000).samples().length;
        assertThat(number(Files.readString(report), "speakingFrames")).as("every 1/30 s of the speech is one frame")
                .isEqualTo(Math.ceilDiv(shown * 30, 16_000));
        Avatar4jCliTest.Result refused = Avatar4jCliTest.cli("live", "--image",
                REPO.resolve("examples/media/portrait.png").toString(), "--audio",
                REPO.resolve("examples/media/hello.wav").toString(), "--model",
                REPO.resolve("models/stableavatar-tiny").toString(), "--width", "64", "--height", "64", "--fps", "30");
        assertThat(refused.code()).isEqualTo(2);
        assertThat(refused.err()).contains("renders at 25 fps");
        Avatar4jCliTest.Result range = Avatar4jCliTest.cli("live", "--image",
                REPO.resolve("examples/media/portrait.png").toString(), "--audio",
                REPO.resolve("examples/media/hello.wav").toString(), "--fps", "0");
        assertThat(range.code()).isEqualTo(2);
        assertThat(range.err()).contains("--fps must be 1..120");
    }

    @Test
    void aBadChunkSizeIsAUsageError(@TempDir Path tmp) throws Exception {
        Avatar4jCliTest.Result r = Avatar4jCliTest.cli("live", "--image",
                REPO.resolve("examples/media/portrait.png").toString(), "--audio",
                REPO.resolve("examples/media/hello.wav").toString(), "--chunk-ms", "5-1", "--model", PREVIEW.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--chunk-ms");
    }

    @Test
    void withPortItServesTheBrowserDemoUntilInterrupted() throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int[] code = {-1};
        Thread cli = new Thread(() -> {
            try (java.io.PrintStream o = new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8);
                 java.io.PrintStream e = new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8)) {
                code[0] = Avatar4jCli.run(new String[] {"live", "--image",
                        REPO.resolve("examples/media/portrait.png").toString(), "--model", PREVIEW.toString(),
                        "--width", "64", "--height", "64", "--port", "0"}, o, e);
            }
        });
        cli.start();
        Pattern url = Pattern.compile("open (http://127\\.0\\.0\\.1:\\d+/) in a browser");
        long deadline = System.nanoTime() + 120_000_000_000L;
        Matcher m = url.matcher("");
        while (!m.reset(out.toString(java.nio.charset.StandardCharsets.UTF_8)).find()) {
            assertThat(cli.isAlive()).as("serving; err: %s", err).isTrue();
            assertThat(System.nanoTime()).as("the address printed within 2 minutes").isLessThan(deadline);
            Thread.sleep(20);
        }
        java.net.http.HttpResponse<String> page = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(m.group(1))).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("avatar4j live");
        cli.interrupt();
        cli.join(60_000);
        assertThat(cli.isAlive()).isFalse();
        assertThat(code[0]).isEqualTo(Avatar4jCli.EXIT_CANCELLED);
    }

    @Test
    void aPortInUseIsAUsageErrorThatSaysSo() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Avatar4jCliTest.Result r = Avatar4jCliTest.cli("live", "--image",
                    REPO.resolve("examples/media/portrait.png").toString(), "--model", PREVIEW.toString(),
                    "--width", "64", "--height", "64", "--port", Integer.toString(taken.getLocalPort()));
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains("cannot listen on 127.0.0.1:" + taken.getLocalPort(), "--port");
        }
    }

    @Test
    void audioOrPortOneOfThem() {
        String image = REPO.resolve("examples/media/portrait.png").toString();
        Avatar4jCliTest.Result neither = Avatar4jCliTest.cli("live", "--image", image);
        assertThat(neither.code()).isEqualTo(2);
        assertThat(neither.err()).contains("give --audio P (push a speech file) or --port N (serve the browser demo)");
        Avatar4jCliTest.Result both = Avatar4jCliTest.cli("live", "--image", image, "--port", "0", "--audio",
                REPO.resolve("examples/media/hello.wav").toString());
        assertThat(both.code()).isEqualTo(2);
        assertThat(both.err()).contains("--audio and --port exclude each other");
        Avatar4jCliTest.Result out = Avatar4jCliTest.cli("live", "--image", image, "--port", "0", "--out", "x.mp4");
        assertThat(out.code()).isEqualTo(2);
        assertThat(out.err()).contains("--out applies to --audio, not to --port");
    }

    private static long number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\": (\\d+)").matcher(json);
        assertThat(m.find()).as("%s in %s", key, json).isTrue();
        return Long.parseLong(m.group(1));
    }
}
