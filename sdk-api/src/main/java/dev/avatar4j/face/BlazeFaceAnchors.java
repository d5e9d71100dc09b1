package dev.avatar4j.face;

/**
 * The SSD anchors of MediaPipe's BlazeFace short-range ("front") model, 128×128 input: MediaPipe's
 * anchor generation with 4 layers of strides 8, 16, 16, 16, one aspect ratio plus the interpolated
 * scale (2 anchors per layer and cell), anchor offset 0.5 and fixed anchor size. Consecutive layers
 * with the same stride share one feature map, so the 16×16 map (stride 8) has 2 anchors a cell
 * (512) and the 8×8 map (stride 16) has 3 × 2 = 6 (384): 896 anchors, ordered row by row, cell
 * by cell, anchor by anchor — the order of the model's two output heads concatenated. With a fixed
 * anchor size every anchor is 1×1, so an anchor is just its centre, in [0, 1] input coordinates.
 */
final class BlazeFaceAnchors {
    /** Model input side in pixels. */
    static final int INPUT = 128;
    private static final int[] STRIDES = {8, 16, 16, 16};
    private static final int ANCHORS_PER_LAYER = 2; // aspect ratio 1.0 + interpolated scale
    private static final double OFFSET = 0.5;

    private BlazeFaceAnchors() {
    }

    /** Anchor centres {@code x0, y0, x1, y1, …} (2 × 896 values). */
    static float[] centres() {
        int total = 0;
        for (int layer = 0; layer < STRIDES.length; ) {
            int last = sameStrideEnd(layer);
            int map = INPUT / STRIDES[layer];
            total += map * map * ANCHORS_PER_LAYER * (last - layer);
            layer = last;
        }
        float[] out = new float[2 * total];
        int n = 0;
        for (int layer = 0; layer < STRIDES.length; ) {
            int last = sameStrideEnd(layer);
            int perCell = ANCHORS_PER_LAYER * (last - layer);
            int map = INPUT / STRIDES[layer];
            for (int y = 0; y < map; y++) {
                for (int x = 0; x < map; x++) {
                    for (int a = 0; a < perCell; a++) {
                        out[n++] = (float) ((x + OFFSET) / map);
                        out[n++] = (float) ((y + OFFSET) / map);
                    }
                }
            }
            layer = last;
        }
        return out;
    }

    /** Index after the run of layers that share {@code STRIDES[layer]}. */
    private static int sameStrideEnd(int layer) {
        int last = layer;
        while (last < STRIDES.length && STRIDES[last] == STRIDES[layer]) {
            last++;
        }
        return last;
    }
}
