package dev.avatar4j.family.preview;

/**
 * Smooths raw per-frame mouth targets with separate attack and release: a one-pole follower
 * whose time constant is {@link #ATTACK_SEC} while a parameter rises and {@link #RELEASE_SEC}
 * while it falls, so the mouth opens promptly on a syllable and closes a little more slowly, and
 * is fully shut a few frames into a pause.
 */
final class MouthTrack {
    static final double ATTACK_SEC = 0.03;
    static final double RELEASE_SEC = 0.05;

    private MouthTrack() {
    }

    /** The smoothed track of {@code targets} at {@code fps}. */
    static MouthShape[] smooth(MouthShape[] targets, int fps) {
        Follower follower = new Follower(fps);
        MouthShape[] out = new MouthShape[targets.length];
        for (int i = 0; i < targets.length; i++) {
            out[i] = follower.next(targets[i]);
        }
        return out;
    }

    /** The smoothing one frame at a time (a live session's frames, as they come); starts closed. */
    static final class Follower {
        private final double up;
        private final double down;
        private double open;
        private double width;
        private double round;

        Follower(int fps) {
            double dt = 1.0 / fps;
            up = 1 - Math.exp(-dt / ATTACK_SEC);
            down = 1 - Math.exp(-dt / RELEASE_SEC);
        }

        /** The smoothed shape of the next frame, whose raw target is {@code t}. */
        MouthShape next(MouthShape t) {
            open = follow(open, t.open(), up, down);
            width += (t.width() - width) * (Math.abs(t.width()) > Math.abs(width) ? up : down);
            round = follow(round, t.round(), up, down);
            return new MouthShape(open < 1e-3 ? 0 : open, width, round);
        }
    }

    static double follow(double current, double target, double up, double down) {
        return current + (target - current) * (target > current ? up : down);
    }
}
