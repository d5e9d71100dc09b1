/**
 * The contract every model family implements, and what several families share. A family's engine
 * ({@link dev.avatar4j.family.FamilyEngine}, created by {@link dev.avatar4j.family.FamilyEngines}
 * for a bundle's family) is typed by the job it runs ({@link dev.avatar4j.family.FamilyJob}: a
 * resolved {@link dev.avatar4j.family.GenerationRequest} or {@link dev.avatar4j.family.DubRequest}),
 * plans it ({@link dev.avatar4j.family.GenerationPlan}) and reports frames, progress and
 * checkpoints to a {@link dev.avatar4j.family.GenerationContext}, which the generation runner
 * implements. Shared by several families: the seeded per-frame noise
 * ({@link dev.avatar4j.family.NoiseSource}; preview, stableavatar, latentsync) and the streaming VAE
 * decoder of the Wan-based families ({@link dev.avatar4j.family.StreamingVaeDecoder}; stableavatar,
 * longcat) with its encoder counterpart ({@link dev.avatar4j.family.StreamingVaeEncoder}; used by
 * stableavatar today, kept next to the decoder whose cache format it shares). Each family lives in a sub-package. See {@code docs/ARCHITECTURE.md} §3–§4.
 *
 * <p>Internal package: not exported.
 */
package dev.avatar4j.family;
