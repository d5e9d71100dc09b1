package dev.avatar4j.examples.cli;

import dev.avatar4j.Frame;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.media.FrameSink;

/**
 * A {@link FrameSink} safe to complete or abort from another thread (the Ctrl-C hook) while the
 * generation thread is writing: a frame being written finishes first, later frames are refused.
 */
final class GuardedSink implements FrameSink {
    private final FrameSink delegate;
    private boolean ended;
    private boolean completed;

    GuardedSink(FrameSink delegate) {
        this.delegate = delegate;
    }

    @Override
    public synchronized void accept(Frame frame) {
        if (ended) {
            throw new GenerationCancelledException("output already closed");
        }
        delegate.accept(frame);
    }

    @Override
    public synchronized void complete() {
        if (ended) {
            throw new IllegalStateException("output already closed");
        }
        ended = true;
        delegate.complete();
        completed = true;
    }

    @Override
    public synchronized void abort() {
        ended = true;
        if (!completed) {
            delegate.abort();
        }
    }
}
