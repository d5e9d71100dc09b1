package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.BundleManifest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The {@code tensorrt-profiles.properties} the exporters write (tools/export/a4jexport/trtprofiles.py)
 * into the repository's bundles parse with this backend's reader, name only graphs of their bundle and
 * give every graph the TensorRT backend loads a precision: the Python writer and the Java reader
 * cannot drift apart unnoticed, although no GPU runs them here.
 */
class CommittedBundleProfilesTest {
    static Stream<Path> bundlesWithProfiles() throws IOException {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve("models/stableavatar-tiny"))) {
            dir = dir.getParent();
        }
        assertThat(dir).as("repository root").isNotNull();
        try (Stream<Path> models = Files.list(dir.resolve("models"))) {
            List<Path> found = models.filter(b -> Files.isRegularFile(b.resolve(ProfileRanges.BUNDLE_FILE))).sorted()
                    .toList();
            // the exporters' tiny bundles carry one each; a bundle that lost its file must fail here
            assertThat(found.stream().map(p -> p.getFileName().toString()))
                    .contains("stableavatar-tiny", "longcat-avatar-tiny");
            return found.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("bundlesWithProfiles")
    void profilesParseAndCoverTheBundlesGraphs(Path bundleDir) {
        ProfileRanges ranges = ProfileRanges.read(bundleDir.resolve(ProfileRanges.BUNDLE_FILE));
        Bundle bundle = Bundle.open(bundleDir);
        Set<String> graphFiles = new TreeSet<>();
        for (Map.Entry<String, BundleManifest.FileEntry> g : bundle.manifest().graphs().entrySet()) {
            graphFiles.add(g.getValue().file());
            bundle.manifest().variants(g.getKey()).values().forEach(v -> graphFiles.add(v.file()));
        }
        for (Map.Entry<String, BundleManifest.FileEntry> g : bundle.manifest().graphs().entrySet()) {
            Path file = bundle.graphFile(g.getKey());
            assertThat(ranges.precision(file)).as("precision of %s", g.getKey()).isPresent();
            for (ProfileRanges.Range r : ranges.forGraph(file).values()) {
                assertThat(r.min().length).isEqualTo(r.opt().length).isEqualTo(r.max().length);
            }
        }
        assertThat(ranges.graphFiles()).as("graph files named in the profile file").isSubsetOf(graphFiles);
    }
}
