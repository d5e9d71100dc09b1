package dev.avatar4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ReportTest {
    @Test
    void sectionsMeasuredByOtherToolsAreKeptInTheirOrder() {
        String report = "# Benchmarks\n\nheader\n\n## Summary\n\n- a\n\n## Memory vs audio length\n\ntable\n\n"
                + "## Exporter, full-size rehearsal\n\n" + Report.HAND_WRITTEN + " ... -->\n\n| part | wall |\n\n"
                + "## Other tool\n\n" + Report.HAND_WRITTEN + " x -->\nrow\n";
        Map<String, String> kept = Report.handWrittenSections(report);
        assertThat(kept.keySet()).containsExactly("Exporter, full-size rehearsal", "Other tool");
        assertThat(kept.get("Exporter, full-size rehearsal")).startsWith(Report.HAND_WRITTEN).contains("| part | wall |");
        assertThat(kept.get("Other tool")).endsWith("row\n");
    }

    @Test
    void generatedSectionsAreNotKept() {
        assertThat(Report.handWrittenSections("# B\n\n## Summary\n\n- a\n\n## Memory\n\nx\n")).isEmpty();
    }
}
