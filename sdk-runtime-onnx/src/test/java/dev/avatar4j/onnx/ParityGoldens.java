package dev.avatar4j.onnx;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * The committed outputs of one Python reference run (test resources under {@code dir}) and the
 * tiny-bundle copies the parity tests patch, shared by the families' parity tests.
 */
final class ParityGoldens {
    private final String dir;
    private final String script;

    /**
     * @param dir    resource directory of the goldens, e.g. {@code /parity/longcat/}
     * @param script the command that regenerates them (named when one is missing)
     */
    ParityGoldens(String dir, String script) {
        this.dir = dir;
        this.script = script;
    }

    InputStream open(String file) {
        InputStream in = ParityGoldens.class.getResourceAsStream(dir + file);
        if (in == null) {
            throw new IllegalStateException("missing golden " + dir + file + "; run " + script);
        }
        return in;
    }

    byte[] bytes(String file) {
        try (InputStream in = open(file)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A little-endian float32 file. */
    float[] floats(String file) {
        ByteBuffer b = ByteBuffer.wrap(bytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
    }

    /** A copy of {@code bundle} in {@code dir} with its manifest rewritten (the manifest carries no hash). */
    static Path patchedBundle(Path bundle, Path dir, UnaryOperator<String> manifest) {
        try (Stream<Path> files = Files.list(bundle)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName().toString()));
            }
            Path m = dir.resolve("avatar-bundle.json");
            Files.writeString(m, manifest.apply(Files.readString(m, StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
