package dev.avatar4j.family.preview;

import dev.avatar4j.Progress;
import dev.avatar4j.SpeechSpan;
import dev.avatar4j.face.EyeRefinement;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationPlan;
import dev.avatar4j.family.LiveFeed;
import dev.avatar4j.family.LiveRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The preview family's live mode: the {@link PreviewEngine}'s face rig and renderer driven frame by
 * frame by speech as it is pushed. The face is found once, at the start; then, each time the feed
 * says a frame is due, the next speaking frame's mouth target comes from {@link LiveMouth} (or, with
 * no speech ready, the closed mouth of an idle frame), is smoothed with the offline attack and release
 * ({@link MouthTrack.Follower}: the mouth closes gradually after speech and after an interrupt), and
 * the portrait is warped with it, a blink ({@link BlinkSchedule#stream}) and the head motion, both
 * seeded and timed by the frame count. A view of the preview engine that shares its graph sessions:
 * closing it does nothing.
 */
final class PreviewLive implements FamilyEngine<LiveRequest> {
    private static final Logger log = LoggerFactory.getLogger(PreviewLive.class);

    private final PreviewEngine preview;

    PreviewLive(PreviewEngine preview) {
        this.preview = preview;
    }

    @Override
    public String family() {
        return preview.family();
    }

    @Override
    public Class<LiveRequest> jobType() {
        return LiveRequest.class;
    }

    @Override
    public int fps() {
        return preview.fps();
    }

    /** The motion is timed in seconds: any rate works (the mouth analysis frames at it too). */
    @Override
    public boolean rendersAnyFps() {
        return true;
    }

    @Override
    public int sampleRate() {
        return preview.sampleRate();
    }

    @Override
    public int defaultWidth() {
        return preview.defaultWidth();
    }

    @Override
    public int defaultHeight() {
        return preview.defaultHeight();
    }

    @Override
    public int defaultSteps() {
        return preview.defaultSteps();
    }

    @Override
    public int stepsRun(LiveRequest job) {
        return 0;
    }

    @Override
    public GenerationPlan plan(LiveRequest job) {
        return GenerationPlan.openEnded();
    }

    @Override
    public void generate(LiveRequest r, GenerationContext ctx) {
        int width = r.width();
        int height = r.height();
        int fps = r.fps();
        int rate = sampleRate();
        ctx.activity("finding the face");
        ctx.checkpoint();
        PreviewEngine.Framed framed = preview.frame(r.image(), width, height);
        byte[] src = framed.image().toRgbArray();
        FaceRig rig = new FaceRig(EyeRefinement.refine(framed.face(), src, width, height));
        double colour = rig.colourfulness(src, width, height);
        BlinkSchedule.Stream blinks = BlinkSchedule.stream(r.seed());
        IdleMotion idle = IdleMotion.seeded(r.seed());
        MouthTrack.Follower follower = new MouthTrack.Follower(fps);
        LiveFeed feed = r.feed();
        ctx.activity("live");
        ctx.advance(Progress.Stage.DECODING, 0);
        long frames = 0;
        long speaking = 0;
        try (LiveMouth mouth = new LiveMouth(preview.voiceActivity(), rate, fps)) {
            int epoch = feed.epoch();
            while (feed.awaitFrame(ctx::checkpoint)) {
                int now = feed.epoch();
                if (now != epoch) {
                    mouth.interrupt(); // barge-in: what was held for the next frames is dropped
                    epoch = now;
                }
                LiveMouth.Speaking next = mouth.next(feed, epoch);
                MouthShape shape = follower.next(next == null ? MouthShape.CLOSED : next.target());
                double t = (double) frames / fps;
                byte[] frame = src.clone();
                FaceAnimator.render(src, frame, width, height, rig, shape, blinks.closure(t), idle.pose(t, shape.open()),
                        colour);
                ctx.emitFrame(frame, next == null ? null : new SpeechSpan(next.start(), next.end(), rate));
                frames++;
                if (next != null) {
                    speaking++;
                }
            }
        }
        log.debug("preview live: {} frames, {} speaking", frames, speaking);
    }

    @Override
    public void close() {
        // a view: the preview engine owns the sessions
    }
}
