/**
 * The TensorRT backend of avatar4j ({@code tensorrt}): FP16 TensorRT engines through the Foreign
 * Function &amp; Memory API over a small C shim.
 *
 * <p>{@code dev.avatar4j} finds its {@link dev.avatar4j.spi.BackendProvider} through
 * {@link java.util.ServiceLoader} (service binding resolves the module when its jar is on the module
 * path). The package {@code dev.avatar4j.tensorrt} is exported for {@code TensorRtBackend#prebuild}
 * (engines built ahead of serving); the jextract bindings ({@code dev.avatar4j.tensorrt.ffi}) are
 * internal. The module calls native code through FFM, so run with
 * {@code --enable-native-access=dev.avatar4j.tensorrt,...}.
 */
module dev.avatar4j.tensorrt {
    requires dev.avatar4j;
    requires org.slf4j;

    exports dev.avatar4j.tensorrt;

    provides dev.avatar4j.spi.BackendProvider with dev.avatar4j.tensorrt.TensorRtBackendProvider;
}
