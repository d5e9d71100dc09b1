package dev.avatar4j.media;

import dev.avatar4j.Frame;
import dev.avatar4j.InvalidInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import javax.imageio.ImageIO;

/** Ready-made {@link FrameSink}s. */
public final class FrameSinks {
    private FrameSinks() {
    }

    /**
     * Writes {@code frame_000000.png}, {@code frame_000001.png} … into {@code dir} (created if
     * missing). Files are written to a hidden staging folder inside {@code dir} and moved into place
     * on {@link FrameSink#complete()}; an aborted generation leaves nothing behind.
     *
     * @param dir the output directory; not null
     * @return a new sink writing into {@code dir}
     * @throws dev.avatar4j.InvalidInputException if {@code dir} or its staging folder cannot be
     *                                            created
     */
    public static FrameSink pngSequence(Path dir) {
        return new PngSequenceSink(Objects.requireNonNull(dir, "dir"));
    }

    /**
     * Sends every frame to all {@code sinks}, in order; completes and aborts them all.
     *
     * @param sinks the sinks, each receiving every frame in the order given; none null
     * @return a sink that fans out to {@code sinks}
     * @throws NullPointerException if {@code sinks} or one of them is null
     */
    public static FrameSink tee(FrameSink... sinks) {
        List<FrameSink> list = List.of(sinks);
        return new FrameSink() {
            @Override
            public void accept(Frame frame) {
                for (FrameSink s : list) {
                    s.accept(frame);
                }
            }

            @Override
            public void complete() {
                for (FrameSink s : list) {
                    s.complete();
                }
            }

            @Override
            public void abort() {
                for (FrameSink s : list) {
                    s.abort();
                }
            }
        };
    }

    private static final class PngSequenceSink implements FrameSink {
        private final Path dir;
        private final Path staging;
        private final List<Path> written = new ArrayList<>();
        private boolean finished;

        PngSequenceSink(Path dir) {
            this.dir = dir;
            try {
                Files.createDirectories(dir);
                this.staging = Files.createDirectory(dir.resolve(".avatar4j-" + UUID.randomUUID() + ".part"));
            } catch (IOException e) {
                throw new InvalidInputException("cannot create PNG output directory " + dir + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void accept(Frame frame) {
            Path f = staging.resolve(String.format("frame_%06d.png", frame.index()));
            try {
                ImageIO.write(frame.toBufferedImage(), "png", f.toFile());
                written.add(f);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + f + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void complete() {
            try {
                for (Path f : written) {
                    Files.move(f, dir.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
                finished = true;
                Files.deleteIfExists(staging);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot move PNG frames into " + dir + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void abort() {
            if (finished) {
                return;
            }
            finished = true;
            try (DirectoryStream<Path> files = Files.newDirectoryStream(staging)) {
                for (Path f : files) {
                    Files.deleteIfExists(f);
                }
                Files.deleteIfExists(staging);
            } catch (IOException ignored) {
                // best effort: abort never throws
            }
        }
    }
}
