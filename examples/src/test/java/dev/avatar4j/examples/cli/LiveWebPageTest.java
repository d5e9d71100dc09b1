package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.io.MediaRegistry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The browser demo of {@code avatar4j live --port}, in headless Chromium with a WAV file injected as
 * the microphone (speech, a long pause, speech): the page opened by a browser streams the
 * "microphone" to the server and draws the frames it gets back; what it drew, read from the page's
 * own record ({@code window.avatar4jLive}: per frame shown, the level of the speech it shows and the
 * change of brightness in the mouth's rectangle since the previous frame shown), moves at the mouth
 * while speech plays and stays still in the pause.
 *
 * <p>Skipped where no Chromium is installed (CI installs Debian's {@code chromium}). Nothing here
 * depends on how fast the machine is: the page's record pairs each frame with the speech it shows.
 */
class LiveWebPageTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final int RATE = 48_000;
    /** The mouth of examples/media/portrait.png, as fractions of the frame (it is at about 0.44, 0.28). */
    private static final String MOUTH = "0.37,0.24,0.15,0.09";
    private static AvatarModel model;

    @BeforeAll
    static void load() {
        model = AvatarModel.load(REPO.resolve("models/preview"));
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    @Test
    void thePageShowsAMovingMouthWhileSpeechPlaysAndAStillOneInThePause(@TempDir Path tmp) throws Exception {
        Path chromium = chromium();
        float[] hello = MediaRegistry.global().readAudio(REPO.resolve("examples/media/hello.wav"), RATE).samples();
        // 0.3 s of silence, 2.4 s of speech, a 2.5 s pause, 2.4 s of speech, 1 s of silence
        float[] wav = new float[(int) (8.6 * RATE)];
        System.arraycopy(hello, 0, wav, (int) (0.3 * RATE), (int) (2.4 * RATE));
        System.arraycopy(hello, (int) (2.4 * RATE), wav, (int) (5.2 * RATE), (int) (2.4 * RATE));
        Path mic = InputMatrix.wav16(tmp.resolve("mic.wav"), wav, RATE, 1);

        Avatar request = Avatar.from(REPO.resolve("examples/media/portrait.png")).model(model).size(256, 256);
        try (LiveWebServer server = LiveWebServer.start(request, model, "127.0.0.1", 0, 2);
             HeadlessChromium browser = new HeadlessChromium(chromium, tmp, List.of(
                     "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                     // %noloop: the file plays once, then the "microphone" is silent
                     "--use-file-for-fake-audio-capture=" + mic + "%noloop",
                     "--autoplay-policy=no-user-gesture-required"),
                     server.uri() + "?autostart=mic&probe=" + MOUTH)) {
            // until the page has sent the whole file and a second more, and shown frames that far
            long deadline = System.nanoTime() + 180_000_000_000L;
            Map<String, Object> state;
            double shownTo;
            while (true) {
                state = map(browser.evaluate("window.avatar4jLive ? window.avatar4jLive.state : null"));
                shownTo = number(browser.evaluate("(() => { const l = window.avatar4jLive; "
                        + "const s = l && l.shown.filter(f => f.speech); return s && s.length && l.state.ready "
                        + "? s[s.length - 1].speech[1] * l.state.captureRate / l.state.ready.sampleRate : 0; })()"));
                double rate = state == null ? 0 : number(state.get("captureRate"));
                if (rate > 0 && shownTo >= rate * (wav.length / (double) RATE + 1.0)) {
                    break;
                }
                assertThat(state == null || (state.get("error") == null && !"closed".equals(state.get("socket"))))
                        .as("page error: %s", state).isTrue();
                assertThat(System.nanoTime()).as("the page streamed the microphone and showed its frames "
                        + "within 3 minutes; page state %s; browser log:%n%s", state, browser.log()).isLessThan(deadline);
                Thread.sleep(500);
            }
            // what a person would have seen, for a look after the run
            browser.screenshot(Path.of("target", "live-web-page.png"));
            List<Map<String, Object>> shown = list(browser.evaluate("JSON.stringify(window.avatar4jLive.shown)"));
            List<Map<String, Object>> sent = list(browser.evaluate("JSON.stringify(window.avatar4jLive.sent)"));
            assertThat(state.get("socket")).isEqualTo("open");
            check(shown, sent, number(state.get("captureRate")), number(map(state.get("ready")).get("sampleRate")));
        }
    }

    @Test
    void aPickedAudioFileIsSentToItsLastSampleAndTheAvatarFallsIdleAfterIt(@TempDir Path tmp) throws Exception {
        Path chromium = chromium();
        float[] hello = MediaRegistry.global().readAudio(REPO.resolve("examples/media/hello.wav"), 44_100).samples();
        Path file = InputMatrix.wav16(tmp.resolve("answer.wav"), java.util.Arrays.copyOf(hello, 2 * 44_100), 44_100, 1);

        Avatar request = Avatar.from(REPO.resolve("examples/media/portrait.png")).model(model).size(128, 128);
        try (LiveWebServer server = LiveWebServer.start(request, model, "127.0.0.1", 0, 2);
             HeadlessChromium browser = new HeadlessChromium(chromium, tmp,
                     List.of("--autoplay-policy=no-user-gesture-required"), server.uri().toString())) {
            long deadline = System.nanoTime() + 180_000_000_000L;
            while (browser.evaluate("window.avatar4jLive && window.avatar4jLive.state.ready") == null) {
                assertThat(System.nanoTime()).as("the session ready within 3 minutes: %s", browser.log())
                        .isLessThan(deadline);
                Thread.sleep(200);
            }
            // as if the user picked the file
            Object root = ((Map<?, ?>) browser.call("DOM.getDocument", Map.of()).get("root")).get("nodeId");
            Object input = browser.call("DOM.querySelector", Map.of("nodeId", root, "selector", "#file")).get("nodeId");
            browser.call("DOM.setFileInputFiles", Map.of("nodeId", input, "files", List.of(file.toString())));
            // until an idle frame follows the speaking ones: the page sent endOfSpeech when the file ended
            Map<String, Object> state;
            while (true) {
                state = map(browser.evaluate("window.avatar4jLive.state"));
                Object idleAfterSpeech = browser.evaluate("(() => { const s = window.avatar4jLive.shown; "
                        + "const i = s.findLastIndex(f => f.speech); return i >= 0 && i < s.length - 1; })()");
                if (Boolean.TRUE.equals(idleAfterSpeech) && state.get("source") == null) {
                    break;
                }
                assertThat(state.get("error")).as("page error").isNull();
                assertThat(System.nanoTime()).as("the file spoken within 3 minutes; page state %s; browser log:%n%s",
                        state, browser.log()).isLessThan(deadline);
                Thread.sleep(250);
            }
            double rate = number(state.get("captureRate"));
            double modelRate = number(map(state.get("ready")).get("sampleRate"));
            double pushed = number(state.get("pushedSamples"));
            assertThat(pushed).as("the whole file, at the page's rate").isCloseTo(2.0 * rate,
                    org.assertj.core.data.Offset.offset(0.01 * rate));
            List<Map<String, Object>> shown = list(browser.evaluate("JSON.stringify(window.avatar4jLive.shown)"));
            double lastEnd = shown.stream().filter(f -> f.get("speech") != null)
                    .mapToDouble(f -> number(((List<?>) f.get("speech")).get(1))).max().orElse(0);
            assertThat(lastEnd * rate / modelRate).as("shown to the last sample sent (endOfSpeech), no further")
                    .isCloseTo(pushed, org.assertj.core.data.Offset.offset(0.005 * rate));
        }
    }

    /** Debian's chromium; skips the test without it (fails under CI, which installs it). */
    private static Path chromium() {
        Path chromium = HeadlessChromium.executable();
        assertThat(chromium != null || !"true".equals(System.getenv("CI")))
                .as("CI installs Debian's chromium (.ci/run), so that this test runs there").isTrue();
        assumeTrue(chromium != null, "no chromium on the PATH (Debian: apt-get install chromium; or set "
                + "AVATAR4J_CHROMIUM): the browser test of the live demo is skipped");
        return chromium;
    }

    /**
     * Speaking frames (the speech they show is loud) against frames of the pause (what they show and
     * the half second before it are silent): the mouth's rectangle changes from frame to frame in the
     * first and keeps still in the second.
     */
    private static void check(List<Map<String, Object>> shown, List<Map<String, Object>> sent, double captureRate,
                              double modelRate) {
        double[] quietSince = quietSince(sent);
        List<Double> speaking = new ArrayList<>();
        List<Double> speakingLuma = new ArrayList<>();
        List<Double> pause = new ArrayList<>();
        List<Double> pauseLuma = new ArrayList<>();
        List<Double> pauseAt = new ArrayList<>();
        double lastSpeech = 0;
        double firstSpeech = Double.MAX_VALUE;
        for (Map<String, Object> f : shown) {
            if (f.get("speech") == null || f.get("motion") == null || f.get("level") == null) {
                continue;
            }
            double level = number(f.get("level"));
            double motion = number(f.get("motion"));
            List<?> span = (List<?>) f.get("speech");
            double start = number(span.get(0)) * captureRate / modelRate; // at the page's capture rate
            if (level > -35) {
                speaking.add(motion);
                speakingLuma.add(number(f.get("luma")));
                lastSpeech = Math.max(lastSpeech, start);
                firstSpeech = Math.min(firstSpeech, start);
            } else if (level < -60 && silentFrom(quietSince, sent, start) <= start - 0.5 * captureRate) {
                pause.add(motion);
                pauseLuma.add(number(f.get("luma")));
                pauseAt.add(start);
            }
        }
        double last = lastSpeech;
        long between = pauseAt.stream().filter(at -> at < last).count(); // not only the silence after the file
        System.out.printf("live web page: %d frames shown, %d speaking (mouth change %.2f, brightness %.1f), %d in "
                + "pauses (mouth change %.2f, brightness %.1f)%n", shown.size(), speaking.size(), mean(speaking),
                mean(speakingLuma), pause.size(), mean(pause), mean(pauseLuma));
        // about 90 and 100 of each; fewer where a loaded machine makes the page skip frames
        assertThat(speaking).as("speaking frames shown").hasSizeGreaterThan(25);
        assertThat(pause).as("frames shown in pauses").hasSizeGreaterThan(25);
        assertThat(between).as("frames of the pause between the two parts").isGreaterThan(10);
        assertThat(firstSpeech).isLessThan(lastSpeech);
        // measured: a change of 6 grey levels a frame in speech, under 1 (the idle head motion) in pauses
        assertThat(mean(speaking)).as("the mouth moves while speech plays").isGreaterThan(2.0);
        assertThat(mean(pause)).as("the mouth keeps still in pauses").isLessThan(mean(speaking) / 3);
        // and it is open (its shaded inside darkens the rectangle: 5 grey levels measured) in speech, shut in pauses
        assertThat(mean(pauseLuma)).as("the mouth is shut in pauses, open in speech")
                .isGreaterThan(mean(speakingLuma) + 1.5);
    }

    /** For each sent chunk, where the silence it belongs to began (its own start if it is loud), in samples. */
    private static double[] quietSince(List<Map<String, Object>> sent) {
        double[] since = new double[sent.size()];
        double quietFrom = 0;
        for (int i = 0; i < sent.size(); i++) {
            Map<String, Object> c = sent.get(i);
            double n = number(c.get("end")) - number(c.get("start"));
            boolean loud = n > 0 && 10 * Math.log10(Math.max(1e-12, number(c.get("sumSq")) / n)) > -50;
            if (loud) {
                quietFrom = number(c.get("end"));
            }
            since[i] = loud ? Double.MAX_VALUE : quietFrom;
        }
        return since;
    }

    /** Since where (samples) the audio up to {@code at} has been silent. */
    private static double silentFrom(double[] quietSince, List<Map<String, Object>> sent, double at) {
        for (int i = 0; i < sent.size(); i++) {
            Map<String, Object> c = sent.get(i);
            if (number(c.get("start")) <= at && at < number(c.get("end"))) {
                return quietSince[i];
            }
        }
        return Double.MAX_VALUE;
    }

    private static double mean(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).average().orElse(0);
    }

    private static double number(Object o) {
        return o instanceof Number n ? n.doubleValue() : 0;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Object json) throws java.io.IOException {
        return (List<Map<String, Object>>) (List<?>) JSON.std.listFrom((String) json);
    }
}
