#!/usr/bin/env python3
"""Golden numbers for dev.avatar4j.audio.WhisperLogMelWholeFile (WhisperLogMelWholeFileTest).

    /usr/bin/python3 tools/golden/whisper_openai_golden.py

openai-whisper's log_mel_spectrogram as LatentSync calls it (docs/REFERENCE.md §2 "Audio features",
§4.1): torch.stft over the WHOLE file (n_fft 400, hop 160, periodic Hann, center, reflect), |X|^2
without the last frame, 80 Slaney mel filters (the librosa formula; equal to whisper's
mel_filters.npz to 1.9e-9), log10(max(., 1e-10)), max(L, max(L) - 8) with the GLOBAL maximum,
(L + 4)/4, all float32 as torch computes it. Then 3000-frame segments, the last padded with 0 in
this normalised domain. The test signal is defined by a formula the Java test repeats.
"""
import math

import numpy as np
import torch


def hz2mel(f):
    f = np.asarray(f, np.float64)
    logstep = math.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / logstep, 3.0 * f / 200.0)


def mel2hz(m):
    m = np.asarray(m, np.float64)
    logstep = math.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), 200.0 * m / 3.0)


def melfb(n_mels, sr=16000, n_fft=400):
    fft_f = np.linspace(0, sr / 2, 1 + n_fft // 2)
    fpts = mel2hz(np.linspace(hz2mel(0.0), hz2mel(sr / 2), n_mels + 2))
    fd = np.diff(fpts)
    ramps = fpts[:, None] - fft_f[None, :]
    w = np.zeros((n_mels, len(fft_f)))
    for i in range(n_mels):
        w[i] = np.maximum(0, np.minimum(-ramps[i] / fd[i], ramps[i + 2] / fd[i + 1]))
    w *= (2.0 / (fpts[2:n_mels + 2] - fpts[:n_mels]))[:, None]
    return w.astype(np.float32)


def signal(n):
    # chirp-ish tone with a slow envelope and a quiet second tone: x[i] for i in [0, n)
    i = np.arange(n, dtype=np.float64)
    t = i / 16000.0
    x = 0.4 * np.sin(2 * np.pi * (300 * t + 40 * t * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t)) \
        + 0.05 * np.sin(2 * np.pi * 2500 * t)
    return x.astype(np.float32)


def log_mel(x):
    audio = torch.from_numpy(x)
    window = torch.hann_window(400)
    stft = torch.stft(audio, 400, 160, window=window, return_complex=True)
    mag = stft[..., :-1].abs() ** 2
    mel = torch.from_numpy(melfb(80)) @ mag
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).numpy()


for n in (16000 + 123, 31 * 16000 + 4321):
    L = log_mel(signal(n))
    frames = L.shape[1]
    print(f"n={n}: frames={frames} (n//160={n // 160}) max={float(L.max())!r} min={float(L.min())!r}")
    print(f"  sum={float(L.astype(np.float64).sum())!r}")
    for (m, f) in ((0, 0), (5, 17), (40, 50), (79, frames - 1), (12, frames // 2), (8, 71), (20, frames - 30)):
        print(f"  L[{m},{f}]={float(L[m, f])!r}")
    segs = (frames + 2999) // 3000
    last = frames - (segs - 1) * 3000
    print(f"  segments={segs} last_segment_frames={last} padded_value=0.0")
