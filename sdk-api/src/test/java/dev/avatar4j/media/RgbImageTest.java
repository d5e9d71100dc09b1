package dev.avatar4j.media;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import org.junit.jupiter.api.Test;

class RgbImageTest {

    private static final byte[] PX = {
        (byte) 255, 0, 0, 0, (byte) 255, 0, 0, 0, (byte) 255,
        1, 2, 3, (byte) 128, (byte) 129, (byte) 130, 10, 20, 30};

    @Test
    void packedRowMajorRgb() {
        RgbImage img = RgbImage.of(3, 2, PX);
        assertThat(img.width()).isEqualTo(3);
        assertThat(img.height()).isEqualTo(2);
        assertThat(img.rgb(0, 0)).isEqualTo(0xFF0000);
        assertThat(img.rgb(2, 0)).isEqualTo(0x0000FF);
        assertThat(img.rgb(1, 1)).isEqualTo(0x808182);
        assertThat(img.channel(1, 1, 2)).isEqualTo(130);
        assertThatThrownBy(() -> img.rgb(3, 0)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void immutable() {
        byte[] px = PX.clone();
        RgbImage img = RgbImage.of(3, 2, px);
        px[0] = 0;
        assertThat(img.rgb(0, 0)).isEqualTo(0xFF0000);
        img.toRgbArray()[0] = 0;
        assertThat(img.rgb(0, 0)).isEqualTo(0xFF0000);
        ByteBuffer view = img.pixels();
        assertThat(view.isReadOnly()).isTrue();
        assertThat(view.remaining()).isEqualTo(18);
        assertThat(view.get(12)).isEqualTo((byte) 128);
        assertThatThrownBy(() -> view.put(0, (byte) 1)).isInstanceOf(ReadOnlyBufferException.class);
    }

    @Test
    void rejectsWrongSizes() {
        assertThatThrownBy(() -> RgbImage.of(3, 2, new byte[17])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("18");
        assertThatThrownBy(() -> RgbImage.of(0, 2, new byte[0])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void bufferedImageRoundTrip() {
        RgbImage img = RgbImage.of(3, 2, PX);
        BufferedImage bi = img.toBufferedImage();
        assertThat(bi.getWidth()).isEqualTo(3);
        assertThat(bi.getRGB(1, 1) & 0xFFFFFF).isEqualTo(0x808182);
        assertThat(RgbImage.fromBufferedImage(bi)).isEqualTo(img);

        BufferedImage bgr = new BufferedImage(2, 1, BufferedImage.TYPE_3BYTE_BGR);
        bgr.setRGB(0, 0, 0x123456);
        bgr.setRGB(1, 0, 0xABCDEF);
        RgbImage fromBgr = RgbImage.fromBufferedImage(bgr);
        assertThat(fromBgr.rgb(0, 0)).isEqualTo(0x123456);
        assertThat(fromBgr.rgb(1, 0)).isEqualTo(0xABCDEF);
    }

    @Test
    void valueEquality() {
        assertThat(RgbImage.of(3, 2, PX)).isEqualTo(RgbImage.of(3, 2, PX))
                .hasSameHashCodeAs(RgbImage.of(3, 2, PX));
        assertThat(RgbImage.of(3, 2, PX)).isNotEqualTo(RgbImage.of(2, 3, PX));
    }
}
