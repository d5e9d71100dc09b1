package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RegionTest {

    @Test
    void factoriesAndParse() {
        assertThat(Region.whole()).isEqualTo(new Region(0, 0, 1, 1));
        assertThat(Region.leftHalf()).isEqualTo(new Region(0, 0, 0.5, 1));
        assertThat(Region.rightHalf()).isEqualTo(new Region(0.5, 0, 0.5, 1));
        assertThat(Region.parse(" 0.25, 0.1 ,0.5,0.9")).isEqualTo(new Region(0.25, 0.1, 0.5, 0.9));
    }

    @Test
    void rejectsRegionsOutsideTheFrameOrEmpty() {
        assertThatThrownBy(() -> new Region(0.6, 0, 0.5, 1)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("inside the frame");
        assertThatThrownBy(() -> new Region(0, 0, 0, 1)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> new Region(-0.1, 0, 0.5, 1)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> new Region(Double.NaN, 0, 0.5, 1)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> Region.parse("0,0,1")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("x,y,w,h");
        assertThatThrownBy(() -> Region.parse("0,0,a,1")).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> Region.parse(null)).isInstanceOf(InvalidInputException.class);
    }

    @Test
    void speakerApiValidatesAndIsImmutable() {
        Avatar a = Avatar.from(java.nio.file.Path.of("face.png"));
        Avatar b = a.speaker(Region.leftHalf(), new float[16000], 16000);
        assertThat(b).isNotSameAs(a);
        assertThatThrownBy(() -> a.speaker(null, java.nio.file.Path.of("x.wav")))
                .isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> a.speaker(Region.whole(), (java.nio.file.Path) null))
                .isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> a.audioMode(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> a.silent(null)).isInstanceOf(NullPointerException.class);
    }

    /** The reference's boxes for two persons without bboxes: the halves inset by face_scale = 0.1. */
    @Test
    void defaultsFollowTheReference() {
        double m = 0.1;
        assertThat(Region.leftPerson().x()).isCloseTo(0.5 * m, org.assertj.core.api.Assertions.within(1e-12));
        assertThat(Region.leftPerson().x() + Region.leftPerson().w()).isCloseTo(0.5 * (1 - m),
                org.assertj.core.api.Assertions.within(1e-12));
        assertThat(Region.rightPerson().x()).isCloseTo(0.5 + 0.5 * m, org.assertj.core.api.Assertions.within(1e-12));
        assertThat(Region.rightPerson().x() + Region.rightPerson().w()).isCloseTo(0.5 + 0.5 * (1 - m),
                org.assertj.core.api.Assertions.within(1e-12));
        for (Region r : new Region[] {Region.leftPerson(), Region.rightPerson()}) {
            assertThat(r.y()).isCloseTo(m, org.assertj.core.api.Assertions.within(1e-12));
            assertThat(r.y() + r.h()).isCloseTo(1 - m, org.assertj.core.api.Assertions.within(1e-12));
        }
        assertThat(Region.defaultFor(0, 1)).isEqualTo(Region.whole());
        assertThat(Region.defaultFor(0, 2)).isEqualTo(Region.leftPerson());
        assertThat(Region.defaultFor(1, 2)).isEqualTo(Region.rightPerson());
        assertThatThrownBy(() -> Region.defaultFor(0, 3)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("every region must be given");
        assertThatThrownBy(() -> Region.defaultFor(2, 2)).isInstanceOf(InvalidInputException.class);
    }
}
