/**
 * The {@code stableavatar} family (StableAvatar, Wan2.1-1.3B I2V; {@code docs/REFERENCE.md} §1):
 * the engine ({@link dev.avatar4j.family.stableavatar.StableAvatarEngine}), its plan computed by the
 * same code the engine runs ({@link dev.avatar4j.family.stableavatar.StableAvatarPlan}), the bundle's
 * graphs and manifest section, and the per-generation conditioning: image (CLIP tokens and the I2V
 * mask/reference latent), text (precomputed or encoded prompts) and per-window audio (wav2vec2
 * tokens), and the guided DiT velocity that batches the guidance branches. The sliding-window
 * denoiser it drives lives in {@code dev.avatar4j.window}. See {@code docs/ARCHITECTURE.md} §3.
 *
 * <p>Internal package: not exported.
 */
package dev.avatar4j.family.stableavatar;
