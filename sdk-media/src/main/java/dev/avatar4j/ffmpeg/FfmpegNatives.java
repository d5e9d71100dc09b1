package dev.avatar4j.ffmpeg;

import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_FATAL;
import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_VERBOSE;
import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_WARNING;
import static org.bytedeco.ffmpeg.global.avutil.av_log_set_level;
import static org.bytedeco.ffmpeg.global.avutil.setLogCallback;

import dev.avatar4j.media.UnsupportedMediaException;
import org.bytedeco.ffmpeg.avutil.LogCallback;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the FFmpeg native libraries once and routes FFmpeg's log to SLF4J.
 *
 * <p>FFmpeg's log is process-global. By default it is sent to the SLF4J logger
 * {@code dev.avatar4j.ffmpeg.native}: FFmpeg's own errors go to DEBUG (the codec turns every
 * failure that matters into an exception with its own message), warnings to DEBUG, info to TRACE,
 * and FFmpeg is told not to format messages that would be dropped. Set the system property
 * {@code avatar4j.ffmpeg.log=native} to leave FFmpeg's logging untouched (for example when the
 * application installs its own {@code av_log} callback).
 */
final class FfmpegNatives {
    private static final Logger log = LoggerFactory.getLogger(FfmpegNatives.class);

    private FfmpegNatives() {
    }

    /** Makes sure the natives are loaded. */
    static void ensureLoaded() throws UnsupportedMediaException {
        Throwable error = Holder.ERROR;
        if (error != null) {
            throw new UnsupportedMediaException("the FFmpeg native libraries are not available for "
                    + Loader.getPlatform() + " (" + error + "); add org.bytedeco:ffmpeg with the classifier of this platform");
        }
    }

    private static final class Holder {
        static final Throwable ERROR = load();

        private static Throwable load() {
            try {
                FFmpegFrameGrabber.tryLoad();
                FFmpegFrameRecorder.tryLoad();
                if (!"native".equalsIgnoreCase(System.getProperty("avatar4j.ffmpeg.log", "slf4j"))) {
                    Slf4jLogCallback.install();
                }
                return null;
            } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError, FrameGrabber.Exception
                log.warn("FFmpeg natives failed to load: {}", t.toString());
                return t;
            }
        }
    }

    /** FFmpeg log lines to SLF4J; one global instance, kept reachable for the life of the process. */
    static final class Slf4jLogCallback extends LogCallback {
        private static final Logger NATIVE = LoggerFactory.getLogger("dev.avatar4j.ffmpeg.native");
        private static Slf4jLogCallback instance;

        private Slf4jLogCallback() {
        }

        static synchronized void install() {
            if (instance != null) {
                return;
            }
            instance = new Slf4jLogCallback().retainReference();
            av_log_set_level(NATIVE.isTraceEnabled() ? AV_LOG_VERBOSE
                    : NATIVE.isDebugEnabled() ? AV_LOG_WARNING : AV_LOG_FATAL);
            setLogCallback(instance);
        }

        @Override
        public void call(int level, BytePointer msg) {
            try {
                String line = msg.getString().strip();
                if (line.isEmpty()) {
                    return;
                }
                if (level <= AV_LOG_FATAL) {
                    NATIVE.error(line);
                } else if (level <= AV_LOG_WARNING) {
                    NATIVE.debug(line);
                } else {
                    NATIVE.trace(line);
                }
            } catch (Throwable ignored) {
                // never let an exception cross into native code
            }
        }
    }
}
