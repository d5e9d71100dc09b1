package dev.avatar4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Speech pushed to a stableavatar live session in pieces of random sizes, with frames made between
 * the pushes (so windows are planned and denoised while the speech is still coming), shows exactly
 * the frames of an offline generation of the whole speech: how the speech arrived never changes
 * what is shown. Few tries: each renders 11.8 s on the tiny bundle.
 */
class StableAvatarLiveChunkingProperties {
    private static StableAvatarLiveTest.Tiny tiny;

    @BeforeContainer
    static void open() {
        tiny = new StableAvatarLiveTest.Tiny();
    }

    @AfterContainer
    static void close() {
        tiny.close();
    }

    @Property(tries = 3)
    void chunkedPushesGiveTheOfflineFrames(@ForAll @LongRange(min = 0, max = 1L << 40) long cutSeed) {
        SplittableRandom rnd = new SplittableRandom(cutSeed);
        float[] speech = tiny.speech;
        try (LiveHarness live = tiny.live()) {
            live.next();
            List<Frame> frames = new ArrayList<>();
            for (int at = 0; at < speech.length; ) {
                int n = Math.min(speech.length - at, 1 + rnd.nextInt(rnd.nextBoolean() ? 600 : 40_000));
                live.session.push(Arrays.copyOfRange(speech, at, at + n), LiveHarness.RATE);
                at += n;
                int steps = rnd.nextInt(3);
                for (int i = 0; i < steps; i++) {
                    Frame f = live.step();
                    if (f.speech().isPresent()) {
                        frames.add(f);
                    } else {
                        StableAvatarLiveTest.Tiny.pause();
                    }
                }
            }
            live.session.endOfSpeech();
            frames.addAll(StableAvatarLiveTest.Tiny.speaking(live, tiny.offline.size() - frames.size()));
            tiny.assertOffline(frames, 0, speech.length);
        }
    }
}
