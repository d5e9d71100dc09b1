package dev.avatar4j.sampling;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The flow-matching Euler update {@code x ← x + dt·v} with {@code dt = σ_{i+1} − σ_i}
 * (diffusers {@code FlowMatchEulerDiscreteScheduler.step}), elementwise in float32, in place.
 */
public final class EulerStep {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private EulerStep() {
    }

    /**
     * {@code x[i] ← x[i] + dt·v[i]} for i in [0, n).
     *
     * @param x state, float32, updated in place
     * @param v velocity, float32
     * @param dt step size (negative when denoising)
     * @param n number of floats
     * @throws IndexOutOfBoundsException if a segment holds fewer than n floats
     */
    public static void apply(MemorySegment x, MemorySegment v, float dt, long n) {
        apply(x, 0, v, 0, dt, n);
    }

    /**
     * {@code x[xOff + i] ← x[xOff + i] + dt·v[vOff + i]} for i in [0, n).
     *
     * @param x state, float32, updated in place
     * @param xOffsetFloats first float of x to update
     * @param v velocity, float32
     * @param vOffsetFloats first float of v to read
     * @param dt step size
     * @param n number of floats
     * @throws IndexOutOfBoundsException if a range lies outside its segment
     */
    public static void apply(MemorySegment x, long xOffsetFloats, MemorySegment v, long vOffsetFloats,
                             float dt, long n) {
        if (n < 0 || xOffsetFloats < 0 || vOffsetFloats < 0) {
            throw new IllegalArgumentException("negative offset or length");
        }
        // Slicing up front turns the bounds checks into one check per call and lets the JIT drop
        // them from the loop.
        MemorySegment xs = x.asSlice(xOffsetFloats * Float.BYTES, n * Float.BYTES);
        MemorySegment vs = v.asSlice(vOffsetFloats * Float.BYTES, n * Float.BYTES);
        for (long i = 0; i < n; i++) {
            xs.setAtIndex(F32, i, xs.getAtIndex(F32, i) + dt * vs.getAtIndex(F32, i));
        }
    }
}
