/**
 * The ONNX Runtime backend of avatar4j ({@code onnx}, CPU; CUDA execution provider on request).
 *
 * <p>A service-provider module: it exports no package, and {@code dev.avatar4j} finds its
 * {@link dev.avatar4j.spi.BackendProvider} through {@link java.util.ServiceLoader}, so an application
 * on the module path only needs to have the jar there (service binding resolves it; a
 * {@code requires} is not needed). ONNX Runtime's own jar has no descriptor: it is the automatic
 * module {@code com.microsoft.onnxruntime} (named by its manifest, so the name is stable), and it
 * loads its JNI library, so run with
 * {@code --enable-native-access=dev.avatar4j,com.microsoft.onnxruntime,...}.
 */
module dev.avatar4j.onnx {
    requires dev.avatar4j;
    requires com.microsoft.onnxruntime; // automatic module (Automatic-Module-Name in its manifest)
    requires org.slf4j;

    provides dev.avatar4j.spi.BackendProvider with dev.avatar4j.onnx.OnnxBackendProvider;
}
