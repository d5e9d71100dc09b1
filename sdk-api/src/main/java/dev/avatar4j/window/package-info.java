/**
 * StableAvatar's Dynamic Weighted Sliding Window (DWSW): the window layout over the latent
 * timeline, the overlap blend weights, per-frame latent storage and the reference's lock-step
 * denoising loop (docs/REFERENCE.md §1.5).
 *
 * <p>Internal package: not exported; the engine is its only user.
 */
package dev.avatar4j.window;
