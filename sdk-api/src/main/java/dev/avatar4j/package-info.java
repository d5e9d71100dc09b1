/**
 * The avatar4j API: turn a reference image plus speech into a talking-avatar video, or lip-sync an
 * existing video to new speech.
 *
 * <p>Start with {@link dev.avatar4j.Avatar#from(java.nio.file.Path)} (a portrait) or
 * {@link dev.avatar4j.Avatar#dub(java.nio.file.Path)} (a video); requests are immutable builders
 * that end in {@code render(...)} (blocking) or {@code start(...)}, which returns a running
 * {@link dev.avatar4j.Generation} (frames as an iterator, stream or publisher, progress,
 * cancellation) — the same handle for a portrait and a dub — or {@code live(...)}, which returns a
 * {@link dev.avatar4j.LiveSession} that takes speech while it is spoken and makes frames at the
 * model's rate. Package-private here: the runner behind every handle ({@code GenerationRunner}), the
 * input resolver, the frame buffer and a live session's speech queue ({@code SpeechFeed}).
 * {@link dev.avatar4j.AvatarModel} is a loaded model bundle, thread-safe and meant to be shared;
 * without one the built-in {@code preview} model is used. Results are
 * {@link dev.avatar4j.RenderResult}s and {@link dev.avatar4j.Frame}s.
 *
 * <p>Errors are unchecked and typed: {@link dev.avatar4j.InvalidInputException} (image, audio or
 * options), {@link dev.avatar4j.BundleException} (the model bundle),
 * {@link dev.avatar4j.BackendException} (the inference runtime) and
 * {@link dev.avatar4j.GenerationCancelledException}.
 */
package dev.avatar4j;
