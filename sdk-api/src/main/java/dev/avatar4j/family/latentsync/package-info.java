/**
 * The LatentSync 1.5/1.6 lip-sync (dubbing) family: {@link dev.avatar4j.family.latentsync.LatentSyncEngine}
 * runs {@link dev.avatar4j.family.DubRequest}s through the same generation runner as the portrait
 * families; video looping, face location and tracking, alignment with paste-back, the mouth mask and
 * the deterministic DDIM sampler only this family uses ({@link dev.avatar4j.family.latentsync.DdimSchedule},
 * {@link dev.avatar4j.family.latentsync.DdimStep}). Internal package: not exported. See
 * docs/REFERENCE.md §2.
 */
package dev.avatar4j.family.latentsync;
