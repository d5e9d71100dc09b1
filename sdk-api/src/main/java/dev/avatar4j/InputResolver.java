package dev.avatar4j;

import dev.avatar4j.io.AudioSource;
import dev.avatar4j.family.DubRequest;
import dev.avatar4j.family.FamilyJob;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.family.LiveFeed;
import dev.avatar4j.family.LiveRequest;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.family.NoiseSource;
import dev.avatar4j.io.Speaker;
import dev.avatar4j.io.SpeakerLayout;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoSpec;
import dev.avatar4j.media.VideoStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns the inputs of a request value ({@link Avatar}, {@link Dub}) into the job its family's
 * engine runs, on the generation's thread: decodes the image and the speech through the
 * {@link MediaRegistry} (speech files streamed, never held whole), spools byte and stream inputs to
 * temporary files, applies the model's defaults, and says what a video output of the job muxes.
 * One resolver per run: it owns the files it spooled until {@link #release()}.
 *
 * @param <J> the job type it resolves to
 */
abstract sealed class InputResolver<J extends FamilyJob>
        permits InputResolver.Portrait, InputResolver.Dubbing, InputResolver.Live {

    /** A resolver for one generation of {@code request}. */
    static InputResolver<GenerationRequest> of(Avatar request) {
        return new Portrait(request);
    }

    /** A resolver for one run of {@code request}. */
    static InputResolver<DubRequest> of(Dub request) {
        return new Dubbing(request);
    }

    /** A resolver for a live session of {@code request}, its speech coming from {@code feed}. */
    static InputResolver<LiveRequest> live(Avatar request, LiveFeed feed, boolean lowLatency, int fps) {
        return new Live(request, feed, lowLatency, fps);
    }

    /** The job type the model's engine must run. */
    abstract Class<J> jobType();

    /** The failure when {@code model}'s engine runs another kind of job. */
    abstract RuntimeException wrongFamily(AvatarModel model);

    /** Decodes the inputs and applies {@code model}'s defaults (on the generation thread). */
    abstract J resolve(AvatarModel model);

    /** What a video writer of {@code job} writes: the size and rate, the speech to mux, the encoding. */
    abstract VideoSpec video(J job, int width, int height, int fps);

    /** Deletes the temporary files of this run, once its output is completed or aborted. */
    abstract void release();

    /** An image plus speech request of a portrait family. */
    static final class Portrait extends InputResolver<GenerationRequest> {
        private final Avatar a;
        /** The temporary files the byte and stream inputs were spooled to (see {@link StreamInput}). */
        private final List<Path> spooled = new CopyOnWriteArrayList<>();
        /** The spooled speech file, muxed by a video writer. */
        private volatile Path spooledSpeech;

        Portrait(Avatar a) {
            this.a = a;
        }

        @Override
        Class<GenerationRequest> jobType() {
            return GenerationRequest.class;
        }

        @Override
        RuntimeException wrongFamily(AvatarModel model) {
            return new InvalidInputException("a " + model.family() + " model dubs an existing video and cannot animate "
                    + "a still image: use Avatar.dub(video) (CLI: avatar4j dub --video ...)");
        }

        /** The request's image, decoded (from a file, bytes or a stream, or as given). */
        static RgbImage image(Avatar a) {
            MediaRegistry media = MediaRegistry.global();
            if (a.image != null) {
                return a.image;
            } else if (a.imageInput != null) {
                Path tmp = a.imageInput.spool(); // read at once and deleted below: not a spool of the generation
                try {
                    return media.readImage(tmp);
                } catch (AvatarException e) {
                    throw a.imageInput.renamed(e, tmp);
                } finally {
                    StreamInput.delete(tmp);
                }
            }
            return media.readImage(a.imagePath);
        }

        @Override
        GenerationRequest resolve(AvatarModel m) {
            MediaRegistry media = MediaRegistry.global();
            RgbImage img = image(a);
            int rate = m.engine().sampleRate();
            List<Speaker> placed = List.of();
            AudioClip clip = null;
            AudioSource streamed = null;
            if (a.speakers.isEmpty()) {
                if (a.audio != null) {
                    clip = media.resample(a.audio, rate);
                } else if (a.audioInput != null) {
                    Path tmp = a.audioInput.spool();
                    spooled.add(tmp);
                    try {
                        streamed = media.openAudioSource(tmp, rate); // counted now, decoded as the engine reads it
                    } catch (AvatarException e) {
                        throw a.audioInput.renamed(e, tmp);
                    }
                    spooledSpeech = tmp;
                } else {
                    streamed = media.openAudioSource(a.audioPath, rate); // counted now, decoded as the engine reads it
                }
            } else {
                List<Speaker> tracks = new ArrayList<>();
                try {
                    for (int i = 0; i < a.speakers.size(); i++) {
                        Avatar.SpeakerInput in = a.speakers.get(i);
                        // a file is streamed (counted now, decoded as the engine reads it), never held whole
                        AudioSource t = in.path() != null ? media.openAudioSource(in.path(), rate)
                                : AudioSource.of(in.clip().length() == 0
                                        ? new AudioClip(new float[0], rate) : media.resample(in.clip(), rate));
                        Region r = in.region() != null ? in.region() : Region.defaultFor(i, a.speakers.size());
                        tracks.add(new Speaker(t, r.x(), r.y(), r.w(), r.h()));
                    }
                    placed = SpeakerLayout.arrange(tracks, a.audioMode == AudioMode.SEQUENTIAL);
                    if (placed.get(0).audio().length() == 0) {
                        throw new InvalidInputException("every speaker is silent: give at least one speaker some audio");
                    }
                    streamed = SpeakerLayout.mix(placed); // read by range for the engine's and the muxer's needs
                } catch (RuntimeException e) {
                    for (Speaker t : tracks) {
                        t.audio().close();
                    }
                    throw e;
                }
            }
            long s = a.seed != null ? a.seed : ThreadLocalRandom.current().nextLong();
            return new GenerationRequest(img, clip, a.width != null ? a.width : m.defaultWidth(),
                    a.height != null ? a.height : m.defaultHeight(), a.steps != null ? a.steps : m.defaultSteps(), s,
                    a.prompt, a.textGuidance, a.audioGuidance, NoiseSource.seeded(s), null, placed, streamed);
        }

        /**
         * The clip a video writer muxes: none (empty) while the speech is streamed, from its file or
         * as the mix of several speakers' tracks, which the writer then reads itself chunk by chunk
         * ({@link VideoSpec#audioFile()}, {@link VideoSpec#audioStream()}); decoding it whole here
         * would hold a long input in memory.
         */
        @Override
        VideoSpec video(GenerationRequest req, int width, int height, int fps) {
            AudioClip muxed = req.source().inMemory() ? req.audio() : new AudioClip(new float[0], req.audioRate());
            return new VideoSpec(width, height, fps, muxed,
                    a.speakers.isEmpty() ? (a.audioPath != null ? a.audioPath : spooledSpeech) : null,
                    req.source().inMemory() ? null : req.source()::stream).withEncoding(a.quality, a.bitrate);
        }

        @Override
        void release() {
            for (Path f : spooled) {
                StreamInput.delete(f);
            }
        }
    }

    /** A video plus speech request of the dubbing family. */
    static final class Dubbing extends InputResolver<DubRequest> {
        private final Dub d;
        /** The video's own bit rate (the highest its streams declared), the default of the output's. */
        private volatile long sourceBitrate;

        Dubbing(Dub d) {
            this.d = d;
        }

        @Override
        Class<DubRequest> jobType() {
            return DubRequest.class;
        }

        @Override
        RuntimeException wrongFamily(AvatarModel m) {
            return new BundleException("model '" + m.name() + "' is of family " + m.family()
                    + "; dubbing needs a latentsync bundle (pass it with model(...), CLI --model)");
        }

        @Override
        DubRequest resolve(AvatarModel m) {
            MediaRegistry media = MediaRegistry.global();
            int rate = m.engine().sampleRate();
            AudioClip speech = d.audio != null ? media.resample(d.audio, rate) : media.readAudio(d.audioPath, rate);
            if (speech.samples().length == 0) {
                throw new InvalidInputException("the speech is empty");
            }
            long s = d.seed != null ? d.seed : ThreadLocalRandom.current().nextLong();
            // the video is opened once per pass (faces first, then frames) and decoded on demand
            return new DubRequest((fps, maxFrames) -> {
                VideoStream vs = media.readVideoStream(d.video, fps, maxFrames);
                sourceBitrate = Math.max(sourceBitrate, vs.bitRate());
                return vs;
            }, speech, d.steps != null ? d.steps : m.defaultSteps(), d.guidance != null ? d.guidance : Double.NaN,
                    d.noFace, s, d.posteriorMean);
        }

        /** The speech muxed in; by default at least the input's own bit rate, and the default quality cap. */
        @Override
        VideoSpec video(DubRequest job, int width, int height, int fps) {
            return new VideoSpec(width, height, fps, job.speech(), d.audioPath).withEncoding(
                    d.quality != 0 || d.bitrate != 0 ? d.quality : VideoSpec.DEFAULT_QUALITY,
                    d.bitrate != 0 ? d.bitrate : sourceBitrate);
        }

        @Override
        void release() {
        }
    }

    /** A live session: an image, and speech pushed while it runs (see {@link LiveSession}). */
    static final class Live extends InputResolver<LiveRequest> {
        private final Avatar a;
        private final LiveFeed feed;
        private final boolean lowLatency;
        private final int fps;

        Live(Avatar a, LiveFeed feed, boolean lowLatency, int fps) {
            this.a = a;
            this.feed = feed;
            this.lowLatency = lowLatency;
            this.fps = fps;
        }

        @Override
        Class<LiveRequest> jobType() {
            return LiveRequest.class;
        }

        @Override
        RuntimeException wrongFamily(AvatarModel model) {
            return liveUnsupported(model);
        }

        /** Why {@code model} cannot run a live session. */
        static InvalidInputException liveUnsupported(AvatarModel model) {
            return new InvalidInputException("model '" + model.name() + "' (family " + model.family()
                    + ") has no live mode: live sessions run on the preview family (the default model) and on "
                    + "stableavatar and longcat-avatar models");
        }

        @Override
        LiveRequest resolve(AvatarModel m) {
            RgbImage img = Portrait.image(a);
            long s = a.seed != null ? a.seed : ThreadLocalRandom.current().nextLong();
            return new LiveRequest(img, a.width != null ? a.width : m.defaultWidth(),
                    a.height != null ? a.height : m.defaultHeight(), a.steps != null ? a.steps : m.defaultSteps(), s,
                    a.prompt, a.textGuidance, a.audioGuidance, feed, lowLatency, fps);
        }

        /** Never asked: a live session runs with no video output of the runner's ({@code Output.None}). */
        @Override
        VideoSpec video(LiveRequest job, int width, int height, int fps) {
            throw new IllegalStateException("a live session has no video output");
        }

        @Override
        void release() {
        }
    }
}
