package dev.avatar4j.family.preview;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Blinks and idle head motion are seeded, bounded and natural in rate. */
class MotionTest {

    @Test
    void blinksAreDeterministicForASeedAndSpacedNaturally() {
        double[] a = BlinkSchedule.seeded(42, 600).starts();
        assertThat(BlinkSchedule.seeded(42, 600).starts()).containsExactly(a);
        assertThat(BlinkSchedule.seeded(43, 600).starts()).isNotEqualTo(a);
        for (int i = 1; i < a.length; i++) {
            assertThat(a[i] - a[i - 1]).isGreaterThanOrEqualTo(BlinkSchedule.MIN_GAP_SEC);
        }
        double perMinute = a.length / 10.0;
        assertThat(perMinute).isBetween(10.0, 25.0);
    }

    @Test
    void aBlinkClosesFullyAndReopens() {
        BlinkSchedule b = BlinkSchedule.seeded(1, 30);
        double s = b.starts()[0];
        assertThat(b.closure(s - 0.01)).isZero();
        assertThat(b.closure(s + BlinkSchedule.CLOSE_SEC + BlinkSchedule.HOLD_SEC / 2)).isEqualTo(1.0);
        assertThat(b.closure(s + BlinkSchedule.CLOSE_SEC + BlinkSchedule.HOLD_SEC + BlinkSchedule.OPEN_SEC + 0.01)).isZero();
    }

    @Test
    void idleMotionIsSeededSmoothAndSmall() {
        IdleMotion m = IdleMotion.seeded(5);
        IdleMotion same = IdleMotion.seeded(5);
        double maxStep = 0;
        double[] prev = m.pose(0, 0);
        for (int f = 1; f < 25 * 60; f++) {
            double t = f / 25.0;
            double[] p = m.pose(t, 0);
            assertThat(same.pose(t, 0)).containsExactly(p);
            assertThat(Math.abs(p[0])).isLessThanOrEqualTo(IdleMotion.ROLL + 1e-12);
            assertThat(Math.abs(p[1])).isLessThanOrEqualTo(IdleMotion.DRIFT + 1e-12);
            maxStep = Math.max(maxStep, Math.abs(p[1] - prev[1]));
            prev = p;
        }
        assertThat(maxStep).as("slow drift between frames").isLessThan(IdleMotion.DRIFT * 0.1);
        assertThat(m.pose(3, 1)[2] - m.pose(3, 0)[2]).isCloseTo(IdleMotion.NOD, org.assertj.core.api.Assertions.within(1e-12));
    }
}
