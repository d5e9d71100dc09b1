package dev.avatar4j.io;

import dev.avatar4j.InvalidInputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Refuses a RIFF/WAVE file whose {@code data} chunk declares more bytes than the file holds: a
 * truncated copy. Decoders read such a file without an error up to where it ends (FFmpeg even
 * reports the shortened length as the duration), which would animate only part of the speech.
 *
 * <p>Also tells the length of a linear PCM/float WAV from its header, so that a long file can be
 * planned without decoding it. Reads only the chunk headers before {@code data}. Files that are not RIFF/WAVE, and streamed
 * WAVs whose writer left the size unset (0 or 0xFFFFFFFF), pass unchecked.
 */
final class WavIntegrity {
    /** Chunk headers read before giving up looking for {@code data}. */
    private static final int MAX_CHUNKS = 64;

    private WavIntegrity() {
    }

    /** Throws {@link InvalidInputException} if {@code file} is a WAV whose samples are cut short. */
    static void check(Path file) {
        samplesAt(file, -1);
    }

    /**
     * Checks {@code file} like {@link #check(Path)} and returns its length in sample frames when
     * the header alone tells it exactly at {@code sampleRate}: linear PCM or IEEE float, any
     * channel count, stored at that very rate (a decoder then yields one mono sample per frame).
     * Returns -1 for anything else (other rates need the resampler's exact output length,
     * compressed formats a decode), and for non-WAV files.
     */
    static long samplesAt(Path file, int sampleRate) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            if (readFully(ch, head, 0) < 12 || head.getInt(0) != 0x46464952 /* RIFF */
                    || head.getInt(8) != 0x45564157 /* WAVE */) {
                return -1;
            }
            long at = 12;
            int tag = -1;
            int rate = -1;
            int blockAlign = 0;
            ByteBuffer chunk = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < MAX_CHUNKS && at + 8 <= size; i++) {
                chunk.clear();
                if (readFully(ch, chunk, at) < 8) {
                    return -1;
                }
                int id = chunk.getInt(0);
                long declared = Integer.toUnsignedLong(chunk.getInt(4));
                if (id == 0x20746d66 /* "fmt " */ && declared >= 16) {
                    ByteBuffer fmt = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
                    if (readFully(ch, fmt, at + 8) == 16) {
                        tag = fmt.getShort(0) & 0xFFFF;
                        rate = fmt.getInt(4);
                        blockAlign = fmt.getShort(12) & 0xFFFF;
                        if (tag == 0xFFFE && declared >= 40) { // WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
                            ByteBuffer sub = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN);
                            tag = readFully(ch, sub, at + 8 + 24) == 2 ? sub.getShort(0) & 0xFFFF : -1;
                        }
                    }
                }
                if (id == 0x61746164 /* data */) {
                    long available = size - at - 8;
                    boolean sized = declared != 0 && declared != 0xFFFFFFFFL;
                    if (sized && declared > available) {
                        throw new InvalidInputException("audio " + file + " is truncated: its WAV header declares "
                                + declared + " bytes of samples but the file holds " + available);
                    }
                    boolean linear = tag == 1 /* PCM */ || tag == 3 /* IEEE float */;
                    return sized && linear && blockAlign > 0 && rate == sampleRate ? declared / blockAlign : -1;
                }
                at += 8 + declared + (declared & 1); // chunks are padded to an even length
            }
            return -1;
        } catch (IOException e) {
            throw new InvalidInputException("cannot read audio file " + file + ": " + e.getMessage(), e);
        }
    }

    private static int readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        int total = 0;
        while (b.hasRemaining()) {
            int n = ch.read(b, at + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }
}
