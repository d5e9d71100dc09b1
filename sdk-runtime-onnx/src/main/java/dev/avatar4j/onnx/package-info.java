/**
 * The ONNX Runtime backend ({@code onnx}): {@link dev.avatar4j.onnx.OnnxBackendProvider} is the
 * service provider found by {@link java.util.ServiceLoader}; the backend and its graph sessions are
 * internal and reached through the {@link dev.avatar4j.spi} interfaces.
 *
 * <p>Inputs are handed to ONNX Runtime zero-copy (direct buffers over the callers' off-heap tensors),
 * {@code runInto} binds the callers' output tensors as ONNX Runtime's pinned outputs, sessions are
 * shared by concurrent runs and closing one waits for the runs in flight.
 *
 * <p>Configuration: {@code -Davatar4j.onnx.cuda=true} or {@code AVATAR4J_ONNX_CUDA=1} selects the
 * CUDA execution provider (device 0) when an {@code onnxruntime_gpu} build and CUDA are present.
 */
package dev.avatar4j.onnx;
