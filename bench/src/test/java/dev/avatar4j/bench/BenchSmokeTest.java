package dev.avatar4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The harness end to end on the tiny bundle in its {@code --quick} form (a few seconds): the report
 * and its plot are written, and the overhead ratio in the table is consistent (wall ≥ graph time).
 * The full benchmark never runs in {@code mvn verify}.
 */
class BenchSmokeTest {

    @Test
    void quickRunWritesTheReportAndThePlot(@TempDir Path dir) throws Exception {
        Path md = dir.resolve("BENCH.md");
        int rc = BenchMain.run("--quick", "--tiny", "../models/stableavatar-tiny", "--out", md.toString(),
                "--plots", dir.resolve("plots").toString(), "--sections", "overhead,flops");
        assertThat(rc).isZero();
        String text = Files.readString(md);
        assertThat(text).contains("## SDK overhead", "## DiT arithmetic and utilisation",
                "![share of wall time per stage](plots/overhead-per-stage.png)", "stableavatar-tiny");
        Matcher m = Pattern.compile("\\| stableavatar-tiny \\| (\\d+) \\| (\\d+) \\| [0-9.]+ \\| ([0-9.]+) \\| ([0-9.]+) \\|")
                .matcher(text);
        assertThat(m.find()).as("overhead row in:%n%s", text).isTrue();
        assertThat(Integer.parseInt(m.group(1))).as("frames of 2 s at 25 fps").isEqualTo(49);
        assertThat(Integer.parseInt(m.group(2))).as("DiT calls").isPositive();
        assertThat(Double.parseDouble(m.group(3))).as("wall >= graph time").isGreaterThanOrEqualTo(Double.parseDouble(m.group(4)));
        byte[] png = Files.readAllBytes(dir.resolve("plots/overhead-per-stage.png"));
        assertThat(png).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
    }
}
