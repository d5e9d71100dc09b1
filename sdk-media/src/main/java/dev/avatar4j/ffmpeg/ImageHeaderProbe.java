package dev.avatar4j.ffmpeg;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads the pixel dimensions an image file declares in its header, without decoding it, so that
 * absurdly large images are refused before FFmpeg allocates their pixels. FFmpeg has no
 * header-only decode, and its image demuxers leave the size unset until a frame is decoded.
 *
 * <p>Knows PNG, JPEG, GIF, BMP, WebP and TIFF; returns {@code null} for anything else (the
 * decoder's {@code max_pixels} limit is the backstop there). Reads at most a few hundred small
 * chunks of the file.
 */
final class ImageHeaderProbe {
    /** Declared dimensions; {@code long} because headers may declare values beyond {@code int}. */
    record Size(long width, long height) {
        @Override
        public String toString() {
            return width + "x" + height;
        }
    }

    private static final int MAX_JPEG_SEGMENTS = 512;

    private ImageHeaderProbe() {
    }

    /** The declared size, or {@code null} when the format is not one this probe knows. */
    static Size probe(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer head = read(ch, 0, 32);
            if (head.remaining() < 8) {
                return null;
            }
            head.order(ByteOrder.BIG_ENDIAN);
            int b0 = u8(head, 0);
            int b1 = u8(head, 1);
            if (head.getLong(0) == 0x89504E470D0A1A0AL) {
                return png(head);
            }
            if (b0 == 0xFF && b1 == 0xD8) {
                return jpeg(ch);
            }
            if (startsWith(head, "GIF87a") || startsWith(head, "GIF89a")) {
                return head.remaining() >= 10 ? new Size(u16le(head, 6), u16le(head, 8)) : null;
            }
            if (b0 == 'B' && b1 == 'M') {
                return bmp(head);
            }
            if (startsWith(head, "RIFF") && head.remaining() >= 30 && tag(head, 8).equals("WEBP")) {
                return webp(head);
            }
            if (startsWith(head, "II*\0") || startsWith(head, "MM\0*")) {
                return tiff(ch, head);
            }
            return null;
        }
    }

    /**
     * The image format when the file starts with an unambiguous image signature (PNG, JPEG, GIF,
     * WebP), else {@code null}. Weak magics such as BMP's {@code BM} are not trusted here.
     */
    static String imageSignature(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer h = read(ch, 0, 16).order(ByteOrder.BIG_ENDIAN);
            if (h.remaining() >= 8 && h.getLong(0) == 0x89504E470D0A1A0AL) {
                return "PNG";
            }
            if (h.remaining() >= 3 && u8(h, 0) == 0xFF && u8(h, 1) == 0xD8 && u8(h, 2) == 0xFF) {
                return "JPEG";
            }
            if (startsWith(h, "GIF87a") || startsWith(h, "GIF89a")) {
                return "GIF";
            }
            if (startsWith(h, "RIFF") && tag(h, 8).equals("WEBP")) {
                return "WebP";
            }
            return null;
        }
    }

    private static Size png(ByteBuffer h) {
        // signature, IHDR length (4), "IHDR", width (4), height (4)
        if (h.remaining() < 24 || !tag(h, 12).equals("IHDR")) {
            return null;
        }
        return new Size(Integer.toUnsignedLong(h.getInt(16)), Integer.toUnsignedLong(h.getInt(20)));
    }

    private static Size jpeg(FileChannel ch) throws IOException {
        long pos = 2;
        for (int i = 0; i < MAX_JPEG_SEGMENTS; i++) {
            ByteBuffer m = read(ch, pos, 9).order(ByteOrder.BIG_ENDIAN);
            if (m.remaining() < 4) {
                return null;
            }
            if (u8(m, 0) != 0xFF) {
                return null;
            }
            int marker = u8(m, 1);
            if (marker == 0xFF) { // fill byte
                pos++;
                continue;
            }
            if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { // no length
                pos += 2;
                continue;
            }
            if (marker == 0xD9 || marker == 0xDA) { // EOI, start of scan: no frame header found
                return null;
            }
            int len = u16be(m, 2);
            boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (sof) {
                if (m.remaining() < 9) {
                    return null;
                }
                long height = u16be(m, 5);
                long width = u16be(m, 7);
                return height == 0 ? null : new Size(width, height); // height 0: defined later by DNL
            }
            if (len < 2) {
                return null;
            }
            pos += 2 + len;
        }
        return null;
    }

    private static Size bmp(ByteBuffer h) {
        if (h.remaining() < 26) {
            return null;
        }
        h.order(ByteOrder.LITTLE_ENDIAN);
        long headerSize = Integer.toUnsignedLong(h.getInt(14));
        if (headerSize == 12) { // BITMAPCOREHEADER
            return new Size(u16le(h, 18), u16le(h, 20));
        }
        return new Size(Math.abs((long) h.getInt(18)), Math.abs((long) h.getInt(22)));
    }

    private static Size webp(ByteBuffer h) {
        String chunk = tag(h, 12);
        h.order(ByteOrder.LITTLE_ENDIAN);
        return switch (chunk) {
            case "VP8 " -> (u8(h, 23) == 0x9D && u8(h, 24) == 0x01 && u8(h, 25) == 0x2A)
                    ? new Size(u16le(h, 26) & 0x3FFF, u16le(h, 28) & 0x3FFF) : null;
            case "VP8L" -> {
                if (u8(h, 20) != 0x2F) {
                    yield null;
                }
                long bits = Integer.toUnsignedLong(h.getInt(21));
                yield new Size((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
            }
            case "VP8X" -> new Size(u24le(h, 24) + 1, u24le(h, 27) + 1);
            default -> null;
        };
    }

    private static Size tiff(FileChannel ch, ByteBuffer head) throws IOException {
        ByteOrder order = u8(head, 0) == 'I' ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN;
        head.order(order);
        long ifd = Integer.toUnsignedLong(head.getInt(4));
        ByteBuffer count = read(ch, ifd, 2).order(order);
        if (count.remaining() < 2) {
            return null;
        }
        int n = Short.toUnsignedInt(count.getShort(0));
        ByteBuffer entries = read(ch, ifd + 2, Math.min(n, 1024) * 12).order(order);
        long width = -1;
        long height = -1;
        for (int i = 0; i + 12 <= entries.remaining(); i += 12) {
            int tag = Short.toUnsignedInt(entries.getShort(i));
            int type = Short.toUnsignedInt(entries.getShort(i + 2));
            long value = switch (type) {
                case 3 -> Short.toUnsignedInt(entries.getShort(i + 8)); // SHORT
                case 4 -> Integer.toUnsignedLong(entries.getInt(i + 8)); // LONG
                default -> -1;
            };
            if (tag == 256) {
                width = value;
            } else if (tag == 257) {
                height = value;
            }
        }
        return width >= 0 && height >= 0 ? new Size(width, height) : null;
    }

    private static ByteBuffer read(FileChannel ch, long pos, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) {
                break;
            }
        }
        return b.flip();
    }

    private static boolean startsWith(ByteBuffer b, String s) {
        return b.remaining() >= s.length() && tag(b, 0, s.length()).equals(s);
    }

    private static String tag(ByteBuffer b, int at) {
        return tag(b, at, 4);
    }

    private static String tag(ByteBuffer b, int at, int n) {
        if (at + n > b.remaining()) {
            return "";
        }
        char[] c = new char[n];
        for (int i = 0; i < n; i++) {
            c[i] = (char) u8(b, at + i);
        }
        return new String(c);
    }

    private static int u8(ByteBuffer b, int at) {
        return b.get(at) & 0xFF;
    }

    private static int u16be(ByteBuffer b, int at) {
        return (u8(b, at) << 8) | u8(b, at + 1);
    }

    private static int u16le(ByteBuffer b, int at) {
        return u8(b, at) | (u8(b, at + 1) << 8);
    }

    private static long u24le(ByteBuffer b, int at) {
        return u8(b, at) | (u8(b, at + 1) << 8) | ((long) u8(b, at + 2) << 16);
    }
}
