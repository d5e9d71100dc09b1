package dev.avatar4j.family.longcat;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.io.Speaker;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a request's persons map onto the DiT's person routing, as the reference's multi-person demo
 * builds it ({@code run_demo_avatar_multi_audio_to_video.py}; docs/BUNDLE-FORMAT.md):
 * <ul>
 * <li>one person: the single-speaker graph ({@code P = 1}), no masks (a region is not used);</li>
 * <li>two persons: {@code P = 2}, tracks in request order (a silent one gets the features of silence),
 *     masks {@code [person 1, person 2, background]} with background = neither;</li>
 * <li>three or more: {@code P = 3}: the speaking persons (at most two) take the person 1 and 2 slots in
 *     request order, silent persons fill the rest; the third track is silence (the reference's shared
 *     track for its "others"), masks {@code [person 1, person 2, background, each further person]}.</li>
 * </ul>
 * Masks are on the token grid (latent / patch): token {@code (i, j)} belongs to a region when the
 * pixel at its top-left corner, {@code (j/tw, i/th)} as fractions of the frame, lies inside it (the
 * reference's nearest resize of the pixel mask).
 */
final class Persons {
    private final int graphPersons;
    private final int[] tracks;
    private final float[][] masks; // null for one person
    private final int th;
    private final int tw;

    private Persons(int graphPersons, int[] tracks, float[][] masks, int th, int tw) {
        this.graphPersons = graphPersons;
        this.tracks = tracks;
        this.masks = masks;
        this.th = th;
        this.tw = tw;
    }

    /** One person on the whole frame: the single-speaker graph, no masks. */
    static Persons one(int th, int tw) {
        return new Persons(1, new int[] {0}, null, th, tw);
    }

    /**
     * @param speakers the request's persons, in order
     * @param audio their embeddings (for {@link LongCatAudio#silent()})
     * @param th token rows (latent height / patch)
     * @param tw token columns
     */
    static Persons of(List<Speaker> speakers, List<LongCatAudio> audio, int th, int tw) {
        int n = speakers.size();
        if (n == 1) {
            return new Persons(1, new int[] {0}, null, th, tw);
        }
        List<Integer> order = new ArrayList<>();
        if (n == 2) {
            order.add(0);
            order.add(1);
        } else {
            for (int i = 0; i < n; i++) {
                if (!audio.get(i).silent()) {
                    order.add(i);
                }
            }
            if (order.size() > 2) {
                throw new InvalidInputException(LongCatConfig.FAMILY + " drives at most two speaking persons (the "
                        + "reference's person 1 and person 2); with " + n + " persons the others must be silent, "
                        + "but " + order.size() + " have audio");
            }
            for (int i = 0; i < n; i++) {
                if (audio.get(i).silent()) {
                    order.add(i);
                }
            }
        }
        float[][] m = new float[n + 1][];
        m[0] = tokenMask(speakers.get(order.get(0)), th, tw);
        m[1] = tokenMask(speakers.get(order.get(1)), th, tw);
        m[2] = new float[th * tw];
        for (int i = 0; i < m[2].length; i++) {
            m[2][i] = m[0][i] > 0 || m[1][i] > 0 ? 0f : 1f;
        }
        for (int q = 2; q < n; q++) {
            m[q + 1] = tokenMask(speakers.get(order.get(q)), th, tw);
        }
        int p = n == 2 ? 2 : 3;
        int[] tracks = new int[p];
        for (int q = 0; q < p; q++) {
            tracks[q] = order.get(q);
        }
        return new Persons(p, tracks, m, th, tw);
    }

    /** The region on the token grid; refused when it holds no token (the reference would divide by 0). */
    static float[] tokenMask(Speaker s, int th, int tw) {
        float[] m = new float[th * tw];
        boolean any = false;
        for (int i = 0; i < th; i++) {
            double y = (double) i / th;
            for (int j = 0; j < tw; j++) {
                double x = (double) j / tw;
                if (s.x() <= x && x < s.x() + s.w() && s.y() <= y && y < s.y() + s.h()) {
                    m[i * tw + j] = 1f;
                    any = true;
                }
            }
        }
        if (!any) {
            throw new InvalidInputException(String.format(Locale.ROOT, "the person region %.3f,%.3f,%.3f,%.3f holds no "
                    + "token of the model's %dx%d grid at this size; make it larger", s.x(), s.y(), s.w(), s.h(), tw, th));
        }
        return m;
    }

    /** {@return P of the DiT graph to run: 1, 2 or 3} */
    int graphPersons() {
        return graphPersons;
    }

    /** {@return the request's person whose track fills person slot {@code q} of the graph} */
    int track(int q) {
        return tracks[q];
    }

    /** {@return the number of masks, M (0 for one person)} */
    int maskCount() {
        return masks == null ? 0 : masks.length;
    }

    /** {@return the masks {@code [M, th, tw]} as the DiT's {@code person_mask}, or null for one person} */
    Tensor masks(TensorScope scope) {
        if (masks == null) {
            return null;
        }
        Tensor t = scope.allocate(DType.FLOAT32, masks.length, th, tw);
        for (int q = 0; q < masks.length; q++) {
            for (int i = 0; i < masks[q].length; i++) {
                t.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) q * th * tw + i, masks[q][i]);
            }
        }
        return t;
    }

    /** {@return mask {@code q} (a copy)} */
    float[] mask(int q) {
        return masks[q].clone();
    }
}
