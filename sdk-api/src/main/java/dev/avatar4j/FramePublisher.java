package dev.avatar4j;

import java.util.Iterator;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@link Generation#publisher()}: the frames of one generation for one subscriber, with the
 * Reactive Streams rules (onSubscribe first, signals in order and never concurrently, request(n ≤ 0)
 * is an error, cancel stops).
 *
 * <p>Frames are taken from {@link Generation#iterator()} by a delivery thread that waits while
 * demand is 0: the generation then fills its frame buffer and waits too (the iterator's
 * back-pressure), so it never runs more than {@link Avatar#frameBuffer(int)} + 1 frames ahead of
 * what was requested. Cancelling the subscription before the last frame cancels the generation.
 */
final class FramePublisher implements Flow.Publisher<Frame> {
    private final Generation generation;
    private final AtomicBoolean subscribed = new AtomicBoolean();

    FramePublisher(Generation generation) {
        this.generation = generation;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super Frame> subscriber) {
        java.util.Objects.requireNonNull(subscriber, "subscriber"); // rule 1.9
        Iterator<Frame> frames;
        try {
            if (!subscribed.compareAndSet(false, true)) {
                throw new IllegalStateException("a generation's publisher accepts one subscriber");
            }
            frames = generation.iterator();
        } catch (IllegalStateException e) {
            subscriber.onSubscribe(new Flow.Subscription() {
                @Override
                public void request(long n) {
                }

                @Override
                public void cancel() {
                }
            });
            subscriber.onError(e);
            return;
        }
        new Delivery(subscriber, frames).start();
    }

    /** The one subscription: a thread that delivers frames while there is demand. */
    private final class Delivery implements Flow.Subscription, Runnable {
        private final Flow.Subscriber<? super Frame> subscriber;
        private final Iterator<Frame> frames;
        private final Object lock = new Object();
        private long demand;
        private boolean cancelled;
        private Throwable badRequest;

        Delivery(Flow.Subscriber<? super Frame> subscriber, Iterator<Frame> frames) {
            this.subscriber = subscriber;
            this.frames = frames;
        }

        void start() {
            Thread t = new Thread(this, "avatar4j-publisher");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void request(long n) {
            synchronized (lock) {
                if (cancelled) {
                    return;
                }
                if (n <= 0) { // rule 3.9
                    badRequest = new IllegalArgumentException("request(" + n + "): demand must be positive (rule 3.9)");
                } else {
                    demand = demand + n < 0 ? Long.MAX_VALUE : demand + n; // rule 3.17: saturate
                }
                lock.notifyAll();
            }
        }

        @Override
        public void cancel() {
            synchronized (lock) {
                if (cancelled) {
                    return;
                }
                cancelled = true;
                lock.notifyAll();
            }
            generation.cancel(); // no-op once the generation has finished
        }

        @Override
        public void run() {
            subscriber.onSubscribe(this);
            try {
                while (true) {
                    synchronized (lock) {
                        while (demand == 0 && !cancelled && badRequest == null) {
                            lock.wait();
                        }
                        if (cancelled) {
                            return;
                        }
                        if (badRequest != null) {
                            cancelled = true;
                            generation.cancel();
                            subscriber.onError(badRequest);
                            return;
                        }
                    }
                    if (!frames.hasNext()) {
                        if (!isCancelled()) {
                            subscriber.onComplete();
                        }
                        return;
                    }
                    Frame f = frames.next();
                    synchronized (lock) {
                        if (cancelled) {
                            return;
                        }
                        if (demand != Long.MAX_VALUE) {
                            demand--;
                        }
                    }
                    subscriber.onNext(f);
                }
            } catch (InterruptedException e) {
                generation.cancel();
            } catch (AvatarException e) {
                if (!isCancelled()) {
                    subscriber.onError(e); // the generation's failure (its cause attached)
                }
            } catch (RuntimeException e) { // a subscriber that throws breaks rule 2.13: stop the generation
                generation.cancel();
                throw e;
            }
        }

        private boolean isCancelled() {
            synchronized (lock) {
                return cancelled;
            }
        }
    }
}
