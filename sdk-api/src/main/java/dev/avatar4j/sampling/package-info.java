/**
 * Sampler pieces that several families share: the sigma/timestep table of the flow-matching
 * families and its one Euler sign convention ({@link dev.avatar4j.sampling.SigmaSchedule}: dt
 * negative; StableAvatar and LongCat build it, each as its reference does), the Euler update
 * ({@link dev.avatar4j.sampling.EulerStep}) and guidance as a linear combination of branch
 * predictions ({@link dev.avatar4j.sampling.Guidance}: StableAvatar, LongCat, and LatentSync's
 * classifier-free guidance). All arithmetic is float32 on off-heap memory. The schedules that only
 * one family uses live in it (LatentSync's DDIM, the builders of each family's sigma table).
 *
 * <p>Internal package: not exported.
 */
package dev.avatar4j.sampling;
