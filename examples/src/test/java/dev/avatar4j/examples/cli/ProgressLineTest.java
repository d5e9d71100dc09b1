package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.Progress;
import dev.avatar4j.Progress.Stage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The progress bar's text, driven by a fake clock and a recorded sequence of snapshots shaped like
 * a 30-step stableavatar run: a slow first model call (set-up and warm-up), then steady calls, the
 * frames only at the end of the denoising.
 */
class ProgressLineTest {
    private static final long S = 1_000_000_000L;
    private static final int WIDTH = 160;

    private static Progress p(Stage stage, int frames, long work, long total, String activity) {
        return new Progress(stage, frames, 145, work, total, Duration.ZERO, activity);
    }

    @Test
    void followsTheWorkAndSaysWhatRunsLongBeforeTheFirstFrame() {
        ProgressLine line = new ProgressLine(0);
        line.update(p(Stage.PREPARING, 0, 0, 250, "encoding prompt and image"), 0);
        assertThat(line.render(S / 2, WIDTH)).contains("0%").contains("encoding prompt and image").contains("ETA …");

        line.update(p(Stage.DENOISING, 0, 1, 250, "denoising window 1/7, step 1/30"), 3 * S);
        line.update(p(Stage.DENOISING, 0, 25, 250, "denoising window 3/7, step 12/30"), 9 * S);
        String mid = line.render(9 * S, WIDTH);
        assertThat(mid).contains(" 10%").contains("0/145 frames").contains("denoising window 3/7, step 12/30")
                .contains("0:09").contains("[===");
    }

    @Test
    void noEtaUntilItRestsOnMeasuredWorkThenTheRateAfterTheFirstUnit() {
        ProgressLine line = new ProgressLine(0);
        // the first unit took 20 s (set-up): averaged from the start it predicts 99 * 20 s = 33 min
        line.update(p(Stage.DENOISING, 0, 1, 100, "denoising"), 20 * S);
        assertThat(line.eta(20 * S)).isEmpty();
        line.update(p(Stage.DENOISING, 0, 2, 100, "denoising"), 20 * S + S / 4);
        assertThat(line.eta(21 * S)).as("one unit measured").isEmpty();
        line.update(p(Stage.DENOISING, 0, 3, 100, "denoising"), 20 * S + S / 2);
        assertThat(line.eta(21 * S)).as("under a second measured").isEmpty();
        line.update(p(Stage.DENOISING, 0, 5, 100, "denoising"), 21 * S);
        // 4 units in 1 s after the first: 0.25 s a unit, 95 left
        assertThat(line.eta(21 * S)).contains(Duration.ofMillis(23_750));
        assertThat(line.render(21 * S, WIDTH)).contains("ETA 0:23");
        // between snapshots the ETA counts down with the clock
        assertThat(line.eta(24 * S)).contains(Duration.ofMillis(20_750));
        assertThat(line.eta(100 * S)).contains(Duration.ZERO);
    }

    @Test
    void theStagesOfARunReadInOrder() {
        ProgressLine line = new ProgressLine(0);
        String[] activities = {"encoding audio, window 1/7", "denoising window 1/7, step 1/30", "decoding latent frame 1/37",
                "muxing"};
        Stage[] stages = {Stage.DENOISING, Stage.DENOISING, Stage.DECODING, Stage.FINISHING};
        for (int i = 0; i < activities.length; i++) {
            line.update(p(stages[i], i == 3 ? 145 : 0, i + 1, 250, activities[i]), i * S);
            assertThat(line.render(i * S, WIDTH)).contains(activities[i]);
        }
        line.update(p(Stage.DONE, 145, 250, 250, null), 10 * S);
        assertThat(line.render(10 * S, WIDTH)).contains("100%").contains("145/145 frames · done").doesNotContain("ETA");
    }

    @Test
    void fitsTheTerminalWidth() {
        ProgressLine line = new ProgressLine(0);
        line.update(p(Stage.DENOISING, 0, 50, 250, "denoising window 3/7, step 12/30"), S);
        for (int width : new int[] {200, 80, 60, 30}) {
            assertThat(line.render(S, width)).hasSizeLessThanOrEqualTo(width);
        }
        assertThat(line.render(S, 200)).contains("[");
        int barAt50 = line.render(S, 200).indexOf(']');
        line.update(p(Stage.DONE, 145, 250, 250, null), 2 * S);
        assertThat(line.render(2 * S, 200).indexOf(']')).as("the bar keeps its width").isEqualTo(barAt50);
        assertThat(ProgressLine.clock(Duration.ofSeconds(3725))).isEqualTo("1:02:05");
        assertThat(ProgressLine.clock(Duration.ofSeconds(65))).isEqualTo("1:05");
    }

    @Test
    void aShorterLineCoversTheLongerOneBeforeIt() {
        // seen in tmux: "… done · 0:03dow 2/2, step 29/30 · 0:02 · ETA 0:01" after the last step
        ProgressLine line = new ProgressLine(0);
        line.update(p(Stage.DENOISING, 0, 50, 250, "denoising window 2/2, step 29/30"), S);
        String longer = line.render(S, WIDTH);
        line.update(p(Stage.DONE, 145, 250, 250, null), 2 * S);
        String done = line.render(2 * S, WIDTH);
        assertThat(done.stripTrailing()).endsWith("done · 0:02");
        assertThat(done).hasSameSizeAs(longer);
        assertThat(line.render(2 * S, 40)).as("never past the width").hasSizeLessThanOrEqualTo(40);
    }

    @Test
    void theDisplayRedrawsWithoutNewSnapshotsSoTheClockMoves() throws Exception {
        // the progressbar library's continuous update: with no snapshot at all for 1.5 s the line is
        // redrawn (at least twice a second) and shows the advancing clock
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AtomicLong now = new AtomicLong();
        String before;
        try (PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
             ProgressDisplay d = new ProgressDisplay(ps, now::get)) {
            d.update(p(Stage.DENOISING, 0, 1, 250, "denoising window 1/7, step 1/30"));
            now.set(7 * S);
            long until = System.nanoTime() + 10 * S; // a generous bound for a loaded machine, not a timing assertion
            while (!out.toString(StandardCharsets.UTF_8).contains("0:07") && System.nanoTime() < until) {
                Thread.sleep(50);
            }
            before = out.toString(StandardCharsets.UTF_8); // before close(), which draws a last line anyway
        }
        assertThat(before).contains("denoising window 1/7, step 1/30").contains("0:07");
    }
}
