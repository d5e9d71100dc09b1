/**
 * Audio front ends that several parts share: resampling ({@link dev.avatar4j.audio.Resampler}; the
 * input readers in {@code dev.avatar4j.io} resample every speech input to the model's rate with it)
 * and the Whisper log-mel spectrogram ({@link dev.avatar4j.audio.WhisperLogMel}, windowed, for
 * LongCat's audio encoder; {@link dev.avatar4j.audio.WhisperLogMelWholeFile}, for LatentSync's; both
 * on {@link dev.avatar4j.audio.LogMelCore}). Front ends that one family alone uses live in that
 * family (StableAvatar's wav2vec2 pieces, LongCat's loudness normalisation).
 *
 * <p>Internal package: not exported.
 */
package dev.avatar4j.audio;
