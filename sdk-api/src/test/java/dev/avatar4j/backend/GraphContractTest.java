package dev.avatar4j.backend;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BundleException;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link GraphContract#check(List, List, Path)}, the rule a loaded session and a signature read
 * from a file are both checked by: every mismatch listed, naming graph, file and tensor; optional
 * outputs checked only when present.
 */
class GraphContractTest {
    private static final Path FILE = Path.of("bundle", "vae_encoder.onnx");

    private static GraphContract contract() {
        return GraphContract.of("vae-encoder").input("image", DType.FLOAT32, -1, 3, 256, 256)
                .output("latent", DType.FLOAT32, -1, 4, 32, 32).optionalOutput("std", DType.FLOAT32, -1, 4, 32, 32);
    }

    private static TensorSpec spec(String name, DType dtype, long... shape) {
        return new TensorSpec(name, dtype, shape);
    }

    @Test
    void aMatchingSignaturePassesWithOrWithoutTheOptionalOutput() {
        List<TensorSpec> in = List.of(spec("image", DType.FLOAT32, -1, 3, 256, 256));
        assertThatCode(() -> contract().check(in, List.of(spec("latent", DType.FLOAT32, 1, 4, 32, 32)), FILE))
                .doesNotThrowAnyException();
        assertThatCode(() -> contract().check(in, List.of(spec("latent", DType.FLOAT32, -1, 4, -1, -1),
                spec("std", DType.FLOAT32, -1, 4, 32, 32)), FILE)).doesNotThrowAnyException();
    }

    @Test
    void everyMismatchIsListedNamingGraphFileAndTensor() {
        List<TensorSpec> in = List.of(spec("image", DType.INT64, -1, 3, 256, 256), spec("extra", DType.FLOAT32, 1));
        List<TensorSpec> out = List.of(spec("latent", DType.FLOAT32, -1, 8, 32, 32), spec("std", DType.FLOAT16, -1, 4, 32, 32));
        assertThatThrownBy(() -> contract().check(in, out, FILE)).isInstanceOf(BundleException.class)
                .hasMessage("graph \"vae-encoder\" (vae_encoder.onnx) does not match the contract: input 'image' is INT64, "
                        + "expected FLOAT32; unexpected input 'extra'; output 'latent' has shape [?,8,32,32], expected "
                        + "[?,4,32,32]; output 'std' is FLOAT16, expected FLOAT32");
    }

    @Test
    void aMissingRequiredOutputIsNamedAndAMissingOptionalOneIsNot() {
        assertThatThrownBy(() -> contract().check(List.of(spec("image", DType.FLOAT32, 1, 3, 256, 256)),
                List.of(spec("std", DType.FLOAT32, 1, 4, 32, 32)), FILE))
                .hasMessageEndingWith("does not match the contract: missing output 'latent' (has [std])");
    }
}
