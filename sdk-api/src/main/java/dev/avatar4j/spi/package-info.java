/**
 * Service-provider interfaces for inference backends: {@link dev.avatar4j.spi.BackendProvider},
 * {@link dev.avatar4j.spi.Backend} and {@link dev.avatar4j.spi.GraphSession}, whose
 * {@link dev.avatar4j.spi.GraphSession#run run} returns a {@link dev.avatar4j.spi.GraphSession.Result}
 * that owns the outputs. A backend with device memory hands out {@link dev.avatar4j.spi.DeviceScope}s
 * ({@link dev.avatar4j.spi.Backend#openDeviceScope()}): {@link dev.avatar4j.spi.DeviceTensor}s that
 * stay on the device across runs, bound by name with
 * {@link dev.avatar4j.spi.GraphSession#run(DeviceScope, java.util.Map, java.util.Map)}; backends whose
 * device is the host inherit defaults that bind host memory without copies.
 */
package dev.avatar4j.spi;
