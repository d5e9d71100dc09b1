/**
 * The LatentSync 1.5/1.6 lip-sync (dubbing) family, built up piece by piece: video looping, face
 * alignment with paste-back, and (in {@code dev.avatar4j.sampling}) the DDIM sampler. Internal
 * package: not exported. See docs/REFERENCE.md §2.
 */
package dev.avatar4j.family.latentsync;
