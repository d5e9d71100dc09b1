/**
 * The {@code preview} family, the SDK's default model: an instant, CPU-only talking portrait without
 * diffusion. BlazeFace finds the face and its keypoints once, Silero VAD and an energy/spectrum
 * analysis of the speech give per-frame mouth shapes (smoothed with attack and release), and each
 * frame is the reference image warped around a face rig, with seeded blinks and idle head motion
 * ({@link dev.avatar4j.family.preview.PreviewEngine} tells the pipeline). The BlazeFace detector,
 * which the dubbing family uses too, lives in {@code dev.avatar4j.face}. See
 * {@code docs/ARCHITECTURE.md} §3.2.
 *
 * <p>Internal package: not exported.
 */
package dev.avatar4j.family.preview;
