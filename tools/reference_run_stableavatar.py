#!/usr/bin/python3
"""PyTorch reference run of the whole StableAvatar pipeline on the tiny bundle, for parity tests.

Written from the formulas of docs/REFERENCE.md §1 (StableAvatar) and §4.2/§4.4, not from the
Java engine. `models/stableavatar-tiny/` is a real-architecture export (tools/export_tiny_stableavatar.py)
of the reduced checkpoint `tools/export/tests/fixtures/e2e`; this script builds the same modules from
that checkpoint with the exporter's own PyTorch re-implementations (`a4jexport.stableavatar.{wav2vec2,
clip,vae,dit}`, each checked against the REFERENCE modules' forward to <= 1e-4 by tools/export/test) and
runs them directly: Wan's DiT with full self-attention and the audio adapter, Wan's VAE (whole-clip
encode, the reference's frame-by-frame decode with its 32 causal caches and the first frame's
'Rep' path), CLIP's ViT, wav2vec2. ONNX Runtime is not used. The prompt embeddings are the bundle's
(umT5's, precomputed by the exporter and checked against the reference embeddings).

Pipeline (float32 throughout; the reference runs the DiT in bf16):
  1. portrait -> PIL resize((W, H)) with BICUBIC (Pillow's default) -> x/255*2-1          (§1.2)
  2. CLIP: torch bicubic (align_corners=False) to the encoder's size S (224 published, 32 here),
     *0.5+0.5, OpenAI mean/std, image encoder
  3. y = [mask(4) ; VAE-encode([ref, 0 x 80])]: mask is 1 on latent frame 0                 (§1.2)
  4. text: bundle's negative / default embeddings, zero-padded to text.maxTokens rows (the DiT's
     text_len); branches [neg, neg, pos]
  5. audio: T = (floor(N/640) - 1)//4 + 1; per window: slice (84 frames; last window: "corrected" =
     a full 84-frame slice zero-padded past the end [the engine's default], or "reference" = to the
     end of the audio), wav2vec2 normalisation (population var, eps 1e-7, float32), audio encoder,
     index table of §1.1 step 7 (21 slots from a clip of 81 frames, zeros appended at the end)
  6. schedule: diffusers 0.30.1 FlowMatchEulerDiscreteScheduler, shift 5 (applied twice)   (§1.3)
  7. DWSW lock-step (§1.5 pseudocode, windows F=21, overlap 5, log weights), with the engine's fix
     for T <= 21 (one window [0, T)); guided velocity v_u + s_a(v_a - v_u) + s_t(v_c - v_a),
     batch [neg/gate 0, neg/gate 1, pos/gate 1]; Euler x += (sigma_{i+1} - sigma_i) v; blend after
     the Euler step, never for window 0 nor at step 0; the later window overwrites.
  8. streaming VAE decode (latent frame 0 without caches: 1 pixel frame and the initial caches;
     every later frame with the previous caches: 4 pixel frames), uint8 by truncation of
     clamp(x/2+0.5, 0, 1)*255                                                              (§1.7)

The initial noise is drawn with numpy (one generator per latent frame, seeded [noise_seed, t]) and
stored with the results, so the Java test injects it.

Usage:
  /usr/bin/python3 tools/reference_run_stableavatar.py                 # writes the goldens
  /usr/bin/python3 tools/reference_run_stableavatar.py --verbose       # + per-window/step stats
  /usr/bin/python3 tools/reference_run_stableavatar.py --out DIR --check-only

Goldens (default --out sdk-runtime-onnx/src/test/resources/parity/stableavatar/):
  speech.audio.f32  the 16 kHz mono speech, float32 little-endian; a case uses its first
                    `audio.samples` samples (hello.wav as int16/32768, zero-padded to the longest case)
  noise.f32         the initial noise [T_max, 16, h, w], float32 LE; frame t depends only on t, so a
                    case with T latent frames uses the first T frames
  NAME.properties   parameters, shapes and file names of case NAME (read by StableAvatarParityTest)
  NAME.latents.f32  the final latents [T, 16, h, w], float32 LE
  NAME.frames.u8    the decoded RGB24 frames listed in `frames.indices`, [n, H, W, 3] uint8
"""

import argparse
import json
import os
import struct
import sys
import wave

import numpy as np
import torch
import torch.nn.functional as Fn
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "export"))
from a4jexport.checkpoint import open_checkpoint  # noqa: E402
from a4jexport.stableavatar import clip as clip_part, dit as dit_part, vae as vae_part  # noqa: E402
from a4jexport.stableavatar import wav2vec2 as w2v_part  # noqa: E402

BUNDLE = os.path.join(ROOT, "models", "stableavatar-tiny")
CHECKPOINT = os.path.join(HERE, "export", "tests", "fixtures", "e2e")   # what the tiny bundle is exported from
WAN = os.path.join(CHECKPOINT, "Wan2.1-Fun-V1.1-1.3B-InP")
PORTRAIT = "examples/media/portrait.png"
SPEECH = "examples/media/hello.wav"
DEFAULT_OUT = os.path.join(ROOT, "sdk-runtime-onnx", "src", "test", "resources", "parity", "stableavatar")

# --- constants of the reference (docs/REFERENCE.md §1) -----------------------------------------
SR = 16000
FPS = 25
SAMPLES_PER_FRAME = SR // FPS          # 640
TEMPORAL_STRIDE = 4
SPATIAL_STRIDE = 8
CLIP_FRAMES = 81                       # clip_sample_n_frames
F_WIN = (CLIP_FRAMES - 1) // 4 + 1     # 21 latent frames per window
SLICE_FRAMES = 84                      # window_latents * 4 (HEAD after PR #37)
OVERLAP = 5
Z = 16
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
TRAIN_T = 1000
SHIFT = 5.0

# The cases: the first `seconds` of the speech, and the last window's audio slicing.
CASES = [
    dict(name="a-short", seconds=2.0, tail="corrected",
         description="audio shorter than one window: 2.0 s -> T=13, one window [0,13) "
                     "(the reference runs no window at all for T<21)"),
    dict(name="b-one-window", seconds=3.3, tail="corrected",
         description="exactly one full window: 3.3 s -> T=21, one window [0,21) "
                     "(the reference loops forever for T=21)"),
    dict(name="c-two-windows", seconds=5.0, tail="corrected",
         description="two windows, short last one: 5.0 s -> T=32, windows [0,21) and [16,32)"),
    dict(name="d-two-windows-reference-tail", seconds=5.0, tail="reference",
         description="as c-two-windows but the last window's audio runs to the end of the file "
                     "(window.tail = reference, the reference code's slicing)"),
    dict(name="e-three-windows", seconds=6.0, tail="corrected",
         description="three windows, a middle one blended and overwritten and a 6-frame last one: "
                     "6.0 s (hello.wav + 0.1 s of zeros) -> T=38, windows [0,21), [16,37), [32,38)"),
]


# --- inputs ----------------------------------------------------------------------------------------

def load_speech(n):
    """The first n samples of examples/media/hello.wav (16-bit PCM mono 16 kHz, 94 420 samples) as
    float32 /32768, zero-padded past its end."""
    with wave.open(os.path.join(ROOT, SPEECH), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == SR
        raw = w.readframes(w.getnframes())
    pcm = np.frombuffer(raw, dtype="<i2")[:n]
    out = np.zeros(n, dtype=np.float32)
    out[:pcm.size] = pcm.astype(np.float32) / np.float32(32768.0)
    return out


def load_reference_image(width, height):
    """§1.2: PIL resize to exactly (W, H) with Pillow's default BICUBIC, then x/255*2-1 (float32)."""
    img = Image.open(os.path.join(ROOT, PORTRAIT)).convert("RGB")
    img = img.resize((width, height), Image.BICUBIC)
    px = np.asarray(img, dtype=np.uint8)                                   # [H, W, 3]
    x = px.astype(np.float32) / np.float32(255.0) * np.float32(2.0) - np.float32(1.0)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))  # [3, H, W]


def initial_noise(noise_seed, t_frames, h, w):
    """[T, 16, h, w]: frame t from numpy's default_rng([noise_seed, t]) (standard normal, float32)."""
    out = np.empty((t_frames, Z, h, w), dtype=np.float32)
    for t in range(t_frames):
        out[t] = np.random.default_rng([noise_seed, t]).standard_normal((Z, h, w), dtype=np.float32)
    return out


def read_safetensors(path, name="embeddings"):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    e = header[name]
    assert e["dtype"] == "F32"
    a, b = e["data_offsets"]
    return np.frombuffer(data[a:b], dtype="<f4").reshape(e["shape"]).copy()


def padded_text(path, rows):
    """§1.2 Text: the true-length [L, Dt] embedding zero-padded back to `rows` (text.maxTokens) rows."""
    e = read_safetensors(path)
    assert 1 <= e.shape[0] <= rows, (path, e.shape, rows)
    out = np.zeros((rows, e.shape[1]), dtype=np.float32)
    out[:e.shape[0]] = e
    return torch.from_numpy(out)


# --- the modules (the exporter's re-implementations, built from the checkpoint the bundle came from) ---

def build_models():
    """name -> callable, the torch modules of the bundle's graphs."""
    wdir = os.path.join(CHECKPOINT, "wav2vec2-base-960h")
    sd, cfg = w2v_part.load(wdir)
    audio = w2v_part.build(sd, config=cfg)
    clip_file = "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth"
    image = clip_part.build(open_checkpoint(os.path.join(WAN, clip_file)), source=clip_file)
    vae = vae_part.build(open_checkpoint(os.path.join(WAN, "Wan2.1_VAE.pth")))
    dit = dit_part.build(open_checkpoint(os.path.join(WAN, "diffusion_pytorch_model.safetensors")),
                         config=os.path.join(WAN, "config.json"),
                         transformer=open_checkpoint(os.path.join(CHECKPOINT, "StableAvatar-1.3B",
                                                                  "transformer3d-square.pt")))
    return {"audio-encoder": audio, "image-encoder": image, "vae": vae, "dit": dit}


# --- schedule (diffusers 0.30.1 FlowMatchEulerDiscreteScheduler, shift applied twice) ---------------

def flow_match_schedule(steps, shift=SHIFT, train=TRAIN_T):
    # __init__: float32 table k = 1000..1, shifted once
    ts = torch.from_numpy(np.linspace(1, train, train, dtype=np.float32)[::-1].copy()).to(torch.float32)
    s = ts / train
    s = shift * s / (1 + (shift - 1) * s)
    sigma_max, sigma_min = s[0].item(), s[-1].item()
    # set_timesteps: float64 linspace of sigma*1000, /1000, shifted again, cast to float32
    t = np.linspace(sigma_max * train, sigma_min * train, steps)
    sig = t / train
    sig = shift * sig / (1 + (shift - 1) * sig)
    sig = torch.from_numpy(sig).to(torch.float32)
    timesteps = sig * train
    sigmas = torch.cat([sig, torch.zeros(1)])
    return sigmas, timesteps


def check_schedule():
    """Appendix A block A."""
    _, t10 = flow_match_schedule(10)
    expect = [1000., 975.743, 946.27295, 909.70715, 863.13196, 801.7857, 717.31744, 593.6192, 395.09537,
              24.414066]
    assert np.allclose(t10.numpy(), expect, rtol=0, atol=2e-3), t10
    s50, t50 = flow_match_schedule(50)
    assert abs(s50[-2].item() - 0.02441407) < 1e-7 and abs(t50[1].item() - 995.8716) < 1e-3


# --- windows, weights, audio ---------------------------------------------------------------------

def latent_frames(n_samples):
    """§1.1 step 3: T = (floor(N/640) - 1)//4 + 1."""
    return (n_samples // SAMPLES_PER_FRAME - 1) // TEMPORAL_STRIDE + 1


def window_layout(t_frames, f=F_WIN, o=OVERLAP):
    """§1.5 pseudocode; T <= F (the reference runs nothing for T < 21 and hangs at T = 21) gives one
    window [0, T), the engine's fix."""
    if t_frames <= f:
        return [(0, t_frames)]
    out = []
    start, end, last = 0, f, False
    while end <= t_frames:
        out.append((start, end))
        if last:
            break
        if end != t_frames:
            start += f - o
            if start + f < t_frames:
                end = start + f
            else:
                end = t_frames
                last = True
    return out


def log_weights(o=OVERLAP):
    """§1.5: w_j = ln(1 + (e-1) j/(O-1)) then min-max normalised (torch float32), weight of the NEW window."""
    x = torch.linspace(0, 1, o)
    w = torch.log1p(x * (torch.exp(torch.tensor(1.0)) - 1))
    return (w - w.min()) / (w.max() - w.min())


def wav2vec2_normalize(x):
    """§4.2 / transformers 4.51.3 zero_mean_unit_var_norm on a float32 numpy slice."""
    x = np.asarray(x, dtype=np.float32)
    return (x - x.mean()) / np.sqrt(x.var() + 1e-7)


def w2v_tokens(n):
    for k, s in zip((10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2)):
        n = (n - k) // s + 1
    return n


def audio_slice(samples, start, end, t_frames, tail):
    """§1.1 step 4: a full window's audio (84 frames) from latent `start`; the last window takes the
    rest of the file ("reference") or a full 84-frame slice zero-padded past the end ("corrected")."""
    a = start * TEMPORAL_STRIDE * SAMPLES_PER_FRAME
    last = end == t_frames
    b = len(samples) if (last and tail == "reference") else a + SLICE_FRAMES * SAMPLES_PER_FRAME
    out = np.zeros(b - a, dtype=np.float32)
    avail = max(0, min(b, len(samples)) - a)
    out[:avail] = samples[a:a + avail]
    return out


def audio_index_table(L, slots=F_WIN, num_frames=CLIP_FRAMES, expand=4):
    """§1.1 step 7 (split_audio_sequence + split_tensor_with_padding): per latent slot the token
    indices of its window, valid ones first, then -1 for every missing position (zeros appended at
    the end, also for tokens missing before index 0)."""
    tpf = L / num_frames
    half = int(tpf * 4 / 2)
    ranges = []
    for i in range(slots):
        if i == 0:
            c = 0
        else:
            c = int((tpf * (4 * (i - 1) + 1) + tpf * (4 * i + 1)) / 2) - 1
        ranges.append([c - half, c + half])
    r1 = ranges[1][0]
    ranges[0] = [r1 - 2 * half, r1]
    width = 2 * half + 1 + 2 * expand
    table = np.full((slots, width), -1, dtype=np.int64)
    for i, (s, e) in enumerate(ranges):
        s, e = s - expand, e + expand
        valid = list(range(max(s, 0), min(e, L - 1) + 1))
        table[i, :len(valid)] = valid
    return table


# --- the run ---------------------------------------------------------------------------------------

def to_uint8(frames):
    """§1.7: (x/2+0.5).clamp(0,1), *255, astype(uint8) (truncation), float32."""
    u = torch.clamp(frames / 2 + 0.5, 0, 1) * 255
    return u.numpy().astype(np.uint8)


def run_case(models, samples, noise, width, height, steps, tail, st, sa, text_rows, verbose=False):
    torch.manual_seed(0)
    h, w = height // SPATIAL_STRIDE, width // SPATIAL_STRIDE
    t_frames = latent_frames(len(samples))
    assert noise.shape == (t_frames, Z, h, w)
    windows = window_layout(t_frames)

    # image conditioning
    ref = load_reference_image(width, height)                                # [3, H, W]
    size = models["image-encoder"].image_size
    pix = Fn.interpolate(ref[None], size=(size, size), mode="bicubic", align_corners=False)
    pix = pix * 0.5 + 0.5
    pix = (pix - torch.tensor(CLIP_MEAN).reshape(1, 3, 1, 1)) / torch.tensor(CLIP_STD).reshape(1, 3, 1, 1)
    assert torch.allclose(pix, clip_part.preprocess(ref, size))              # the exporter's own
    clip = models["image-encoder"](pix)                                       # [1, 257, Dc]
    video = torch.zeros(1, 3, CLIP_FRAMES, height, width)
    video[:, :, 0] = ref
    lat = models["vae"].encode_whole(video)                                   # [1, 16, 21, h, w]
    m = torch.zeros(CLIP_FRAMES)
    m[0] = 1
    m = torch.cat([m[:1].repeat(4), m[1:]])                                   # 84 values
    mask = m.reshape(F_WIN, 4).transpose(0, 1)[None, :, :, None, None].expand(1, 4, F_WIN, h, w)
    y = torch.cat([mask, lat], 1)                                             # [1, 20, 21, h, w]

    # text: branches [neg, neg, pos]
    neg = padded_text(os.path.join(BUNDLE, "text_negative.safetensors"), text_rows)
    pos = padded_text(os.path.join(BUNDLE, "text_default.safetensors"), text_rows)
    context = torch.stack([neg, neg, pos])
    clip3 = clip.expand(3, -1, -1)
    gate = torch.tensor([0.0, 1.0, 1.0])

    # audio per window (deterministic, so computed once per window)
    audio = {}
    for (s, e) in windows:
        sl = audio_slice(samples, s, e, t_frames, tail)
        tokens = models["audio-encoder"](torch.from_numpy(wav2vec2_normalize(sl))[None])
        L = tokens.shape[1]
        assert L == w2v_tokens(len(sl))
        idx = audio_index_table(L)
        audio[(s, e)] = (tokens, torch.from_numpy(idx))
        if verbose:
            print(f"  window [{s},{e}): audio samples [{s * 2560},{s * 2560 + len(sl)}) n={len(sl)} L={L} "
                  f"W={idx.shape[1]} tokens sum={tokens.sum().item():.6f}")

    sigmas, timesteps = flow_match_schedule(steps)
    weights = log_weights()
    latents = torch.from_numpy(noise).permute(1, 0, 2, 3).contiguous()       # [16, T, h, w]
    dit = models["dit"]
    for i in range(steps):
        fused = torch.zeros_like(latents)
        prev_end = None
        for wi, (s, e) in enumerate(windows):
            k = e - s
            x = latents[:, s:e]
            tokens, idx = audio[(s, e)]
            v = dit(x[None].expand(3, -1, -1, -1, -1), timesteps[i].repeat(3), context, clip3,
                    y[:, :, :k].expand(3, -1, -1, -1, -1), tokens, idx, gate)
            v_u, v_a, v_c = v[0], v[1], v[2]
            vg = v_u + sa * (v_a - v_u) + st * (v_c - v_a)
            x = x + (sigmas[i + 1] - sigmas[i]) * vg
            if wi != 0 and i != 0:
                for j in range(OVERLAP):
                    x[:, j] = weights[j] * x[:, j] + (1 - weights[j]) * fused[:, prev_end - OVERLAP + j]
            fused[:, s:e] = x
            prev_end = e
            if verbose:
                print(f"  step {i} t={timesteps[i].item():.4f} window [{s},{e}): |v|max={vg.abs().max().item():.5f} "
                      f"x sum={x.sum().item():.6f} x[0,0,0,0]={x[0, 0, 0, 0].item():.7f}")
        latents = fused
    final = latents.permute(1, 0, 2, 3).contiguous()                          # [T, 16, h, w]

    # streaming decode
    vae = models["vae"]
    caches = None                                                             # frame 0: the 'Rep' path
    frames = []
    for t in range(t_frames):
        fr, caches = vae.decode_frame(final[t][None, :, None], caches)
        fr = fr[0]                                                            # [3, n, H, W]
        assert fr.shape[1] == (1 if t == 0 else 4)
        for j in range(fr.shape[1]):
            frames.append(to_uint8(fr[:, j]).transpose(1, 2, 0))              # [H, W, 3]
    assert len(frames) == (t_frames - 1) * 4 + 1
    return dict(t_frames=t_frames, windows=windows, latents=final.numpy(), frames=frames,
                sigmas=sigmas.numpy(), timesteps=timesteps.numpy())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--height", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--text-guidance", type=float, default=3.0, help="s_t (the bundle's default)")
    ap.add_argument("--audio-guidance", type=float, default=5.0, help="s_a (the bundle's default)")
    ap.add_argument("--noise-seed", type=int, default=1234)
    ap.add_argument("--verbose", action="store_true", help="print per-window / per-step values")
    ap.add_argument("--check-only", action="store_true", help="run and compare with the goldens in --out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    check_schedule()
    assert [window_layout(t) for t in (13, 21, 25, 32, 38)] == \
        [[(0, 13)], [(0, 21)], [(0, 21), (16, 25)], [(0, 21), (16, 32)], [(0, 21), (16, 37), (32, 38)]]
    assert np.allclose(log_weights().numpy(), [0, 0.357374, 0.620115, 0.827989, 1], atol=1e-6)
    assert np.allclose(wav2vec2_normalize([0, .5, -.5, 1]), [-0.4472135, 0.4472135, -1.3416406, 1.3416406])

    with open(os.path.join(BUNDLE, "avatar-bundle.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    assert manifest["sampler"]["shift"] == SHIFT and manifest["window"] == {"overlap": OVERLAP, "weights": "log"}
    assert manifest["guidance"] == {"type": "text-audio", "text": 3.0, "audio": 5.0}
    assert manifest["audio"]["sliceFrames"] == SLICE_FRAMES
    assert "vae-decoder-first" in manifest["graphs"], "the tiny bundle is a real-architecture export"
    text_rows = manifest["text"]["maxTokens"]

    models = build_models()
    os.makedirs(args.out, exist_ok=True)
    width, height, steps = args.width, args.height, args.steps
    h, w = height // SPATIAL_STRIDE, width // SPATIAL_STRIDE
    worst, worst_pixel = 0.0, 0
    n_max = max(int(round(c["seconds"] * SR)) for c in CASES)
    speech = load_speech(n_max)
    noise_all = initial_noise(args.noise_seed, latent_frames(n_max), h, w)
    if not args.check_only:
        for f in os.listdir(args.out):
            if f.endswith((".f32", ".u8", ".properties")):
                os.remove(os.path.join(args.out, f))
        speech.astype("<f4").tofile(os.path.join(args.out, "speech.audio.f32"))
        noise_all.astype("<f4").tofile(os.path.join(args.out, "noise.f32"))
    with torch.no_grad():
        for case in CASES:
            name = case["name"]
            n = int(round(case["seconds"] * SR))
            samples = speech[:n]
            t_frames = latent_frames(n)
            noise = noise_all[:t_frames]
            assert np.array_equal(noise, initial_noise(args.noise_seed, t_frames, h, w))
            print(f"case {name}: {n} samples, T={t_frames}, windows {window_layout(t_frames)}, tail {case['tail']}")
            r = run_case(models, samples, noise, width, height, steps, case["tail"], args.text_guidance,
                         args.audio_guidance, text_rows, args.verbose)
            n_frames = len(r["frames"])
            indices = sorted({0, 1, 4, n_frames // 2, n_frames - 1})
            frames = np.stack([r["frames"][k] for k in indices])
            files = dict(latents=f"{name}.latents.f32", frames=f"{name}.frames.u8")
            print(f"  sigmas {r['sigmas']} timesteps {r['timesteps']}; latents |max| "
                  f"{np.abs(r['latents']).max():.4f}; {n_frames} frames")
            if args.check_only:
                old = np.fromfile(os.path.join(args.out, files["latents"]), dtype="<f4").reshape(r["latents"].shape)
                d = float(np.abs(old - r["latents"]).max())
                fo = np.fromfile(os.path.join(args.out, files["frames"]), dtype=np.uint8).reshape(frames.shape)
                fd = int(np.abs(fo.astype(int) - frames.astype(int)).max())
                worst, worst_pixel = max(worst, d), max(worst_pixel, fd)
                print(f"  vs stored goldens: latents max |diff| {d:.3g}, frames max |diff| {fd}")
                continue
            r["latents"].astype("<f4").tofile(os.path.join(args.out, files["latents"]))
            frames.astype(np.uint8).tofile(os.path.join(args.out, files["frames"]))
            props = [
                f"# StableAvatar parity case {name}, written by tools/reference_run_stableavatar.py",
                f"# {case['description']}",
                f"description={case['description']}",
                f"image={PORTRAIT}",
                f"audio.source={SPEECH} as int16/32768, zero-padded past its end",
                "audio.file=speech.audio.f32",
                f"audio.samples={n}",
                f"audio.sampleRate={SR}",
                f"width={width}",
                f"height={height}",
                f"steps={steps}",
                f"textGuidance={args.text_guidance}",
                f"audioGuidance={args.audio_guidance}",
                f"tail={case['tail']}",
                f"latentFrames={t_frames}",
                f"latentShape={t_frames},{Z},{h},{w}",
                "windows=" + ";".join(f"{s}-{e}" for s, e in r["windows"]),
                "sigmas=" + ",".join(repr(float(x)) for x in r["sigmas"]),
                f"noise.seed={args.noise_seed}",
                "noise.file=noise.f32",
                f"latents.file={files['latents']}",
                f"frames.count={n_frames}",
                "frames.indices=" + ",".join(str(k) for k in indices),
                f"frames.file={files['frames']}",
            ]
            with open(os.path.join(args.out, f"{name}.properties"), "w", encoding="utf-8") as f:
                f.write("\n".join(props) + "\n")
    if args.check_only:
        print(f"vs stored goldens: worst latent diff {worst:.3g}, worst pixel diff {worst_pixel}")
        return 1 if worst > 0 or worst_pixel > 0 else 0
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"wrote goldens to {args.out} ({total} bytes)")
    return 0

if __name__ == "__main__":
    sys.exit(main())
