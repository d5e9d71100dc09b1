#!/usr/bin/env python3
"""Golden numbers for dev.avatar4j.family.latentsync.DdimSchedule / DdimStep (DdimScheduleTest).

Run with Debian's torch (python3-torch 1.13):

    /usr/bin/python3 tools/golden/ddim_golden.py

It replicates, with torch float32 tensors, what diffusers 0.32.2 DDIMScheduler does with LatentSync's
configs/scheduler_config.json (docs/REFERENCE.md §2 "Sampler", Appendix A block G):

- betas = linspace(sqrt(0.00085), sqrt(0.012), 1000, float32) ** 2   ("scaled_linear")
- alphas_cumprod = cumprod(1 - betas)                                  (torch CPU cumprod)
- set_alpha_to_one = False  -> final_alpha_cumprod = alphas_cumprod[0]
- "leading" spacing: step_ratio = 1000 // N; t = round(arange(N) * step_ratio)[::-1] + steps_offset(1)
- step (eta 0, epsilon prediction, no clipping):
      prev_t = t - 1000 // N ; a_prev = alphas_cumprod[prev_t] if prev_t >= 0 else final_alpha_cumprod
      x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
      x' = a_prev ** 0.5 * x0 + (1 - a_prev) ** 0.5 * eps
The printed numbers are hard-coded in sdk-api/src/test/java/dev/avatar4j/sampling/DdimScheduleTest.java.
"""
import numpy as np
import torch

T = 1000
betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, T, dtype=torch.float32) ** 2
alphas = 1.0 - betas
ac = torch.cumprod(alphas, dim=0)
final = ac[0]


def timesteps(n, offset=1):
    ratio = T // n
    t = (np.arange(0, n) * ratio).round()[::-1].copy().astype(np.int64)
    return t + offset


def step(x, eps, t, n):
    prev = t - T // n
    a_t = ac[t]
    a_p = ac[prev] if prev >= 0 else final
    b_t = 1 - a_t
    x0 = (x - b_t ** 0.5 * eps) / a_t ** 0.5
    direction = (1 - a_p) ** 0.5 * eps
    return a_p ** 0.5 * x0 + direction


def r(v):
    return "{" + ", ".join(repr(float(np.float32(a))) + "f" for a in v) + "}"


print("betas[0], betas[499], betas[999] =", r([betas[0], betas[499], betas[999]]))
print("alphas_cumprod[0, 1, 499, 998, 999] =", r([ac[0], ac[1], ac[499], ac[998], ac[999]]))
for n in (20, 50, 25, 1):
    ts = timesteps(n)
    print(f"N={n} timesteps =", "{" + ", ".join(str(int(v)) for v in ts) + "}")
    print(f"N={n} alpha_bar(t) =", r([ac[int(v)] for v in ts]))
# one deterministic step on a small vector: x_k = sin(k), eps_k = cos(0.7 k), t = 951 and t = 1 (N = 20)
k = torch.arange(8, dtype=torch.float32)
x = torch.sin(k)
eps = torch.cos(0.7 * k)
print("x =", r(x))
print("eps =", r(eps))
print("step t=951 ->", r(step(x, eps, 951, 20)))
print("step t=1   ->", r(step(x, eps, 1, 20)))
