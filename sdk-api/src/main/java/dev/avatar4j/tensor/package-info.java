/** Off-heap tensors ({@link dev.avatar4j.tensor.Tensor}) exchanged between the engine and backends. */
package dev.avatar4j.tensor;
