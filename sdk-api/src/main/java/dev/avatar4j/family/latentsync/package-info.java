/**
 * The LatentSync 1.5/1.6 lip-sync (dubbing) family: {@link dev.avatar4j.family.latentsync.LatentSyncEngine}
 * runs {@link dev.avatar4j.engine.DubRequest}s through the same generation runner as the portrait
 * families; video looping, face location and tracking, alignment with paste-back, the mouth mask and
 * (in {@code dev.avatar4j.sampling}) the DDIM sampler. Internal package: not exported. See
 * docs/REFERENCE.md §2.
 */
package dev.avatar4j.family.latentsync;
