package dev.avatar4j.engine;

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
 * <p>Reads only the chunk headers before {@code data}. Files that are not RIFF/WAVE, and streamed
 * WAVs whose writer left the size unset (0 or 0xFFFFFFFF), pass unchecked.
 */
final class WavIntegrity {
    /** Chunk headers read before giving up looking for {@code data}. */
    private static final int MAX_CHUNKS = 64;

    private WavIntegrity() {
    }

    /** Throws {@link InvalidInputException} if {@code file} is a WAV whose samples are cut short. */
    static void check(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            if (readFully(ch, head, 0) < 12 || head.getInt(0) != 0x46464952 /* RIFF */
                    || head.getInt(8) != 0x45564157 /* WAVE */) {
                return;
            }
            long at = 12;
            ByteBuffer chunk = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < MAX_CHUNKS && at + 8 <= size; i++) {
                chunk.clear();
                if (readFully(ch, chunk, at) < 8) {
                    return;
                }
                int id = chunk.getInt(0);
                long declared = Integer.toUnsignedLong(chunk.getInt(4));
                if (id == 0x61746164 /* data */) {
                    long available = size - at - 8;
                    if (declared != 0 && declared != 0xFFFFFFFFL && declared > available) {
                        throw new InvalidInputException("audio " + file + " is truncated: its WAV header declares "
                                + declared + " bytes of samples but the file holds " + available);
                    }
                    return;
                }
                at += 8 + declared + (declared & 1); // chunks are padded to an even length
            }
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
