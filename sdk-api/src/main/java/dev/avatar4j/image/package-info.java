/**
 * Image handling of the StableAvatar front and back end: an immutable RGB24 image, Pillow-exact
 * resizing of the reference image, the [-1, 1] tensor mappings and the CLIP preprocessing
 * (torch bicubic to 224×224 and OpenAI-CLIP normalisation).
 *
 * <p>Internal package: not exported; the engine is its only user.
 */
package dev.avatar4j.image;
