package dev.avatar4j.examples.cli;

import dev.avatar4j.Progress;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * The text of the CLI's progress bar, from the SDK's {@link Progress} snapshots and a clock: the
 * share of the work done (model calls, not frames: frames come late, in bursts), a bar, the frames,
 * what the generation is doing ({@link Progress#activity()}), the elapsed time and an ETA.
 *
 * <p><b>ETA.</b> None until it rests on measured work: the first unit of work carries the set-up
 * (encoding the image and the first audio window, the graphs' warm-up) and the average from the
 * start extrapolated that across the whole job (three minutes predicted for a three-second job).
 * So the rate is measured from the moment the first unit is done, and an ETA is shown only once at
 * least {@link #MIN_UNITS} further units and {@link #MIN_MEASURED} of time lie behind it. Between
 * snapshots the ETA counts down with the clock.
 *
 * <p>Not thread-safe by itself: {@link ProgressDisplay} calls it under its lock. Times are
 * {@link System#nanoTime()}-style readings, so tests drive it with a fake clock.
 */
final class ProgressLine {
    /** Units of work after the first one that must be done before an ETA is shown. */
    static final int MIN_UNITS = 2;
    /** Time of measured work (after the first unit) before an ETA is shown. */
    static final Duration MIN_MEASURED = Duration.ofSeconds(1);
    private static final int MIN_BAR = 10;
    private static final int MAX_BAR = 30;

    private final long startNanos;
    private Progress last;
    /** The longest line rendered so far: shorter ones are padded to it (see {@link #render}). */
    private int widest;
    private long lastNanos;
    private long baseNanos = -1;
    private long baseWork;

    ProgressLine(long startNanos) {
        this.startNanos = startNanos;
    }

    /** Takes a snapshot that arrived at {@code nanos}. */
    void update(Progress p, long nanos) {
        if (baseNanos < 0 && p.workDone() > 0) {
            baseNanos = nanos;
            baseWork = p.workDone();
        }
        last = p;
        lastNanos = nanos;
    }

    /** The estimated time left at {@code nanos}, once it rests on measured work. */
    Optional<Duration> eta(long nanos) {
        Progress p = last;
        if (p == null || baseNanos < 0 || p.workTotal() <= 0) {
            return Optional.empty();
        }
        long measuredWork = p.workDone() - baseWork;
        long measuredNanos = lastNanos - baseNanos;
        if (measuredWork < MIN_UNITS || measuredNanos < MIN_MEASURED.toNanos()) {
            return Optional.empty();
        }
        double nanosPerUnit = (double) measuredNanos / measuredWork;
        double left = (p.workTotal() - p.workDone()) * nanosPerUnit - (nanos - lastNanos);
        return Optional.of(Duration.ofNanos((long) Math.max(0, left)));
    }

    /**
     * The line at {@code nanos}, at most {@code maxLength} characters (the bar shrinks first, then the
     * text is cut), padded with blanks to the longest line rendered before: the console consumer
     * writes a carriage return and the line without erasing the rest of the terminal line, so a
     * shorter line (the final {@code done} after {@code denoising window 2/2, step 29/30}) would
     * leave the end of the longer one on screen.
     */
    String render(long nanos, int maxLength) {
        Progress p = last;
        String percent;
        double fraction;
        StringBuilder tail = new StringBuilder();
        if (p == null || p.workTotal() <= 0) {
            percent = "  …%";
            fraction = 0;
            tail.append(p == null ? "starting" : p.activity());
        } else {
            fraction = p.stage() == Progress.Stage.DONE ? 1 : p.fraction();
            percent = String.format(Locale.ROOT, "%3d%%", (int) Math.floor(fraction * 100));
            tail.append(p.framesDone()).append('/').append(p.framesTotal()).append(" frames · ").append(p.activity());
        }
        tail.append(" · ").append(clock(Duration.ofNanos(nanos - startNanos)));
        if (p == null || p.stage() != Progress.Stage.DONE) {
            tail.append(eta(nanos).map(d -> " · ETA " + clock(d)).orElse(" · ETA …"));
        }
        String head = "generating " + percent + " ";
        // a bar of constant width (it would otherwise stretch as the activity text gets shorter)
        int barLength = Math.min(MAX_BAR, maxLength - head.length() - tail.length() - 3);
        String line;
        if (barLength >= MIN_BAR) {
            int filled = (int) Math.floor(fraction * barLength);
            line = head + "[" + "=".repeat(filled) + (filled < barLength ? ">" + " ".repeat(barLength - filled - 1) : "")
                    + "] " + tail;
        } else {
            line = head + tail;
        }
        if (line.length() > maxLength && maxLength > 0) {
            line = line.substring(0, Math.max(0, maxLength - 1)) + "…";
        }
        int pad = Math.min(widest, maxLength > 0 ? maxLength : widest) - line.length();
        widest = Math.max(widest, line.length());
        return pad > 0 ? line + " ".repeat(pad) : line;
    }

    /** {@code m:ss}, or {@code h:mm:ss} from an hour on. */
    static String clock(Duration d) {
        long s = Math.max(0, d.toSeconds());
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
