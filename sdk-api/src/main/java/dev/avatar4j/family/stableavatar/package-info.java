/**
 * The {@code stableavatar} family (StableAvatar, Wan2.1-1.3B I2V; {@code docs/REFERENCE.md} §1):
 * the engine ({@link dev.avatar4j.family.stableavatar.StableAvatarEngine}), its plan computed by the
 * same code the engine runs ({@link dev.avatar4j.family.stableavatar.StableAvatarPlan}), the bundle's
 * graphs and manifest section, and the per-generation conditioning: image (CLIP tokens and the I2V
 * mask/reference latent), text (precomputed or encoded prompts) and per-window audio (wav2vec2
 * tokens), and the guided DiT velocity that batches the guidance branches.
 *
 * <p>What only this family uses lives here too, so that its pipeline reads in one package:
 * <ul>
 *   <li>the sliding-window denoiser (Dynamic Weighted Sliding Window, {@code docs/REFERENCE.md}
 *       §1.5; {@code docs/ARCHITECTURE.md} §3.1): the window layout over the latent timeline
 *       ({@link dev.avatar4j.family.stableavatar.WindowPlan},
 *       {@link dev.avatar4j.family.stableavatar.Window}), the overlap blend weights
 *       ({@link dev.avatar4j.family.stableavatar.OverlapWeights}), per-frame latent storage
 *       ({@link dev.avatar4j.family.stableavatar.LatentTimeline}) and the wavefront order
 *       ({@link dev.avatar4j.family.stableavatar.WavefrontDenoiser}); the reference's lock-step
 *       loop it is tested against is test code ({@code LockstepDenoiser});</li>
 *   <li>the wav2vec2 audio front end outside the graph ({@code docs/REFERENCE.md} §1.1, §4.2):
 *       per-window sample ranges ({@link dev.avatar4j.family.stableavatar.AudioWindowSlicer}),
 *       the feature-extractor normalisation
 *       ({@link dev.avatar4j.family.stableavatar.Wav2Vec2Normalizer}), the encoder's token count
 *       ({@link dev.avatar4j.family.stableavatar.Wav2Vec2Geometry}) and the per-latent-frame token
 *       windows of the audio adapter ({@link dev.avatar4j.family.stableavatar.AudioTokenIndex});</li>
 *   <li>the sigma table of diffusers 0.30.1 {@code FlowMatchEulerDiscreteScheduler}
 *       ({@link dev.avatar4j.family.stableavatar.FlowMatchSchedule}, {@code docs/REFERENCE.md}
 *       §1.3) and how its shift is applied ({@link dev.avatar4j.family.stableavatar.ShiftMode}).</li>
 * </ul>
 * See {@code docs/ARCHITECTURE.md} §3.
 *
 * <p>Internal package: not exported.
 */
package dev.avatar4j.family.stableavatar;
