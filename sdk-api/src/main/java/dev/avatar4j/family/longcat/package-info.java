/**
 * The LongCat-Video-Avatar 1.5 family (docs/REFERENCE.md §3): the engine
 * ({@link dev.avatar4j.family.longcat.LongCatEngine}), its segment plan
 * ({@link dev.avatar4j.family.longcat.LongCatPlan}), graphs and manifest section, and what only this
 * family uses: the audio windows of its encoder, the sigma tables of its sampler
 * ({@link dev.avatar4j.family.longcat.LongCatSchedule}: distilled, full and {@code enhance_hf}), the
 * BS.1770 loudness measurement and normalisation of its speech
 * ({@link dev.avatar4j.family.longcat.LoudnessMeter},
 * {@link dev.avatar4j.family.longcat.LoudnessNormalizer}) and the {@code align_corners}
 * interpolation of its audio features ({@link dev.avatar4j.family.longcat.AlignCornersInterpolation}).
 * See {@code docs/ARCHITECTURE.md} §3.3.
 *
 * <p>Internal package: not exported.
 */
package dev.avatar4j.family.longcat;
