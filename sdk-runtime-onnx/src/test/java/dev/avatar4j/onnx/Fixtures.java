package dev.avatar4j.onnx;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** Paths of the ONNX fixtures built by {@code src/test/python/make_fixtures.py}. */
final class Fixtures {
    private Fixtures() {
    }

    static Path path(String name) {
        URL url = Fixtures.class.getResource("/fixtures/" + name);
        if (url == null) {
            throw new IllegalStateException("missing test fixture " + name + "; run src/test/python/make_fixtures.py");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
