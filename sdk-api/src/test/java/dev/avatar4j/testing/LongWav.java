package dev.avatar4j.testing;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/** Hours-long test WAVs without the disk space: a header, then a sparse body of zeros (silence). */
public final class LongWav {
    private LongWav() {
    }

    /**
     * Writes a 16-bit mono PCM WAV header declaring {@code seconds} of audio at {@code rate} and
     * extends the file to its full length (sparse on file systems that support it).
     *
     * @return the number of samples declared
     */
    public static long write(Path file, long seconds, int rate) throws IOException {
        long samples = seconds * rate;
        long data = samples * 2;
        if (data + 36 > 0xFFFFFFFFL) {
            throw new IllegalArgumentException("too long for a RIFF header");
        }
        ByteBuffer b = ByteBuffer.allocate(44).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt((int) (36 + data)).put("WAVE".getBytes());
        b.put("fmt ".getBytes()).putInt(16).putShort((short) 1).putShort((short) 1).putInt(rate).putInt(rate * 2)
                .putShort((short) 2).putShort((short) 16);
        b.put("data".getBytes()).putInt((int) data);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.write(b.array());
            raf.setLength(44 + data);
        }
        return samples;
    }

    /**
     * Bytes allocated on the heap by the current thread so far ({@code com.sun.management}'s
     * thread MX bean, looked up reflectively: the {@code dev.avatar4j} module does not read
     * {@code java.management}, which its tests are compiled against).
     */
    public static long allocatedBytes() {
        try {
            Object bean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean")
                    .invoke(null);
            return (long) Class.forName("com.sun.management.ThreadMXBean")
                    .getMethod("getThreadAllocatedBytes", long.class).invoke(bean, Thread.currentThread().threadId());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this JVM does not count allocated bytes per thread", e);
        }
    }
}
