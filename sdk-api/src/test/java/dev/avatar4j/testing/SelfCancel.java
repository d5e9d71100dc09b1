package dev.avatar4j.testing;

import dev.avatar4j.Avatar;
import dev.avatar4j.Generation;
import dev.avatar4j.media.FrameSink;
import java.util.concurrent.atomic.AtomicReference;

/** Generations that cancel themselves from their own frame listener (cancellation tests). */
public final class SelfCancel {
    private SelfCancel() {
    }

    /** Starts {@code request} into {@code sink} and cancels it from the listener when frame {@code at} arrives. */
    public static Generation atFrame(Avatar request, int at, FrameSink sink) {
        AtomicReference<Generation> self = new AtomicReference<>();
        Generation g = request.onFrame(f -> {
            if (f.index() == at) {
                Generation me = self.get();
                while (me == null) { // start() returns just after the generation thread starts
                    Thread.onSpinWait();
                    me = self.get();
                }
                me.cancel();
            }
        }).start(sink);
        self.set(g);
        return g;
    }
}
