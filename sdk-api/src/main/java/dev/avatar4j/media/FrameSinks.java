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
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
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
                PartFiles.sweep(dir); // staging folders of runs that died before they could remove them
                this.staging = PartFiles.createDirectory(dir, "avatar4j-frames");
            } catch (IOException e) {
                throw new InvalidInputException("cannot create PNG output directory " + dir + ": " + e.getMessage(), e);
            }
        }

        /**
         * The image written, over {@link #pixels}: reused for every frame of one size, so that
         * writing a frame allocates no frame-sized array. A new image per frame (4 bytes a pixel)
         * was often alive when a young collection came, overflowed the survivor space and was
         * promoted: at 512x512 the old generation grew by ~0.1 MB a collection, 120 MB over ten
         * minutes of video.
         */
        private BufferedImage image;
        private byte[] pixels;

        @Override
        public void accept(Frame frame) {
            Path f = staging.resolve(fileName(frame.index()));
            try {
                ImageIO.write(imageOf(frame), "png", f.toFile());
                written.add(f);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + f + ": " + e.getMessage(), e);
            }
        }

        /**
         * {@code frame_000042.png}: the index zero-padded to six digits (more when larger). Not
         * {@code String.format}, whose parser the JIT compiles into the frame loop for every frame's name.
         */
        static String fileName(long index) {
            String digits = Long.toString(index);
            return "frame_" + "0".repeat(Math.max(0, 6 - digits.length())) + digits + ".png";
        }

        /** {@code frame}'s pixels in the reused packed-RGB image (no conversion: PNG stores RGB). */
        private BufferedImage imageOf(Frame frame) {
            int w = frame.width();
            int h = frame.height();
            if (image == null || image.getWidth() != w || image.getHeight() != h) {
                pixels = new byte[w * h * 3];
                WritableRaster raster = Raster.createInterleavedRaster(new DataBufferByte(pixels, pixels.length), w, h,
                        w * 3, 3, new int[] {0, 1, 2}, null);
                ColorModel rgb = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false,
                        Transparency.OPAQUE, DataBuffer.TYPE_BYTE);
                image = new BufferedImage(rgb, raster, false, null);
            }
            frame.image().pixels().get(pixels);
            return image;
        }

        @Override
        public void complete() {
            try {
                for (Path f : written) {
                    Files.move(f, dir.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
                finished = true;
                Files.deleteIfExists(staging);
                PartFiles.release(staging);
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
            PartFiles.release(staging);
        }
    }
}
