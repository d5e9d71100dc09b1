package dev.avatar4j.family.longcat;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.Progress;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationPlan;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.family.LiveRequest;
import dev.avatar4j.family.NoiseSource;
import dev.avatar4j.family.UtteranceLive;
import dev.avatar4j.media.AudioClip;
import java.util.List;

/**
 * The longcat-avatar family's live mode: each utterance (the speech up to {@code endOfSpeech()}) is
 * rendered, once it has ended, exactly as an offline generation of its audio with the session's seed
 * and steps ({@link LongCatEngine#generate}), and its frames go out segment by segment as each is
 * decoded, at the frame rate ({@link UtteranceLive}: idle portrait before and after, interrupt).
 *
 * <p>It waits for the end because the family's audio features depend on the whole utterance, not on
 * a segment's audio plus some context: the track is loudness-normalised with one gain measured over
 * all of it, and the Whisper states are interpolated with align_corners at a scale that depends on its
 * length (docs/BEHAVIOUR.md). So the first frame of an utterance is shown its length plus segment 0's
 * model calls after its first sample was pushed. Speech without an end is cut every
 * {@value #MAX_UTTERANCE_SECONDS} s and rendered in such pieces (each its own offline generation).
 *
 * <p>In the low-latency mode ({@link LiveRequest#lowLatency()}) an utterance longer than one segment
 * is streamed instead: each segment runs as soon as its speech and two frames of right context are in
 * ({@link LongCatStreamAudio}'s features, not the offline ones), the last once the utterance has
 * ended; an utterance of one segment, whole before its segment can start, is still rendered exactly
 * as offline. Such an utterance is never cut: its speech is discarded segment by segment.
 */
final class LongCatLive implements FamilyEngine<LiveRequest> {
    /** Longest speech rendered as one utterance (and held by the model thread). */
    static final int MAX_UTTERANCE_SECONDS = 30;

    private final LongCatEngine engine;

    LongCatLive(LongCatEngine engine) {
        this.engine = engine;
    }

    @Override
    public String family() {
        return engine.family();
    }

    @Override
    public Class<LiveRequest> jobType() {
        return LiveRequest.class;
    }

    @Override
    public int fps() {
        return engine.fps();
    }

    @Override
    public int sampleRate() {
        return engine.sampleRate();
    }

    @Override
    public int defaultWidth() {
        return engine.defaultWidth();
    }

    @Override
    public int defaultHeight() {
        return engine.defaultHeight();
    }

    @Override
    public int defaultSteps() {
        return engine.defaultSteps();
    }

    @Override
    public GenerationPlan plan(LiveRequest job) {
        if (job.prompt() != null) {
            throw new InvalidInputException("this " + LongCatConfig.FAMILY + " bundle has no text encoder; only its "
                    + "default prompt is available");
        }
        try { // the checks an offline plan makes (size, steps)
            LongCatPlan.create(engine.config(), engine.sampleRate(), job.steps(), job.width(), job.height());
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(e.getMessage());
        }
        return GenerationPlan.openEnded();
    }

    @Override
    public void generate(LiveRequest r, GenerationContext ctx) {
        LongCatConfig cfg = engine.config();
        long max = (long) MAX_UTTERANCE_SECONDS * cfg.sampleRate();
        // frames ahead: one segment's new frames and a little more; streamed (low latency), an
        // utterance is never cut: its speech is discarded segment by segment
        new UtteranceLive(r, cfg.sampleRate(), cfg.fps(), cfg.segmentFrames() + cfg.temporalStride(), max,
                r.lowLatency() ? 0 : max, family()).run(ctx, new Renderer(r));
    }

    @Override
    public void close() {
        // a view: the longcat engine owns the sessions
    }

    /** Nothing shared between utterances: the engine encodes the portrait per generation. */
    private record Nothing() implements AutoCloseable {
        @Override
        public void close() {
        }
    }

    /** Each utterance, once ended, through the offline engine. */
    private final class Renderer implements UtteranceLive.Renderer<Nothing> {
        private final LiveRequest r;

        Renderer(LiveRequest r) {
            this.r = r;
        }

        @Override
        public Nothing open(Runnable checkpoint) {
            return new Nothing();
        }

        @Override
        public void render(Nothing state, UtteranceLive.Utterance u) {
            if (r.lowLatency()) {
                renderStreamed(u);
            } else {
                renderWhole(u);
            }
        }

        /**
         * Low latency: segment by segment as the speech comes ({@link LongCatStreamAudio}), except an
         * utterance of one segment, known whole before its first segment can start, which is rendered
         * exactly as offline.
         */
        private void renderStreamed(UtteranceLive.Utterance u) {
            LongCatConfig cfg = engine.config();
            LongCatPlan geometry = LongCatPlan.create(cfg, 1, r.steps(), r.width(), r.height());
            LongCatStreamAudio audio = engine.streamAudio(geometry, u);
            long first = audio.end(0);
            while (true) {
                boolean ended = u.ended(); // first: once ended, the length is final
                long n = u.length();
                if (ended && n > 0 && LongCatPlan.create(cfg, Math.toIntExact(n), r.steps(), r.width(), r.height())
                        .segments() == 1) {
                    renderWhole(u);
                    return;
                }
                if (ended || n >= first) {
                    break;
                }
                u.awaitAudio(n);
            }
            if (u.length() == 0) {
                return;
            }
            GenerationRequest g = new GenerationRequest(r.image(), new AudioClip(new float[1], engine.sampleRate()),
                    r.width(), r.height(), r.steps(), r.seed(), r.prompt(), r.textGuidance(), r.audioGuidance(),
                    NoiseSource.seeded(r.seed()), null); // its audio is unused: the segments' comes from `audio`
            long[] next = {0};
            engine.render(g, geometry, Persons.one(geometry.latentHeight() / cfg.patch()[1],
                    geometry.latentWidth() / cfg.patch()[2]), audio, new GenerationContext() {
                        @Override
                        public void emitFrame(byte[] rgb) {
                            long j = next[0]++;
                            u.offer(rgb, j, j == audio.frames() - 1);
                        }

                        @Override
                        public void advance(Progress.Stage stage, long units) {
                        }

                        @Override
                        public void checkpoint() {
                            u.check();
                        }
                    });
        }

        /** Once ended, the whole utterance through the offline engine. */
        private void renderWhole(UtteranceLive.Utterance u) {
            while (!u.ended()) {
                u.awaitAudio(u.length()); // its end (or the longest utterance: cut there)
            }
            int n = Math.toIntExact(u.length());
            if (n == 0) {
                return;
            }
            float[] pcm = new float[n];
            u.read(0, pcm, 0, n);
            u.discardBefore(n); // held here now: the session may take the next utterance's speech
            GenerationRequest g = new GenerationRequest(r.image(), new AudioClip(pcm, engine.sampleRate()), r.width(),
                    r.height(), r.steps(), r.seed(), r.prompt(), r.textGuidance(), r.audioGuidance(),
                    NoiseSource.seeded(r.seed()), null);
            int frames = engine.planOf(g, List.of()).frames();
            long[] next = {0};
            engine.generate(g, List.of(), new GenerationContext() {
                @Override
                public void emitFrame(byte[] rgb) {
                    long j = next[0]++;
                    u.offer(rgb, j, j == frames - 1);
                }

                @Override
                public void advance(Progress.Stage stage, long units) {
                }

                @Override
                public void checkpoint() {
                    u.check();
                }
            });
        }
    }
}
