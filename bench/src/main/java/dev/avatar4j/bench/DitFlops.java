package dev.avatar4j.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Forward-pass arithmetic of one guided DiT call, from the bundle's DiT graph and the request
 * geometry, so that a measured call time converts into achieved FLOP/s and utilisation of a
 * device's peak.
 *
 * <p>Dense term: every weight matrix is applied to every token once (2 FLOPs per multiply-add), so
 * {@code 2 · P · T} with P the DiT's parameter count and T the tokens of one call:
 * {@code B · F · (h/ph) · (w/pw)} (B guidance branches, F the latent frames a window is padded to,
 * patch {@code [1, ph, pw]}). This is an upper bound for the synthetic bundles (their context and
 * audio-adapter weights see fewer tokens) and the standard estimate for a Wan-style DiT.
 *
 * <p>Attention term (full self-attention, as in Wan): {@code 4 · L · B · S² · D} with S = tokens
 * per branch and L blocks; the synthetic bundles pool their self-attention (keys = row, column and
 * frame means), which makes this term negligible for them, so it is reported only when the number
 * of full-attention blocks is given.
 *
 * @param parameters DiT parameters
 * @param width      DiT width D (the patch embedding's output channels)
 * @param tokens     tokens of one call (all branches)
 * @param dense      2·P·T
 * @param attention  the full-attention term, 0 unless requested
 */
record DitFlops(long parameters, long width, long tokens, double dense, double attention) {

    double total() {
        return dense + attention;
    }

    /**
     * @param dit              the bundle's DiT graph
     * @param inChannels       channels of the DiT's patch-embedding input (x and y concatenated)
     * @param branches         guidance branches batched per call
     * @param frames           latent frames per window (the DiT's padded sequence)
     * @param latentH          latent height
     * @param latentW          latent width
     * @param patchH           patch height
     * @param patchW           patch width
     * @param fullAttnBlocks   blocks with full self-attention (0 for the synthetic bundles)
     */
    static DitFlops of(Path dit, long inChannels, int branches, int frames, int latentH, int latentW, int patchH,
                       int patchW, int fullAttnBlocks) throws IOException {
        List<OnnxStats.Initializer> init = OnnxStats.initializers(dit);
        long params = init.stream().mapToLong(OnnxStats.Initializer::elements).sum();
        long width = init.stream().filter(i -> i.dims().length == 5 && i.dims()[1] == inChannels)
                .mapToLong(i -> i.dims()[0]).findFirst()
                .orElseThrow(() -> new IOException(dit + ": no patch-embedding weight with " + inChannels
                        + " input channels"));
        long perBranch = (long) frames * (latentH / patchH) * (latentW / patchW);
        long tokens = branches * perBranch;
        double dense = 2.0 * params * tokens;
        double attention = 4.0 * fullAttnBlocks * branches * (double) perBranch * perBranch * width;
        return new DitFlops(params, width, tokens, dense, attention);
    }
}
