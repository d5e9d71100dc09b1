package dev.avatar4j.family.stableavatar;

import java.util.ArrayList;
import java.util.List;

/**
 * The layout of DWSW windows over a latent timeline of T frames, with window length F and overlap
 * O, exactly as StableAvatar's long pipeline lays them out (docs/REFERENCE.md §1.5):
 *
 * <pre>
 * start = 0, end = F
 * repeat: emit [start, end); if it was the last, stop
 *         start += F − O
 *         if start + F &lt; T: end = start + F  else: end = T (last window)
 * </pre>
 *
 * <p>Consequences for T &gt; F: every window but the last has length F; the last has length in
 * (O, F]; each window starts {@code F − O} after the previous one, and because the previous one is
 * always full length, <em>every</em> pair of consecutive windows (the last included) overlaps by
 * exactly O frames; there are {@code 1 + ceil((T − F)/(F − O))} windows.
 *
 * <p>Edge cases the reference gets wrong, fixed here:
 * <ul>
 *   <li>T &lt; F (audio shorter than 81 frames): the reference runs no window at all and decodes
 *       all-zero latents; we plan one short window {@code [0, T)}.</li>
 *   <li>T == F: the reference loops forever (it never advances past the first window); we plan one
 *       window {@code [0, F)}.</li>
 *   <li>O &lt; 2 (the reference divides by zero at O = 1) or O ≥ F (no progress): rejected.</li>
 * </ul>
 * Immutable.
 */
public final class WindowPlan {

    private final int latentFrames;
    private final int windowLatents;
    private final int overlap;
    private final List<Window> windows;

    private WindowPlan(int latentFrames, int windowLatents, int overlap, List<Window> windows) {
        this.latentFrames = latentFrames;
        this.windowLatents = windowLatents;
        this.overlap = overlap;
        this.windows = windows;
    }

    /**
     * Plans the windows.
     *
     * @param latentFrames T, the length of the latent timeline, at least 1
     * @param windowLatents F, latent frames per window (StableAvatar: 21 = (81 − 1)/4 + 1)
     * @param overlap O, latent frames shared by consecutive windows, in [2, F)
     * @return the plan
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static WindowPlan create(int latentFrames, int windowLatents, int overlap) {
        if (latentFrames < 1) {
            throw new IllegalArgumentException("latentFrames must be >= 1, got " + latentFrames
                    + " (audio too short for a single latent frame?)");
        }
        if (overlap < 2) {
            throw new IllegalArgumentException("overlap must be >= 2 latent frames, got " + overlap);
        }
        if (overlap >= windowLatents) {
            throw new IllegalArgumentException("overlap (" + overlap
                    + ") must be smaller than the window length (" + windowLatents + ")");
        }
        List<Window> out = new ArrayList<>();
        if (latentFrames <= windowLatents) {
            out.add(new Window(0, 0, latentFrames));
        } else {
            int stride = windowLatents - overlap;
            int start = 0;
            int end = windowLatents;
            boolean last = false;
            while (true) {
                out.add(new Window(out.size(), start, end));
                if (last) {
                    break;
                }
                start += stride;
                if (start + windowLatents < latentFrames) {
                    end = start + windowLatents;
                } else {
                    end = latentFrames;
                    last = true;
                }
            }
        }
        return new WindowPlan(latentFrames, windowLatents, overlap, List.copyOf(out));
    }

    /** {@return the windows in processing order, unmodifiable} */
    public List<Window> windows() {
        return windows;
    }

    /** {@return T} */
    public int latentFrames() {
        return latentFrames;
    }

    /** {@return F} */
    public int windowLatents() {
        return windowLatents;
    }

    /** {@return O} */
    public int overlap() {
        return overlap;
    }

    /** {@return {@code F − O}, the distance between consecutive window starts} */
    public int stride() {
        return windowLatents - overlap;
    }

    @Override
    public String toString() {
        return "WindowPlan[T=" + latentFrames + ", F=" + windowLatents + ", O=" + overlap
                + ", windows=" + windows.size() + "]";
    }
}
