package dev.avatar4j.family.latentsync;

import dev.avatar4j.media.RgbImage;

/**
 * LatentSync's fixed mouth mask (docs/REFERENCE.md §2 item 7): white keeps, black is re-generated
 * (the lower face). The reference resizes {@code latentsync/utils/mask.png} to the model resolution
 * with LANCZOS4 and divides by 255; a bundle ships the mask already at its resolution, so no
 * resampling happens here and a mask of another size is refused.
 *
 * <p>Immutable.
 */
final class MouthMask {

    private final int resolution;
    private final float[] keep; // 3 x res x res, channel-major, in [0, 1]

    private MouthMask(int resolution, float[] keep) {
        this.resolution = resolution;
        this.keep = keep;
    }

    /**
     * @param mask the mask image, exactly {@code resolution×resolution}
     * @param resolution the model's face resolution, a multiple of 8
     * @throws IllegalArgumentException if the size does not match
     */
    static MouthMask of(RgbImage mask, int resolution) {
        if (resolution <= 0 || resolution % 8 != 0) {
            throw new IllegalArgumentException("resolution must be a positive multiple of 8, got " + resolution);
        }
        if (mask.width() != resolution || mask.height() != resolution) {
            throw new IllegalArgumentException("mouth mask is " + mask.width() + "x" + mask.height()
                    + ", the model needs " + resolution + "x" + resolution);
        }
        int plane = resolution * resolution;
        float[] k = new float[3 * plane];
        byte[] rgb = mask.toRgbArray();
        for (int i = 0; i < plane; i++) {
            for (int c = 0; c < 3; c++) {
                k[c * plane + i] = (rgb[3 * i + c] & 0xFF) / 255f;
            }
        }
        return new MouthMask(resolution, k);
    }

    /** @return the resolution */
    int resolution() {
        return resolution;
    }

    /**
     * The face as the UNet's VAE sees it: {@code x/255·2 − 1}, channel-major {@code [3, res, res]}.
     *
     * @param face RGB floats in [0, 255], {@code res×res}
     * @return the normalised face
     */
    float[] normalise(AlignedFaceCrop.FloatImage face) {
        checkFace(face);
        int plane = resolution * resolution;
        float[] out = new float[3 * plane];
        float[] d = face.data();
        for (int i = 0; i < plane; i++) {
            for (int c = 0; c < 3; c++) {
                out[c * plane + i] = d[3 * i + c] / 255f * 2f - 1f;
            }
        }
        return out;
    }

    /**
     * The masked face {@code normalise(face)·mask}: the re-generated region becomes 0 (mid grey).
     *
     * @param face RGB floats in [0, 255], {@code res×res}
     * @return channel-major {@code [3, res, res]}
     */
    float[] masked(AlignedFaceCrop.FloatImage face) {
        float[] n = normalise(face);
        for (int i = 0; i < n.length; i++) {
            n[i] *= keep[i];
        }
        return n;
    }

    /**
     * The one-channel mask at latent size {@code res/8}, nearest neighbour as torch's
     * {@code F.interpolate} (latent pixel (i, j) takes mask pixel (8i, 8j)) of the first channel.
     *
     * @return {@code [res/8, res/8]}, row-major
     */
    float[] latentMask() {
        int l = resolution / 8;
        float[] out = new float[l * l];
        for (int y = 0; y < l; y++) {
            for (int x = 0; x < l; x++) {
                out[y * l + x] = keep[(8 * y) * resolution + 8 * x];
            }
        }
        return out;
    }

    /**
     * Mixes a decoded face with the original one as the reference does before paste-back:
     * {@code decoded·(1 − mask) + original·mask}, per channel, in [0, 255] RGB.
     *
     * @param decoded the generated face, RGB floats
     * @param original the aligned original face, RGB floats
     * @return the mixed face
     */
    AlignedFaceCrop.FloatImage mix(AlignedFaceCrop.FloatImage decoded, AlignedFaceCrop.FloatImage original) {
        checkFace(decoded);
        checkFace(original);
        int plane = resolution * resolution;
        float[] out = new float[3 * plane];
        float[] dd = decoded.data();
        float[] od = original.data();
        for (int i = 0; i < plane; i++) {
            for (int c = 0; c < 3; c++) {
                float m = keep[c * plane + i];
                out[3 * i + c] = dd[3 * i + c] * (1 - m) + od[3 * i + c] * m;
            }
        }
        return new AlignedFaceCrop.FloatImage(resolution, resolution, 3, out);
    }

    private void checkFace(AlignedFaceCrop.FloatImage face) {
        if (face.width() != resolution || face.height() != resolution || face.channels() != 3) {
            throw new IllegalArgumentException("face must be " + resolution + "x" + resolution + " RGB, got "
                    + face.width() + "x" + face.height() + "x" + face.channels());
        }
    }
}
