package dev.avatar4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The run book's measuring step on the CPU (ONNX Runtime inside the timed backend, the tiny bundle):
 * it renders, and its result line has every column the GPU table needs. Host↔device bytes are 0:
 * ONNX Runtime CPU has no device.
 */
class GpuRunBookTest {

    @Test
    void printsOneResultLineWithTheTablesColumns(@TempDir Path dir) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            rc = new CommandLine(new GpuRunBook()).execute("--model", "../models/stableavatar-tiny", "--image",
                    "../examples/media/portrait.png", "--audio", "../examples/media/hello.wav", "--width", "256",
                    "--height", "256", "--steps", "1", "--peak-tflops", "1", "--full-attention-blocks", "0", "--out",
                    dir.resolve("out.mp4").toString());
        } finally {
            System.setOut(old);
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        assertThat(rc).as(text).isZero();
        String line = text.lines().filter(l -> l.startsWith("RESULT ")).findFirst().orElseThrow();
        assertThat(line).contains(" size=256x256", " steps=1", " h2d_bytes=0", " d2h_bytes=0",
                " bus_bytes_per_latent_frame=0", " ms_per_call.dit=", " calls.dit=", " ms_per_call.vae_decoder=",
                " dit_tflops=", " dit_of_peak=", " e2e_of_peak=");
        double perVideoSecond = Double.parseDouble(line.replaceAll(".* s_per_video_s=([^ ]+).*", "$1"));
        double wall = Double.parseDouble(line.replaceAll(".* wall_s=([^ ]+).*", "$1"));
        double video = Double.parseDouble(line.replaceAll(".* video_s=([^ ]+).*", "$1"));
        assertThat(video).isPositive();
        assertThat(perVideoSecond).isCloseTo(wall / video, org.assertj.core.data.Percentage.withPercentage(1));
    }
}
