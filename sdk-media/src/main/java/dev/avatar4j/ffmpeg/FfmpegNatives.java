package dev.avatar4j.ffmpeg;

import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_FATAL;
import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_VERBOSE;
import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_WARNING;
import static org.bytedeco.ffmpeg.global.avutil.av_log_set_level;
import static org.bytedeco.ffmpeg.global.avutil.av_strerror;
import static org.bytedeco.ffmpeg.global.avutil.setLogCallback;

import dev.avatar4j.media.UnsupportedMediaException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.ffmpeg.avutil.LogCallback;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avformat;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.ffmpeg.global.swresample;
import org.bytedeco.ffmpeg.global.swscale;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the FFmpeg native libraries once and routes FFmpeg's log to SLF4J.
 *
 * <p><b>Which libraries.</b> Only the five that do the work: {@code libavutil},
 * {@code libswresample}, {@code libswscale}, {@code libavcodec} and {@code libavformat} (and
 * their JNI glue), from the {@code org.bytedeco:ffmpeg} natives jar. {@code libavdevice} and
 * {@code libavfilter} are never loaded: {@code libavdevice} links desktop libraries (PulseAudio,
 * ALSA, X11) that a server does not have, and loading it (as JavaCV's grabber and recorder do)
 * made all media fail there.
 *
 * <p><b>When loading fails</b> the error names the shared library the dynamic linker could not
 * find (dug out of the {@link UnsatisfiedLinkError} cause chain) and what to do about it.
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
    private static final Pattern MISSING = Pattern.compile("([\\w.+-]+\\.so[.\\d]*): cannot open shared object file");

    /** Test seam: when set, {@link #ensureLoaded()} fails with it as if loading had failed. */
    static volatile Throwable failureForTest;

    private FfmpegNatives() {
    }

    /** Makes sure the natives are loaded. */
    static void ensureLoaded() throws UnsupportedMediaException {
        Throwable error = failureForTest;
        if (error == null) {
            error = Holder.ERROR;
        }
        if (error != null) {
            throw new UnsupportedMediaException(explain(error));
        }
    }

    /**
     * What went wrong loading the natives, in words a user can act on: the missing shared library
     * and what provides it, else the loader's own message.
     */
    static String explain(Throwable error) {
        String platform;
        try {
            platform = Loader.getPlatform();
        } catch (Throwable t) {
            platform = System.getProperty("os.name") + "-" + System.getProperty("os.arch");
        }
        if (error instanceof NoClassDefFoundError || error instanceof ClassNotFoundException) {
            return "the FFmpeg bindings are not on the class path (" + error.getMessage()
                    + "); add org.bytedeco:ffmpeg and org.bytedeco:javacpp";
        }
        List<String> missing = missingLibraries(error);
        if (!missing.isEmpty()) {
            return "the FFmpeg native libraries for " + platform + " cannot be loaded: " + String.join("; ", missing)
                    + " (" + advice(missing) + ")";
        }
        String detail = deepestMessage(error);
        if (detail.contains("no jni") || detail.contains("in java.library.path")) {
            return "the FFmpeg native libraries are not available for " + platform + " (" + detail
                    + "); add org.bytedeco:ffmpeg with the classifier " + platform;
        }
        return "the FFmpeg native libraries for " + platform + " cannot be loaded: " + detail;
    }

    /** Every "{@code libX.so.N: cannot open shared object file}" in the cause chain, once each. */
    static List<String> missingLibraries(Throwable error) {
        Set<String> found = new LinkedHashSet<>();
        for (Throwable t : chain(error)) {
            Matcher m = MISSING.matcher(String.valueOf(t.getMessage()));
            while (m.find()) {
                found.add(m.group(1) + ": cannot open shared object file");
            }
        }
        return new ArrayList<>(found);
    }

    private static String advice(List<String> missing) {
        List<String> hints = new ArrayList<>();
        for (String m : missing) {
            String lib = m.substring(0, m.indexOf(':'));
            String pkg = lib.startsWith("libstdc++") ? "libstdc++6"
                    : lib.startsWith("libgcc_s") ? "libgcc-s1"
                    : lib.startsWith("libm.") || lib.startsWith("libc.") || lib.startsWith("libdl")
                    || lib.startsWith("libpthread") ? "libc6 (glibc; the natives need glibc, not musl)"
                    : null;
            if (pkg != null) {
                hints.add("install " + pkg + ", e.g. apt-get install " + pkg.split(" ")[0]);
            } else {
                hints.add("install the system package that provides " + lib
                        + " (Debian/Ubuntu: apt-file search " + lib + ")");
            }
        }
        return String.join("; ", hints);
    }

    private static String deepestMessage(Throwable error) {
        String msg = error.toString();
        for (Throwable t : chain(error)) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                msg = t.getMessage();
            }
        }
        return msg.strip();
    }

    private static List<Throwable> chain(Throwable error) {
        List<Throwable> all = new ArrayList<>();
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        collect(error, all, seen);
        return all;
    }

    private static void collect(Throwable t, List<Throwable> all, Set<Throwable> seen) {
        if (t == null || !seen.add(t)) {
            return;
        }
        all.add(t);
        collect(t.getCause(), all, seen);
        for (Throwable s : t.getSuppressed()) {
            collect(s, all, seen);
        }
    }

    /** FFmpeg's text for an {@code AVERROR} code, e.g. "No space left on device" for -28. */
    static String errorText(int code) {
        try (BytePointer buf = new BytePointer(256)) {
            if (av_strerror(code, buf, buf.capacity()) == 0) {
                return buf.limit(0).getString(); // up to the terminating NUL
            }
        } catch (Throwable t) {
            // fall through to the number
        }
        return "error " + code;
    }

    /** {@code errorText} with the code and the call, for messages: "No space left on device (av_write_frame: -28)". */
    static String describe(String call, int code) {
        return errorText(code) + " (" + call + ": " + code + ")";
    }

    /** Whether an {@code AVERROR} code is {@code ENOSPC} or {@code EDQUOT} (the disk or quota is full). */
    static boolean diskFull(int code) {
        return code == -28 || code == -122;
    }

    /** JavaCPP's limit on the process's resident memory (read under both spellings; 0 is none). */
    static final String JAVACPP_MAX_PHYSICAL = "org.bytedeco.javacpp.maxPhysicalBytes";
    private static final String JAVACPP_MAX_PHYSICAL_LOWER = "org.bytedeco.javacpp.maxphysicalbytes";

    static {
        lift(); // before anything here touches JavaCPP's Loader, whose initialisation reads the limit
    }

    /**
     * Turns off JavaCPP's process-wide memory limit unless the application set it. Before each
     * allocation JavaCPP compares the whole process's resident memory with a limit of four times
     * the Java heap, and when it is over, it runs the garbage collector several times and throws
     * {@code OutOfMemoryError}. Its own allocations here are a few frames, while the process holds
     * the model's weights in ONNX Runtime's native memory: with the 11 GB full-size StableAvatar
     * bundle and a 2 GB heap every video failed on its first frame ("physicalBytes (11168M) >
     * maxPhysicalBytes (8179M)"). Must run before JavaCPP's {@code Pointer} class initialises,
     * which reads the property once.
     */
    static void lift() {
        if (System.getProperty(JAVACPP_MAX_PHYSICAL_LOWER) == null && System.getProperty(JAVACPP_MAX_PHYSICAL) == null) {
            System.setProperty(JAVACPP_MAX_PHYSICAL, "0");
        }
    }

    private static final class Holder {
        static final Throwable ERROR = load();

        private static Throwable load() {
            try {
                loadLibraries();
                if (!"native".equalsIgnoreCase(System.getProperty("avatar4j.ffmpeg.log", "slf4j"))) {
                    Slf4jLogCallback.install();
                }
                return null;
            } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError
                log.warn("FFmpeg natives failed to load: {}", explain(t));
                return t;
            }
        }

        private static void loadLibraries() {
            // in dependency order; each presets class loads its library and JNI glue, nothing else
            for (Class<?> c : List.of(avutil.class, swresample.class, swscale.class, avcodec.class, avformat.class)) {
                Loader.load(c);
            }
            log.debug("FFmpeg natives loaded for {}", Loader.getPlatform());
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
