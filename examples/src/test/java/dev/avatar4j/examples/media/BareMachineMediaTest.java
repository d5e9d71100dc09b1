package dev.avatar4j.examples.media;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The main job needs no desktop libraries, whatever the machine has installed: a fresh JVM
 * generates an MP4 and dubs a clip, and its memory map then holds FFmpeg's libavformat but no
 * libavdevice, PulseAudio, ALSA or X11 library (JavaCV's grabber and recorder loaded libavdevice,
 * which links them, so a machine without them could not write a video at all).
 */
@EnabledOnOs(OS.LINUX)
class BareMachineMediaTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    @Test
    void generationAndDubMapNoDesktopLibrary() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx1g",
                "-cp", System.getProperty("java.class.path"),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                BareMachineDriver.class.getName(), REPO.toString(), dir.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(text).isZero();
        assertThat(Files.size(dir.resolve("hello.mp4"))).isPositive();
        assertThat(Files.size(dir.resolve("dub.mp4"))).isPositive();

        String maps = text.substring(text.indexOf("MAPS"));
        assertThat(maps).as("FFmpeg did the work in that process").contains("libavformat.so")
                .contains("libavcodec.so").contains("libswscale.so").contains("libswresample.so");
        for (String lib : List.of("libavdevice", "libavfilter", "libpulse", "libasound", "libX11", "libxcb")) {
            assertThat(maps).as("mapped: %s", lib).doesNotContain(lib);
        }
    }
}
