#!/usr/bin/python3
"""numpy reference timings for BENCHMARKS.md's "audio front end" table (bench/run starts it).

Reads the same synthetic audio the Java benchmarks use (raw little-endian float32, written by the
harness) and times, with the reference's numpy expressions on float32 arrays:
  normalizeWindow   (x - x.mean()) / np.sqrt(x.var() + 1e-7) on 53,760 samples (HF Wav2Vec2FeatureExtractor)
  normalizeClip30s  the same on 480,000 samples
  guidanceCombine   c0*v0 + c1*v1 + c2*v2 on 3 x 344,064 floats (the 3-branch guidance)
Prints one JSON object: microseconds per call (median of 15 repeats) and numpy's version.

Run: /usr/bin/python3 tools/bench_frontend_numpy.py AUDIO.f32
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

    res = {
        "normalizeWindow": per_call_us(lambda: norm(window)),
        "normalizeClip30s": per_call_us(lambda: norm(whole)),
        "guidanceCombine": per_call_us(lambda: c[0] * v[0] + c[1] * v[1] + c[2] * v[2]),
        "numpy": np.__version__,
    }
    print(json.dumps(res))


if __name__ == "__main__":
    main()
