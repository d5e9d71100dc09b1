/**
 * The machinery shared by every model family: the family contract
 * ({@link dev.avatar4j.engine.FamilyEngine}, created by {@link dev.avatar4j.engine.FamilyEngines} for a
 * bundle's family, typed by its job — a resolved {@link dev.avatar4j.engine.GenerationRequest} or
 * {@link dev.avatar4j.engine.DubRequest} — and reporting to a
 * {@link dev.avatar4j.engine.GenerationContext}), backend selection
 * ({@link dev.avatar4j.engine.BackendRegistry}) and graph opening against contracts
 * ({@link dev.avatar4j.engine.Sessions}, {@link dev.avatar4j.engine.GraphContract}), media codec
 * dispatch ({@link dev.avatar4j.engine.MediaRegistry} and the built-in JDK codec), streamed speech
 * ({@link dev.avatar4j.engine.AudioSource}, sample-range and WAV-integrity checks, multi-speaker
 * layout and mix), seeded per-frame noise, the streaming VAE decoder shared by the Wan-based families,
 * and the low-priority helper for the encoder thread. See {@code docs/ARCHITECTURE.md} §2–§3.
 *
 * <p>Internal package: not exported.
 */
package dev.avatar4j.engine;
