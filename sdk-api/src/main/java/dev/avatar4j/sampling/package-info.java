/**
 * Flow-matching sampler pieces of the StableAvatar pipeline: the sigma/timestep schedule of
 * diffusers 0.30.1 {@code FlowMatchEulerDiscreteScheduler}, guidance as a linear combination of
 * branch predictions, and the Euler update. All arithmetic is float32 on off-heap memory.
 *
 * <p>LatentSync's deterministic DDIM sampler ({@link dev.avatar4j.family.latentsync.DdimSchedule},
 * {@link dev.avatar4j.family.latentsync.DdimStep}) lives here too; its classifier-free guidance is
 * {@link dev.avatar4j.sampling.Guidance#cfg(double)}.
 *
 * <p>Internal package: not exported; the engine is its only user.
 */
package dev.avatar4j.sampling;
