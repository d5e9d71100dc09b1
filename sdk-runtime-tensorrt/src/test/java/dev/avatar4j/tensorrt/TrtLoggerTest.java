package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** TensorRT log messages reach SLF4J through an upcall, from any native thread, and never throw. */
class TrtLoggerTest {
    record Seen(int severity, String text, String thread) {
    }

    @Test
    void messagesFromTheCallingThreadAndFromANativeThreadArrive() throws Exception {
        TestDouble.load();
        List<Seen> seen = new CopyOnWriteArrayList<>();
        try (AutoCloseable tap = TrtLogger.tap((sev, text) -> seen.add(new Seen(sev, text, Thread.currentThread().getName())));
             Arena a = Arena.ofConfined()) {
            TestDouble.logFromThread(TrtLogger.handle(), 1, a.allocateFrom("from a pthread: ünïcode ok"));
            TestDouble.logFromThread(TrtLogger.handle(), 4, a.allocateFrom("verbose is below the minimum"));
        }
        assertThat(seen).hasSize(1);
        assertThat(seen.getFirst().severity()).isEqualTo(1);
        assertThat(seen.getFirst().text()).isEqualTo("from a pthread: ünïcode ok");
        assertThat(seen.getFirst().thread()).isNotEqualTo(Thread.currentThread().getName());
    }

    @Test
    void aFailingObserverDoesNotEscapeTheUpcall() throws Exception {
        TestDouble.load();
        List<String> after = new CopyOnWriteArrayList<>();
        try (AutoCloseable bad = TrtLogger.tap((sev, text) -> {
                throw new IllegalStateException("observer bug");
            });
             AutoCloseable good = TrtLogger.tap((sev, text) -> after.add(text));
             Arena a = Arena.ofConfined()) {
            TestDouble.logFromThread(TrtLogger.handle(), 2, a.allocateFrom("first"));
            TestDouble.logFromThread(TrtLogger.handle(), 2, a.allocateFrom("second"));
        }
        // the JVM is still alive and the other observer saw every message
        assertThat(after).containsExactly("first", "second");
    }
}
