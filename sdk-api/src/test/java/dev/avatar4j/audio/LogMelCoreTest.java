package dev.avatar4j.audio;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.jtransforms.fft.DoubleFFT_1D;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The sparse filter bank and the silent-frame shortcut of {@link LogMelCore} change no bit: its
 * output equals, exactly, the textbook evaluation (window, FFT, |X|², dense matrix-vector product
 * over all 201 bins, log10) on a signal with noise, tones and an exactly silent stretch.
 */
class LogMelCoreTest {

    @ParameterizedTest
    @ValueSource(ints = {80, 128})
    void sparseBankEqualsTheDenseProductBitForBit(int melBins) {
        double[][] dense = WhisperLogMel.melFilterBank(melBins);
        LogMelCore core = new LogMelCore(dense);
        assertThat(core.melBins()).isEqualTo(melBins);
        // each 201-bin triangle spans a handful of bins: the sparse bank is a small fraction of the dense one
        assertThat(core.nonZeroWeights()).isPositive().isLessThan(melBins * LogMelCore.BINS / 20);

        int frames = 400;
        double[] x = new double[(frames - 1) * LogMelCore.HOP + LogMelCore.N_FFT];
        SplittableRandom rnd = new SplittableRandom(melBins);
        for (int i = 0; i < x.length; i++) {
            boolean silent = i >= 20_000 && i < 30_000;
            x[i] = silent ? 0 : (float) (0.3 * Math.sin(i * 0.05) + 0.05 * rnd.nextGaussian());
        }
        double[] log = new double[melBins * (frames + 3)];
        double max = core.logMel(x, frames, log, frames + 3);

        DoubleFFT_1D fft = new DoubleFFT_1D(LogMelCore.N_FFT);
        double expectedMax = Double.NEGATIVE_INFINITY;
        int silentFrames = 0;
        for (int f = 0; f < frames; f++) {
            double[] buf = new double[LogMelCore.N_FFT];
            boolean silent = true;
            for (int i = 0; i < buf.length; i++) {
                double v = x[f * LogMelCore.HOP + i];
                silent &= v == 0;
                buf[i] = v * (0.5 - 0.5 * Math.cos(2 * Math.PI * i / LogMelCore.N_FFT));
            }
            silentFrames += silent ? 1 : 0;
            fft.realForward(buf);
            double[] power = new double[LogMelCore.BINS];
            power[0] = buf[0] * buf[0];
            power[LogMelCore.BINS - 1] = buf[1] * buf[1];
            for (int k = 1; k < LogMelCore.BINS - 1; k++) {
                power[k] = buf[2 * k] * buf[2 * k] + buf[2 * k + 1] * buf[2 * k + 1];
            }
            for (int m = 0; m < melBins; m++) {
                double acc = 0;
                for (int k = 0; k < LogMelCore.BINS; k++) {
                    acc += dense[m][k] * power[k];
                }
                double expected = Math.log10(Math.max(acc, 1e-10));
                expectedMax = Math.max(expectedMax, expected);
                assertThat(log[m * (frames + 3) + f]).as("mel %d frame %d", m, f).isEqualTo(expected);
            }
        }
        assertThat(silentFrames).as("the shortcut is exercised").isGreaterThan(10);
        assertThat(max).isEqualTo(expectedMax);
    }
}
