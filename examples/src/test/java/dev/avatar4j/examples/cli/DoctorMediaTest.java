package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.MediaCodec;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.UnsupportedMediaException;
import dev.avatar4j.media.VideoSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code doctor}'s media lines: the truth of a real encode and decode, and the codec's reason when it fails. */
class DoctorMediaTest {
    private static final String MISSING = "the FFmpeg native libraries for linux-x86_64 cannot be loaded: "
            + "libpulse.so.0: cannot open shared object file (install the system package that provides libpulse.so.0)";

    /** A codec whose natives do not load: every call fails as FfmpegMediaCodec's does then. */
    private static final class BrokenCodec implements MediaCodec {
        @Override
        public String name() {
            return "ffmpeg";
        }

        @Override
        public int rank() {
            return 10;
        }

        @Override
        public RgbImage readImage(Path file) throws UnsupportedMediaException {
            throw new UnsupportedMediaException(MISSING);
        }

        @Override
        public AudioClip readAudio(Path file, int sampleRate) throws UnsupportedMediaException {
            throw new UnsupportedMediaException(MISSING);
        }

        @Override
        public FrameSink openVideoWriter(Path out, VideoSpec spec) throws UnsupportedMediaException {
            throw new UnsupportedMediaException(MISSING);
        }
    }

    @Test
    void aCodecWhoseNativesFailIsUnavailableWithTheMissingLibrary() {
        List<String> lines = DoctorCommand.mediaReport(List.of(new BrokenCodec()), "-");
        assertThat(lines).singleElement().asString().startsWith("ffmpeg").contains("unavailable")
                .contains("libpulse.so.0: cannot open shared object file").contains("install")
                .doesNotContain("classifier");
    }

    @Test
    void theRealCodecsAreTestedInThisProcess() {
        List<String> lines = DoctorCommand.mediaReport(dev.avatar4j.io.MediaRegistry.global().codecs(), "-");
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("ffmpeg").contains("available - wrote and decoded"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("jdk").contains("WAV only"));
    }
}
