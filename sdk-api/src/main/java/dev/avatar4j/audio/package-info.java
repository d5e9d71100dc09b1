/**
 * StableAvatar's audio front end outside the wav2vec2 graph: per-window sample ranges,
 * the Wav2Vec2 feature-extractor normalisation, the encoder's token count and the per-latent-frame
 * audio token windows of the audio adapter (docs/REFERENCE.md §1.1, §4.2).
 *
 * <p>Internal package: not exported; the engine is its only user.
 */
package dev.avatar4j.audio;
