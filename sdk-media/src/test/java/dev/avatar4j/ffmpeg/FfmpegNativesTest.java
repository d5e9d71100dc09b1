package dev.avatar4j.ffmpeg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.UnsupportedMediaException;
import dev.avatar4j.media.VideoSpec;
import dev.avatar4j.testing.FakeBundles;
import dev.avatar4j.testing.TestMedia;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the user reads when FFmpeg's natives cannot be loaded, and FFmpeg's error texts. */
class FfmpegNativesTest {
    /** As JavaCPP reports a JNI library whose dependency the dynamic linker cannot find. */
    static UnsatisfiedLinkError pulseMissing() {
        UnsatisfiedLinkError cause = new UnsatisfiedLinkError("/root/.javacpp/cache/ffmpeg-8.0.1-1.5.13-linux-x86_64.jar/"
                + "org/bytedeco/ffmpeg/linux-x86_64/libjniavdevice.so: libpulse.so.0: cannot open shared object file: "
                + "No such file or directory");
        UnsatisfiedLinkError top = new UnsatisfiedLinkError("no jniavdevice in java.library.path: /usr/lib");
        top.initCause(cause);
        return top;
    }

    @TempDir
    Path dir;

    @AfterEach
    void reset() {
        FfmpegNatives.failureForTest = null;
    }

    @Test
    void javaCppsLimitOnTheWholeProcessMemoryIsOffSoModelWeightsDoNotFailTheVideo() throws Exception {
        FfmpegNatives.ensureLoaded();
        // the weights of a full-size model live in ONNX Runtime's native memory; JavaCPP's default
        // limit (4x the heap, on the process's RSS) failed every video of the 11 GB bundle
        assertThat(System.getProperty(FfmpegNatives.JAVACPP_MAX_PHYSICAL)).isEqualTo("0");
        assertThat(org.bytedeco.javacpp.Pointer.maxPhysicalBytes()).isZero();
    }

    @Test
    void anApplicationsOwnJavaCppLimitIsKept() {
        String before = System.getProperty(FfmpegNatives.JAVACPP_MAX_PHYSICAL);
        try {
            System.setProperty(FfmpegNatives.JAVACPP_MAX_PHYSICAL, "64g");
            FfmpegNatives.lift();
            assertThat(System.getProperty(FfmpegNatives.JAVACPP_MAX_PHYSICAL)).isEqualTo("64g");
        } finally {
            System.setProperty(FfmpegNatives.JAVACPP_MAX_PHYSICAL, before == null ? "0" : before);
        }
    }

    @Test
    void theMissingSharedLibraryIsNamedWithWhatToInstall() {
        String m = FfmpegNatives.explain(pulseMissing());
        assertThat(m).contains("libpulse.so.0: cannot open shared object file").contains("install")
                .contains("libpulse.so.0").doesNotContain("classifier");
    }

    @Test
    void aMissingNativesJarStillSaysWhichClassifier() {
        String m = FfmpegNatives.explain(new UnsatisfiedLinkError("no jniavutil in java.library.path: /usr/lib"));
        assertThat(m).contains("classifier");
    }

    @Test
    void writingAVideoWithoutNativesSaysWhatIsMissing() throws Exception {
        FfmpegNatives.failureForTest = pulseMissing();
        assertThatThrownBy(() -> new FfmpegMediaCodec().openVideoWriter(dir.resolve("x.mp4"),
                new VideoSpec(16, 16, 25, new AudioClip(new float[0], 16_000), null)))
                .isInstanceOf(UnsupportedMediaException.class)
                .hasMessageContaining("libpulse.so.0: cannot open shared object file").hasMessageContaining("install");
        // and through the SDK: the error of render(Path) carries the reason
        try (AvatarModel model = AvatarModel.builder(FakeBundles.write(dir.resolve("b"))).backend("fake").load()) {
            assertThatThrownBy(() -> Avatar.from(TestMedia.gradient(16, 16)).speak(TestMedia.speechLike(0.5, 16_000),
                    16_000).model(model).render(dir.resolve("out.mp4")))
                    .hasMessageContaining("libpulse.so.0: cannot open shared object file")
                    .hasMessageNotContaining("classifier");
        }
    }

    @Test
    void errorCodesReadAsTheSystemSaysThem() {
        assertThat(FfmpegNatives.errorText(-28)).isEqualTo("No space left on device");
        assertThat(FfmpegNatives.diskFull(-28)).isTrue();
        assertThat(FfmpegNatives.describe("av_write_frame", -28)).isEqualTo("No space left on device (av_write_frame: -28)");
    }
}
