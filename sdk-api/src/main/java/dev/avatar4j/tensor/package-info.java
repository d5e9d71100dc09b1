/**
 * Off-heap tensors ({@link dev.avatar4j.tensor.Tensor}) exchanged between the engine and backends,
 * and their lifetimes: a {@link dev.avatar4j.tensor.TensorScope} owns the tensors made in it (one
 * arena per generation, window, segment or model call) and frees them all when it closes.
 */
package dev.avatar4j.tensor;
