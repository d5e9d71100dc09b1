#!/usr/bin/python3
"""PyTorch reference run of the LongCat-Video-Avatar 1.5 pipeline on the tiny bundle, for parity.

Written from docs/REFERENCE.md §3 and §4.1 (and the numpy front end of
tools/longcat_golden.py), not from the Java engine. models/longcat-avatar-tiny/ is the exporter's bundle
of the reduced checkpoints (tools/export_tiny_longcat.py); this run builds the same checkpoints and runs
the exporter's PyTorch modules of them directly (export_tiny_longcat.reference_models(): Whisper with
LongCat's groups, the Wan VAE's reference chunked encode and frame-by-frame decode, the DiT with the LoRA
merged, the umT5 embeddings of the default and negative prompts); ONNX Runtime is not used.

Pipeline (float32 unless stated):
  1. segments: A = int(N/16000*25) audio frames (at least 1); S = 1 + max(0, ceil((A - 93)/80));
     every track is zero-padded to the longest, then by ceil((93/25 + (S-1)*80/25 - N/16000)*16000)
     samples (the demo's generate_duration).
  2. per track: BS.1770 loudness normalisation to -23 LUFS (float64, skipped when |L| > 100),
     Whisper 128-mel per 480 000-sample chunk (waveform zero padding), audio encoder per chunk,
     concatenated, first 2*vl states (vl = int(len/16000*25)), each of the 5 groups interpolated
     linearly with align_corners to vl rows -> emb [vl, 5, DA].
  3. segment s: audio start 80*s; per-frame windows clamp(start + j + (-2..2), 0, vl-1) for the 93
     frames; latent 0 takes frame 0's 5 positions, latent n >= 1 the 8-position union.
  4. s = 0: cond = VAE-encode(portrait as one frame) (1 latent); x = [cond ; noise x 23]; t = 0 on
     cond; the DiT's segment-0 layout (generate_ai2v: the portrait attends only to itself).
     s >= 1: cond = [reference latent ; VAE-encode(last 13 decoded frames of segment s-1, uint8/255*2-1)
     (4 latents)]; x = [ref ; ctx(4) ; noise x 20]; the continuation layout (generate_avc: positions
     [10, 0..23], reference and context separate self-only groups, noisy latents at segment positions
     10 +- 3 do not see the reference). The DiT is the real architecture
     (tools/export/a4jexport/longcat/dit.py, itself checked against LongCat-Video's modules by
     tools/export/tests/test_longcat_dit.py) with the bundle's weights.
     Persons as the reference's multi-person demo: 1 track -> P = 1 (no masks); 2 -> P = 2, masks
     [person 1, person 2, background]; 3 (two speakers + a silent track) -> P = 3, masks
     [person 1, person 2, background, person 3]; masks on the h/2 x w/2 token grid, token (i, j) inside
     a box when (j/tw, i/th) is.
  5. distilled: 8-step schedule of the 1 - idx/999 table shifted by 7 (float32), one branch (positive
     text, audio); non-distilled: linspace(1, 0.001, N) shifted, enhance_hf for s >= 1, branches
     [negative text + zero audio, negative text + audio, positive text + audio] combined as
     u + s_t(c - u_text) + s_a(u_text - u). Euler x += (sigma' - sigma)(-out) on the noisy latents.
  6. decode the segment's 24 latents (fresh caches, first=1 for latent 0) -> 93 frames, uint8 by
     truncation; output frames 0..92 of segment 0 and 13..92 of later segments, cut to A frames.
Initial noise of latent j of segment s: numpy default_rng([1234, 24*s + j]).standard_normal.

Usage: /usr/bin/python3 tools/reference_run_longcat.py  (writes sdk-runtime-onnx/src/test/resources/parity/longcat/)
"""
import json
import math
import os
import sys
import wave

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import longcat_golden as fe  # noqa: E402  numpy front end (loudness, log-mel, interpolation, windows)
import export_tiny_longcat as tiny  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "export"))
from a4jexport.longcat import dit as lcdit  # noqa: E402

OUT = os.path.join(ROOT, "sdk-runtime-onnx", "src", "test", "resources", "parity", "longcat")
SR, FPS, SEG, CTX, NEW, REF_INDEX, MASK_RANGE = 16000, 25, 93, 13, 80, 10, 3
SEG_LAT = (SEG - 1) // 4 + 1
NOISE_SEED = 1234
Z = 16


def load_speech(n, offset=0):
    with wave.open(os.path.join(ROOT, "examples", "media", "hello.wav"), "rb") as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    out = np.zeros(n, dtype=np.float32)
    src = pcm[offset:offset + n]
    out[:src.size] = src.astype(np.float32) / np.float32(32768.0)
    return out


def portrait(width, height):
    img = Image.open(os.path.join(ROOT, "examples", "media", "portrait.png")).convert("RGB")
    px = np.asarray(img.resize((width, height), Image.BICUBIC), dtype=np.uint8)
    x = px.astype(np.float32) / np.float32(255.0) * np.float32(2.0) - np.float32(1.0)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


def noise(s, j, h, w):
    return np.random.default_rng([NOISE_SEED, SEG_LAT * s + j]).standard_normal((Z, h, w), dtype=np.float32)


def embedding(models, track):
    vl = int(len(track) / SR * FPS)
    loud = fe.integrated_loudness(track.astype(np.float64), SR)
    x = track.astype(np.float64)
    if abs(loud) <= 100:
        x = x * np.power(10.0, (-23.0 - loud) / 20.0)
    x = x.astype(np.float32)
    states = []
    for c in range(0, len(x), 480000):
        mel = fe.whisper_logmel(x[c:c + 480000])
        with torch.no_grad():
            states.append(models["audio-encoder"](torch.from_numpy(mel)[None])[0].numpy())
    st = np.concatenate(states, 0)[:2 * vl]                        # [2vl, 5, DA]
    return fe.interp_align_corners(st, vl)                         # [vl, 5, DA]


def region_mask(box, th, tw):
    """The box on the token grid: token (i, j) is inside when the pixel at its top-left corner is."""
    x0, y0, bw, bh = box
    m = np.zeros((th, tw), np.float32)
    for i in range(th):
        for j in range(tw):
            if x0 <= j / tw < x0 + bw and y0 <= i / th < y0 + bh:
                m[i, j] = 1
    return m


def person_masks(boxes, th, tw):
    if len(boxes) == 1:
        return None
    ms = [region_mask(b, th, tw) for b in boxes]
    bg = 1 - np.clip(ms[0] + ms[1], 0, 1)
    return torch.from_numpy(np.stack(ms[:2] + [bg] + ms[2:]))


def to_uint8(frames):
    u = torch.clamp(frames / 2 + 0.5, 0, 1) * 255
    return u.numpy().astype(np.uint8)


def decode(models, lat):
    f = to_uint8(models["vae"].decode(lat)[0])                     # the reference's causal decode: [3, 93, H, W]
    return [f[:, i].transpose(1, 2, 0) for i in range(f.shape[1])]  # list of [H, W, 3]


def run(models, tracks, boxes, width, height, distilled, steps, st=4.0, sa_=4.0, shift=7.0):
    h, w = height // 8, width // 8
    n = max(len(t) for t in tracks)
    a_frames = max(1, int(n / SR * FPS))
    segments = 1 + max(0, math.ceil((a_frames - SEG) / NEW))
    gen = SEG / FPS + (segments - 1) * NEW / FPS
    added = math.ceil((gen - n / SR) * SR)
    padded = [np.concatenate([t, np.zeros(n - len(t) + max(0, added), np.float32)]) for t in tracks]
    embs = [embedding(models, t) for t in padded]
    pmask = person_masks(boxes, h // 2, w // 2)
    persons = min(len(tracks), 3)
    pos_text = torch.as_tensor(models["text"][0], dtype=torch.float32)[None]
    neg_text = torch.as_tensor(models["text"][1], dtype=torch.float32)[None]
    if distilled:
        raw = fe.distilled_raw(8)
        sig = np.append(fe.shift_f32(raw, shift), np.float32(0))
    else:
        raw = np.linspace(1, 0.001, steps, dtype=np.float32)
        sig = np.append(fe.shift_f32(raw, shift), np.float32(0))
    ts = (sig[:-1] * np.float32(1000)).astype(np.float32)
    hf_ts = np.concatenate([ts[ts > 500], np.linspace(500, 0, 10, dtype=np.float32, endpoint=False)]).astype(np.float32)
    hf_sig = np.append((hf_ts / np.float32(1000)).astype(np.float32), np.float32(0))
    img = portrait(width, height)
    with torch.no_grad():
        ref = models["vae"].encode(img[None, :, None])            # [1,16,1,h,w]
    out_frames, latents, prev = [], [], None
    for s in range(segments):
        start = NEW * s
        al = []
        for e in embs:
            win = fe.frame_windows(start, SEG, 1, e.shape[0])
            f0, u = fe.latent_union(win)
            al.append(e[u])                                        # [23, 8, 5, DA]
        audio_latter = torch.from_numpy(np.stack(al))[None]
        model = lcdit.variant(models["dit"], "first" if s == 0 else "continuation", persons)
        extra = () if pmask is None else (pmask,)
        if s == 0:
            cond = ref
        else:
            ctx = torch.from_numpy(np.stack(prev[-CTX:]).astype(np.float32))  # [13,H,W,3] uint8 values
            ctx = (ctx / 255.0 * 2.0 - 1.0).permute(3, 0, 1, 2)[None]
            with torch.no_grad():
                ctx_lat = models["vae"].encode(ctx)               # [1,16,4,h,w]
            cond = torch.cat([ref, ctx_lat], 2)
        nc = cond.shape[2]
        first_noisy = nc if s == 0 else nc - 1                   # segment index of the first noisy latent
        noisy = torch.from_numpy(np.stack([noise(s, j, h, w) for j in range(first_noisy, SEG_LAT)], 1))[None]
        x = torch.cat([cond, noisy], 2)
        k = x.shape[2]
        if distilled or s == 0:
            sg, tt = (sig, ts)
        else:
            sg, tt = (hf_sig, hf_ts)
        for i in range(len(tt)):
            tvec = torch.cat([torch.zeros(nc), torch.full((k - nc,), float(tt[i]))])
            with torch.no_grad():
                if distilled:
                    out = model(x, tvec[None], pos_text, audio_latter, *extra)
                else:
                    alb = torch.cat([torch.zeros_like(audio_latter), audio_latter, audio_latter], 0)
                    o = []  # one forward per branch (the text embeddings differ in length)
                    for bi, txt in enumerate((neg_text, neg_text, pos_text)):
                        o.append(model(x, tvec[None], txt, alb[bi:bi + 1], *extra))
                    u, ut, c = o
                    out = u + st * (c - ut) + sa_ * (ut - u)
            dt = np.float32(sg[i + 1] - sg[i])
            x = torch.cat([x[:, :, :nc], x[:, :, nc:] + dt * (-out[:, :, nc:])], 2)
        seg_lat = x[:, :, (0 if s == 0 else 1):]                  # drop the reference latent
        latents.append(seg_lat[0].permute(1, 0, 2, 3).numpy())   # [24,16,h,w]
        frames = decode(models, seg_lat)
        prev = frames
        out_frames.extend(frames if s == 0 else frames[CTX:])
    return np.concatenate(latents, 0), out_frames[:a_frames], segments


CASES = [
    # name, seconds, tracks (offset samples), boxes, width, height, distilled, steps
    ("a-one-segment", 2.0, [0], [(0, 0, 1, 1)], 64, 64, True, 8),
    ("b-three-segments", 7.0, [0], [(0, 0, 1, 1)], 64, 64, True, 8),
    ("c-full-guidance", 4.5, [0], [(0, 0, 1, 1)], 64, 64, False, 3),
    ("d-two-speakers", 4.5, [0, 30000], [(0.05, 0.1, 0.4, 0.8), (0.55, 0.1, 0.4, 0.8)], 64, 64, True, 8),
    # two speakers and a silent person (its track all zeros): the reference's third, silent track
    ("e-three-persons", 2.0, [0, 30000, None], [(0.05, 0.1, 0.4, 0.8), (0.55, 0.1, 0.4, 0.8), (0.25, 0, 0.5, 0.25)],
     64, 64, True, 8),
]


def write_noise(h, w, frames=3 * SEG_LAT):
    """noise.f32: the initial noise of global latent index 0..frames-1 ([frames,16,h,w] float32 LE)."""
    allnoise = np.stack([np.random.default_rng([NOISE_SEED, i]).standard_normal((Z, h, w), dtype=np.float32)
                         for i in range(frames)])
    allnoise.astype("<f4").tofile(os.path.join(OUT, "noise.f32"))


@torch.no_grad()
def main():
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT, exist_ok=True)
    import tempfile
    ckpts = tempfile.TemporaryDirectory(prefix="lc-ckpt-")
    tiny.checkpoints(ckpts.name)
    models = tiny.reference_models(ckpts.name)
    write_noise(64 // 8, 64 // 8)
    for name, secs, offsets, boxes, width, height, distilled, steps in CASES:
        n = int(secs * SR)
        tracks = [np.zeros(n, np.float32) if off is None else load_speech(n, off) for off in offsets]
        lat, frames, segments = run(models, tracks, boxes, width, height, distilled, steps)
        for i, t in enumerate(tracks):
            t.astype("<f4").tofile(os.path.join(OUT, f"{name}.track{i}.f32"))
        lat.astype("<f4").tofile(os.path.join(OUT, f"{name}.latents.f32"))
        idx = sorted({0, 1, 50, 92, 93, len(frames) - 1} & set(range(len(frames))))
        np.stack([frames[i] for i in idx]).astype(np.uint8).tofile(os.path.join(OUT, f"{name}.frames.u8"))
        h, w = height // 8, width // 8
        props = {
            "tracks": len(tracks), "samples": n, "boxes": ";".join(",".join(str(v) for v in b) for b in boxes),
            "width": width, "height": height, "distilled": str(distilled).lower(), "steps": steps,
            "segments": segments, "latents": lat.shape[0], "latentShape": f"{lat.shape[0]},{Z},{h},{w}",
            "noise.seed": NOISE_SEED, "frames.count": len(frames), "frames.indices": ",".join(map(str, idx)),
        }
        with open(os.path.join(OUT, f"{name}.properties"), "w") as fh:
            fh.write(f"# LongCat parity case {name}, written by tools/reference_run_longcat.py\n")
            for k, v in props.items():
                fh.write(f"{k}={v}\n")
        print(name, "segments", segments, "latents", lat.shape, "frames", len(frames),
              "latent range", float(lat.min()), float(lat.max()))


if __name__ == "__main__":
    main()
