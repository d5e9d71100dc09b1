package dev.avatar4j.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class UsageGateTest {

    @Test
    void closeWithNothingInFlightReleasesOnce() {
        AtomicInteger releases = new AtomicInteger();
        UsageGate gate = new UsageGate(releases::incrementAndGet);
        gate.close();
        gate.close();
        assertThat(releases).hasValue(1);
        assertThat(gate.enter()).isFalse();
    }

    @Test
    void closeWaitsForTheLastExit() throws Exception {
        AtomicInteger releases = new AtomicInteger();
        UsageGate gate = new UsageGate(releases::incrementAndGet);
        assertThat(gate.enter()).isTrue();
        CountDownLatch closed = new CountDownLatch(1);
        Thread closer = Thread.ofPlatform().start(() -> {
            gate.close();
            closed.countDown();
        });
        assertThat(closed.await(200, TimeUnit.MILLISECONDS)).isFalse();
        assertThat(releases).hasValue(0);
        assertThat(gate.enter()).as("no new usage once closing").isFalse();
        gate.exit();
        assertThat(closed.await(5, TimeUnit.SECONDS)).isTrue();
        closer.join();
        assertThat(releases).hasValue(1);
    }

    @Test
    void interruptedCloserLeavesTheReleaseToTheLastExit() throws Exception {
        AtomicInteger releases = new AtomicInteger();
        UsageGate gate = new UsageGate(releases::incrementAndGet);
        assertThat(gate.enter()).isTrue();
        Thread closer = Thread.ofPlatform().start(gate::close);
        Thread.sleep(100);
        closer.interrupt();
        closer.join(5_000);
        assertThat(closer.isAlive()).isFalse();
        assertThat(releases).as("not released under a running call").hasValue(0);
        gate.exit();
        assertThat(releases).hasValue(1);
    }
}
