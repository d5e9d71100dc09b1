package dev.avatar4j.family.preview;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.family.LiveFeed;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.spi.Backend;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The live mouth analysis is the offline one run frame by frame: the same speech probabilities and
 * levels for every frame of an utterance, the mouth shut in a pause, and it reads no more speech
 * than the next frame needs.
 */
class LiveMouthTest {
    private static Backend backend;
    private static PreviewEngine engine;

    @BeforeAll
    static void open() {
        backend = PreviewFixtures.backend();
        engine = PreviewFixtures.engine(backend);
    }

    @AfterAll
    static void close() {
        engine.close();
        backend.close();
    }

    /** A feed over a fixed queue: chunks and end marks, no clock. */
    static final class QueueFeed implements LiveFeed {
        final ArrayDeque<float[]> queue = new ArrayDeque<>();
        long taken;
        private int offset;

        void push(float[] s) {
            queue.add(s);
        }

        void clear() {
            queue.clear();
            offset = 0;
        }

        void end() {
            queue.add(new float[0]); // an empty chunk marks the end here
        }

        @Override
        public boolean awaitFrame(Runnable checkpoint) {
            return true;
        }

        @Override
        public int epoch() {
            return 0;
        }

        @Override
        public int read(float[] dst, int off, int len, int epoch) {
            int n = 0;
            while (n < len && !queue.isEmpty()) {
                float[] head = queue.peek();
                if (head.length == 0) {
                    if (n == 0) {
                        queue.poll();
                        return END;
                    }
                    break;
                }
                int k = Math.min(len - n, head.length - offset);
                System.arraycopy(head, offset, dst, off + n, k);
                n += k;
                offset += k;
                if (offset == head.length) {
                    queue.poll();
                    offset = 0;
                }
            }
            taken += n;
            return n;
        }

        @Override
        public long position(int epoch) {
            return taken;
        }
    }

    @Test
    void framesAreAnalysedAsTheOfflinePipelineAnalysesTheClip() {
        AudioClip clip = PreviewFixtures.speechWithPauses(0.3, 0.8, 0.6, 0.3);
        float[] s = clip.samples();
        int fps = engine.fps();
        int frames = engine.framesFor(s.length);
        float[] speech = VoiceActivity.atFrames(engine.voiceActivity().chunkProbabilities(s), frames, fps);
        MouthFeatures.Frame[] analysis = MouthFeatures.analyse(s, 16_000, frames, fps);

        QueueFeed feed = new QueueFeed();
        List<LiveMouth.Speaking> live = new ArrayList<>();
        try (LiveMouth mouth = new LiveMouth(engine.voiceActivity(), 16_000, fps)) {
            assertThat(mouth.next(feed, 0)).as("nothing queued: idle").isNull();
            feed.push(s);
            LiveMouth.Speaking first = mouth.next(feed, 0);
            assertThat(feed.taken).as("frame 0 reads its 40 ms and 24 ms of look-ahead, no more")
                    .isEqualTo(mouth.need(0)).isEqualTo(1024);
            live.add(first);
            feed.end();
            for (LiveMouth.Speaking f; (f = mouth.next(feed, 0)) != null; ) {
                live.add(f);
            }
        }
        assertThat(live).hasSize(frames);
        for (int i = 0; i < frames; i++) {
            assertThat(live.get(i).speech()).as("speech probability of frame %d", i).isEqualTo(speech[i]);
            assertThat(live.get(i).levelDb()).as("level of frame %d", i).isEqualTo(analysis[i].levelDb());
            assertThat(live.get(i).start()).isEqualTo(i * 640L);
            assertThat(live.get(i).end()).isEqualTo(Math.min((i + 1) * 640L, s.length));
        }
        // the pause (1.1 s .. 1.7 s of the clip): shut, give the VAD 0.15 s to notice either side
        for (int i = (int) (1.25 * fps); i < (int) (1.55 * fps); i++) {
            assertThat(live.get(i).target().open()).as("frame %d, in the pause", i).isZero();
        }
        double speaking = live.subList((int) (0.35 * fps), (int) (1.1 * fps)).stream()
                .mapToDouble(f -> f.target().open()).max().orElse(0);
        assertThat(speaking).as("the mouth opens in speech").isGreaterThan(0.5);
    }

    @Test
    void anInterruptStartsAFreshUtterance() {
        float[] s = PreviewFixtures.speech().samples();
        QueueFeed feed = new QueueFeed();
        try (LiveMouth mouth = new LiveMouth(engine.voiceActivity(), 16_000, engine.fps())) {
            feed.push(java.util.Arrays.copyOf(s, 5000));
            LiveMouth.Speaking a = mouth.next(feed, 0);
            mouth.next(feed, 0);
            mouth.interrupt();
            feed.clear();
            feed.push(java.util.Arrays.copyOf(s, 5000));
            LiveMouth.Speaking b = mouth.next(feed, 0);
            assertThat(b.speech()).as("the VAD state starts over").isEqualTo(a.speech());
            assertThat(b.levelDb()).isEqualTo(a.levelDb());
            assertThat(b.start()).isEqualTo(feed.taken - mouth.need(0));
        }
    }
}
