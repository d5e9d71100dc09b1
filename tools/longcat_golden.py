#!/usr/bin/env python3
"""Golden numbers for the LongCat-Video-Avatar 1.5 front end and sampler (avatar4j issue #5).

Independent numpy/scipy re-implementations of the reference formulas in
docs/REFERENCE.md §3 and §4.1 (sigma schedules, pyloudnorm's BS.1770 integrated loudness,
HF WhisperFeatureExtractor's 128-mel log-mel, torch's linear align_corners interpolation, the
per-frame 5-position audio windows and the per-latent 8-position union). The Java tests read the
file this script writes; CI never runs Python.

    /usr/bin/python3 tools/longcat_golden.py   # writes sdk-api/src/test/resources/golden/longcat-golden.txt

Output format: one record per line, `key: v1 v2 ...` (float32 values printed with repr, i.e.
exactly; float64 values with 17 significant digits). Test signals are deterministic formulas that
the Java tests evaluate too (see `signal()`).
"""
import math
import os
import sys

import numpy as np
try:
    from scipy.signal import lfilter
except ImportError:  # Debian's torch python has no scipy: the same direct form II transposed recursion
    def lfilter(b, a, x):
        """scipy.signal.lfilter for a biquad (float64), in scipy's operation order."""
        b = np.asarray(b, np.float64) / a[0]
        a = np.asarray(a, np.float64) / a[0]
        y = np.empty(len(x), np.float64)
        z0 = z1 = 0.0
        b0, b1, b2, a1, a2 = float(b[0]), float(b[1]), float(b[2]), float(a[1]), float(a[2])
        for n, xn in enumerate(np.asarray(x, np.float64).tolist()):
            yn = xn * b0 + z0
            z0 = z1 + xn * b1 - yn * a1
            z1 = xn * b2 - yn * a2
            y[n] = yn
        return y

f32 = np.float32
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk-api", "src", "test",
                   "resources", "golden", "longcat-golden.txt")
lines = []
def put(key, values, fmt="f32"):
    vals = np.asarray(values).ravel()
    if fmt == "f32":
        txt = " ".join(repr(float(f32(v))) for v in vals)
    elif fmt == "f64":
        txt = " ".join("%.17g" % float(v) for v in vals)
    else:
        txt = " ".join(str(int(v)) for v in vals)
    lines.append(f"{key}: {txt}")


# ---------------------------------------------------------------- 1. sigma schedules (§3)
def shift_f32(s, shift):
    # the scheduler's set_timesteps(sigmas=...): a float32 numpy array times python floats, so every
    # operation rounds to float32: shift*s / (1 + (shift-1)*s)
    s = np.asarray(s, np.float32)
    return (f32(shift) * s / (f32(1) + f32(shift - 1) * s)).astype(np.float32)


def distilled_raw(n_steps=8, n_train=1000):
    k = np.arange(1, n_steps + 1)
    idx = n_train - np.round(k * (n_train // n_steps)).astype(np.int64)    # 875, 750, ..., 0
    table = np.flip(np.linspace(0, 1, n_train, dtype=np.float32))          # table[i] = 1 - i/999
    return np.flip(table[idx]).astype(np.float32)


# ---------------------------------------------------------------- test signals (also in Java)
def signal(kind, rate, seconds):
    n = int(round(rate * seconds))
    t = np.arange(n, dtype=np.float64) / rate
    if kind == "tone":          # 1 kHz sine, amplitude 0.5
        x = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    elif kind == "mix":         # speech-like mixture with a deterministic "noise" term
        i = np.arange(n, dtype=np.int64)
        x = (0.30 * np.sin(2 * np.pi * 220.0 * t) + 0.15 * np.sin(2 * np.pi * 3150.0 * t + 0.5)
             + 0.05 * (((i * 7919) % 1000) / 500.0 - 1.0))
        x = x * (0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t))
    elif kind == "bursts":      # loud 0.5 s bursts separated by near-silence: exercises the gates
        env = np.where((t % 1.0) < 0.5, 0.8, 0.001)
        x = env * np.sin(2 * np.pi * 600.0 * t)
    elif kind == "silence":
        x = np.zeros(n)
    else:
        raise ValueError(kind)
    return x.astype(np.float32)


# ---------------------------------------------------------------- 2. BS.1770 loudness (pyloudnorm)
def k_weighting(rate):
    def biquad(kind, G, Q, fc):
        A = 10 ** (G / 40.0)
        w0 = 2.0 * np.pi * (fc / rate)
        alpha = np.sin(w0) / (2.0 * Q)
        if kind == "high_shelf":
            b0 = A * ((A + 1) + (A - 1) * np.cos(w0) + 2 * np.sqrt(A) * alpha)
            b1 = -2 * A * ((A - 1) + (A + 1) * np.cos(w0))
            b2 = A * ((A + 1) + (A - 1) * np.cos(w0) - 2 * np.sqrt(A) * alpha)
            a0 = (A + 1) - (A - 1) * np.cos(w0) + 2 * np.sqrt(A) * alpha
            a1 = 2 * ((A - 1) - (A + 1) * np.cos(w0))
            a2 = (A + 1) - (A - 1) * np.cos(w0) - 2 * np.sqrt(A) * alpha
        else:  # high_pass
            b0 = (1 + np.cos(w0)) / 2
            b1 = -(1 + np.cos(w0))
            b2 = (1 + np.cos(w0)) / 2
            a0 = 1 + alpha
            a1 = -2 * np.cos(w0)
            a2 = 1 - alpha
        return np.array([b0, b1, b2]) / a0, np.array([a0, a1, a2]) / a0
    return [biquad("high_shelf", 4.0, 1 / np.sqrt(2), 1500.0), biquad("high_pass", 0.0, 0.5, 38.0)]


def integrated_loudness(x, rate, block=0.400):
    y = np.asarray(x, np.float64)
    for b, a in k_weighting(rate):
        y = lfilter(b, a, y)
    n = len(y)
    T = n / rate
    step = 0.25
    nblocks = int(np.round((T - block) / (block * step))) + 1
    z = np.zeros(nblocks)
    for j in range(nblocks):
        lo = int(block * (j * step) * rate)
        hi = int(block * (j * step + 1) * rate)
        z[j] = (1.0 / (block * rate)) * np.sum(np.square(y[lo:hi]))
    with np.errstate(divide="ignore"):
        l = -0.691 + 10.0 * np.log10(z)
    gated = z[l >= -70.0]
    if len(gated) == 0:
        return -math.inf
    rel = -0.691 + 10.0 * np.log10(np.mean(gated)) - 10.0
    keep = z[(l > rel) & (l > -70.0)]
    if len(keep) == 0:
        return -math.inf
    return -0.691 + 10.0 * np.log10(np.mean(keep))


# ---------------------------------------------------------------- 3. Whisper 128-mel log-mel (HF)
def hz2mel(f):
    f = np.asarray(f, np.float64)
    m = 3.0 * f / 200.0
    logstep = math.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / logstep, m)


def mel2hz(m):
    m = np.asarray(m, np.float64)
    logstep = math.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), 200.0 * m / 3.0)


def melfb(n_mels, sr=16000, n_fft=400):
    fft_f = np.linspace(0, sr // 2, 1 + n_fft // 2)
    fpts = mel2hz(np.linspace(hz2mel(0.0), hz2mel(8000.0), n_mels + 2))
    fd = np.diff(fpts)
    ramps = fpts[:, None] - fft_f[None, :]
    W = np.zeros((n_mels, len(fft_f)))
    for i in range(n_mels):
        W[i] = np.maximum(0, np.minimum(-ramps[i] / fd[i], ramps[i + 2] / fd[i + 1]))
    W *= (2.0 / (fpts[2:n_mels + 2] - fpts[:n_mels]))[:, None]
    return W


def whisper_logmel(chunk, n_mels=128):
    x = np.asarray(chunk, np.float32)
    if len(x) < 480000:
        x = np.pad(x, (0, 480000 - len(x)))                                  # waveform zero padding
    x = x[:480000].astype(np.float64)
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)              # periodic Hann
    xp = np.pad(x, (200, 200), mode="reflect")
    nfr = 1 + (len(xp) - 400) // 160
    frames = np.lib.stride_tricks.sliding_window_view(xp, 400)[::160][:nfr] * win
    P = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    M = melfb(n_mels) @ P.T
    L = np.log10(np.maximum(M, 1e-10))[:, :-1]                               # drop the last frame
    L = np.maximum(L, L.max() - 8.0)
    return ((L + 4.0) / 4.0).astype(np.float32)


# 31.2 s: two 30 s chunks, each normalised by its own maximum (LongCat's MEL_CHUNK loop)
# ---------------------------------------------------------------- 4. align_corners interpolation
def interp_align_corners(a, out_len):
    # torch F.interpolate(mode='linear', align_corners=True) on CPU, float32 arithmetic:
    # scale = (in-1)/(out-1), src = scale*i, i0 = floor(src), lam = src - i0
    a = np.asarray(a, np.float32)
    n = a.shape[0]
    if out_len == 1:
        return a[:1].copy()
    scale = f32((n - 1) / (out_len - 1))
    out = np.empty((out_len,) + a.shape[1:], np.float32)
    for i in range(out_len):
        src = f32(scale * f32(i))
        i0 = int(src)
        i1 = min(i0 + 1, n - 1)
        lam = f32(src - f32(i0))
        out[i] = (f32(1) - lam) * a[i0] + lam * a[i1]
    return out


# ---------------------------------------------------------------- 5. audio windows (§3)
def frame_windows(start, frames, stride, length, half=2):
    offs = np.arange(2 * half + 1) - half
    c = np.arange(start, start + stride * frames, stride)[:, None] + offs[None, :]
    return np.clip(c, 0, length - 1)                                         # [frames, 5]


def latent_union(win, vae_scale=4):
    mid = win.shape[1] // 2
    first = win[:1]                                                          # latent 0: [1, 5]
    later = win[1:].reshape(-1, vae_scale, win.shape[1])
    rows = []
    for g in later:
        rows.append(np.concatenate([g[0, :mid + 1], g[1:-1, mid], g[-1, mid:]]))
    return first, np.array(rows)                                             # [(T-1)/4, 8]


def main():
    for n, sh in ((8, 7.0), (8, 12.0), (8, 5.0), (4, 7.0)):
        raw = distilled_raw(n)
        s = shift_f32(raw, sh)
        put(f"distilled.n{n}.shift{sh:g}.raw", raw)
        put(f"distilled.n{n}.shift{sh:g}.sigmas", np.append(s, 0))
        put(f"distilled.n{n}.shift{sh:g}.timesteps", (s * f32(1000)).astype(np.float32))
        # cross-check against compute_vectors.py's float64-then-cast shift: at most 1 ulp apart
        s64 = (sh * raw.astype(np.float64) / (1 + (sh - 1) * raw.astype(np.float64))).astype(np.float32)
        assert np.all(np.abs(s64.view(np.int32) - s.view(np.int32)) <= 1)

    for n, sh in ((50, 7.0), (30, 12.0), (8, 7.0)):
        raw = np.linspace(1, 0.001, n, dtype=np.float32)
        s = shift_f32(raw, sh)
        put(f"full.n{n}.shift{sh:g}.sigmas", np.append(s, 0))
        ts = (s * f32(1000)).astype(np.float32)
        put(f"full.n{n}.shift{sh:g}.timesteps", ts)
        # enhance_hf (continuation segments, non-distilled): keep t > 500, then 500, 450, ..., 50
        tail = np.linspace(500, 0, 10, dtype=np.float32, endpoint=False)
        hf = np.concatenate([ts[ts > 500], tail]).astype(np.float32)
        put(f"full.n{n}.shift{sh:g}.hf.timesteps", hf)
        put(f"full.n{n}.shift{sh:g}.hf.sigmas", np.append((hf / f32(1000)).astype(np.float32), 0))


    for rate in (16000, 44100, 48000):
        (b1, a1), (b2, a2) = k_weighting(rate)
        put(f"kweight.r{rate}.shelf", np.concatenate([b1, a1]), "f64")
        put(f"kweight.r{rate}.highpass", np.concatenate([b2, a2]), "f64")
    for kind, rate, secs in (("tone", 16000, 3.0), ("tone", 48000, 3.0), ("mix", 16000, 4.3),
                             ("mix", 44100, 2.0), ("bursts", 16000, 5.0), ("silence", 16000, 2.0)):
        L = integrated_loudness(signal(kind, rate, secs), rate)
        put(f"lufs.{kind}.r{rate}.s{secs:g}", [L], "f64")

    fb = melfb(128)
    put("mel128.rowsums", fb.sum(1)[:8], "f64")
    put("mel128.row40", fb[40], "f64")
    put("mel128.row127", fb[127], "f64")
    sine = (0.5 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype(np.float32)
    S = whisper_logmel(sine)
    put("logmel.sine440.stats", [S.shape[0], S.shape[1], S.max(), S.min(), S[:, 50].argmax()])
    mix = signal("mix", 16000, 2.5)
    M = whisper_logmel(mix)
    rows = [0, 5, 17, 64, 100, 127]
    cols = [0, 1, 2, 77, 124, 125, 200, 249, 250, 251, 2999]
    put("logmel.mix.rows", rows, "int")
    put("logmel.mix.cols", cols, "int")
    put("logmel.mix.values", M[np.ix_(rows, cols)])
    put("logmel.mix.colsum", M.sum(0)[:260].astype(np.float32))
    put("logmel.mix.stats", [M.max(), M.min(), float(np.mean(M, dtype=np.float64))], "f64")
    long = signal("mix", 16000, 31.2)
    for c in range(2):
        C = whisper_logmel(long[c * 480000:(c + 1) * 480000])
        put(f"logmel.long.chunk{c}.stats", [C.max(), C.min()], "f64")
        put(f"logmel.long.chunk{c}.col", C[:, 100] if c == 0 else C[:, 3])

    feat = np.array([[math.sin(0.37 * i + 0.11 * d) + 0.01 * d for d in range(3)] for i in range(50)],
                    np.float32)
    for out_len in (25, 24, 1, 7):
        put(f"interp.n50.out{out_len}", interp_align_corners(feat, out_len))
    feat2 = np.array([[math.cos(0.21 * i) * (d + 1) for d in range(2)] for i in range(186)], np.float32)
    put("interp.n186.out93", interp_align_corners(feat2, 93))
    try:
        import torch
        for out_len in (25, 24, 1, 7):
            t = torch.nn.functional.interpolate(torch.from_numpy(feat.T[None].copy()), size=out_len,
                                                mode="linear", align_corners=True)[0].T.numpy()
            assert np.allclose(t, interp_align_corners(feat, out_len), atol=1e-6), out_len
        print("interp: matches torch", torch.__version__)
    except ImportError:
        pass

    for start, length in ((0, 2000), (80, 2000), (0, 60), (160, 170)):
        w = frame_windows(start, 93, 1, length)
        f0, u = latent_union(w)
        put(f"win.s{start}.len{length}.frames", w, "int")
        put(f"win.s{start}.len{length}.latent0", f0, "int")
        put(f"win.s{start}.len{length}.union", u, "int")

    with open(OUT, "w") as fh:
        fh.write("# generated by tools/longcat_golden.py; do not edit\n")
        fh.write("\n".join(lines) + "\n")
    print("wrote", os.path.normpath(OUT), len(lines), "records")


if __name__ == "__main__":
    main()
