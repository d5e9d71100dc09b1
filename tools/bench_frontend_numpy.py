#!/usr/bin/python3
"""numpy reference timings for BENCHMARKS.md's "audio front end" table (bench/run starts it).

Reads the same synthetic audio the Java benchmarks use (raw little-endian float32, written by the
harness) and times, with the reference's numpy expressions on float32 arrays:
  normalizeWindow   (x - x.mean()) / np.sqrt(x.var() + 1e-7) on 53,760 samples (HF Wav2Vec2FeatureExtractor)
  normalizeClip30s  the same on 480,000 samples
  guidanceCombine   c0*v0 + c1*v1 + c2*v2 on 3 x 344,064 floats (the 3-branch guidance)
  logMel128Chunk30s    Whisper log-mel, HF WhisperFeatureExtractor semantics (dev.avatar4j.audio.WhisperLogMel):
                       the 480,000-sample chunk zero-padded to 30 s, reflect-padded by 200, 128 mel bins, 3000 frames
  logMel80WholeFile30s Whisper log-mel, openai-whisper semantics (WhisperLogMelWholeFile): reflect padding of the
                       whole 480,000-sample file, 80 mel bins, floor(N/160) = 3000 frames
Both log-mels are the vectorised numpy form of the reference computation, in float64 like the Java code:
frames by a strided view, periodic Hann window of 400, np.fft.rfft over the frames (hop 160, last frame
dropped), |X|^2 as re^2 + im^2, the dense Slaney mel filter bank as one matrix product (built here the way
WhisperLogMel.melFilterBank builds it: librosa.filters.mel(sr=16000, n_fft=400, htk=False, norm="slaney")),
log10(max(., 1e-10)), max(L, max(L) - 8), (L + 4) / 4, cast to float32. (HF loops over frames in Python and
openai-whisper uses torch; this is the fastest numpy form of the same arithmetic, so the comparison is fair
to numpy. The matrix product runs on the BLAS's threads, all cores by default; the Java code uses one.)
Prints one JSON object: microseconds per call (median of 15 repeats) and numpy's version.

With Java's outputs for the same audio (raw little-endian float32, mel-major, written by the harness),
also prints maxAbsDiff_<benchmark>: the largest |numpy - Java| over all values.

Run: /usr/bin/python3 tools/bench_frontend_numpy.py AUDIO.f32 [JAVA_MEL128.f32 JAVA_MEL80.f32]
"""
import json
import sys
import time

import numpy as np


def per_call_us(fn, min_time=0.2):
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time:
            break
        n *= 2
    reps = []
    for _ in range(15):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        reps.append((time.perf_counter() - t0) / n * 1e6)
    return float(np.median(reps))


SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
BINS = N_FFT // 2 + 1
CHUNK = 480000
HANN = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann


def hz_to_mel(f):
    """Slaney mel scale (librosa htk=False): linear below 1 kHz, logarithmic above."""
    logstep = np.log(6.4) / 27.0
    f = np.asarray(f, dtype=np.float64)
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-300) / 1000.0) / logstep, 3.0 * f / 200.0)


def mel_to_hz(m):
    logstep = np.log(6.4) / 27.0
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), 200.0 * m / 3.0)


def mel_filter_bank(n_mels):
    """[n_mels, 201] Slaney-normalised triangles over 0-8000 Hz (librosa.filters.mel defaults)."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, BINS)
    hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0), n_mels + 2))
    ramps = hz[:, None] - fft_freqs[None, :]
    fdiff = np.diff(hz)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    return weights * (2.0 / (hz[2:] - hz[:-2]))[:, None]


def log_mel(padded, filters):
    """Log-mel of an already reflect-padded float64 signal: [n_mels, frames], last STFT frame dropped."""
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:-1]
    spec = np.fft.rfft(frames * HANN, axis=-1)
    power = spec.real ** 2 + spec.imag ** 2
    mel = filters @ power.T
    log = np.log10(np.maximum(mel, 1e-10))
    log = np.maximum(log, log.max() - 8.0)
    return ((log + 4.0) / 4.0).astype(np.float32)


def log_mel_hf_chunk(x, filters):
    """HF WhisperFeatureExtractor: zero-pad (or cut) to 30 s, then the centred (reflect) STFT."""
    chunk = np.zeros(CHUNK, dtype=np.float64)
    n = min(CHUNK, x.size)
    chunk[:n] = x[:n]
    return log_mel(np.pad(chunk, N_FFT // 2, mode="reflect"), filters)


def log_mel_whole_file(x, filters):
    """openai-whisper log_mel_spectrogram: the centred (reflect) STFT of the whole file, global maximum."""
    return log_mel(np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect"), filters)


def main():
    clip = np.fromfile(sys.argv[1], dtype="<f4")
    assert clip.size >= 480000, clip.size
    window = clip[:53760].copy()
    whole = clip[:480000].copy()
    branch = 16 * 21 * 32 * 32
    v = np.resize(clip, 3 * branch).astype(np.float32).reshape(3, branch)
    # Guidance.textAudio(3, 5) coefficients: uncond*(1-sa) ... any three float32 scalars cost the same
    c = np.array([-4.0, 2.0, 3.0], dtype=np.float32)

    def norm(x):
        return (x - x.mean()) / np.sqrt(x.var() + 1e-7)

    mel128 = mel_filter_bank(128)
    mel80 = mel_filter_bank(80)

    res = {
        "normalizeWindow": per_call_us(lambda: norm(window)),
        "normalizeClip30s": per_call_us(lambda: norm(whole)),
        "guidanceCombine": per_call_us(lambda: c[0] * v[0] + c[1] * v[1] + c[2] * v[2]),
        "logMel128Chunk30s": per_call_us(lambda: log_mel_hf_chunk(whole, mel128)),
        "logMel80WholeFile30s": per_call_us(lambda: log_mel_whole_file(whole, mel80)),
    }
    if len(sys.argv) >= 4:
        for key, path, ours in (("logMel128Chunk30s", sys.argv[2], log_mel_hf_chunk(whole, mel128)),
                                ("logMel80WholeFile30s", sys.argv[3], log_mel_whole_file(whole, mel80))):
            java = np.fromfile(path, dtype="<f4")
            assert java.size == ours.size, (key, java.size, ours.shape)
            res["maxAbsDiff_" + key] = float(np.max(np.abs(java.reshape(ours.shape) - ours)))
    res["numpy"] = np.__version__
    print(json.dumps(res))


if __name__ == "__main__":
    main()
