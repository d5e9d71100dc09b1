"""DiT exporter tests: the reduced reference checkpoint (fixtures/dit, made by
reference/dit_goldens.py from StableAvatar's own modules) -> our module -> goldens, ONNX export of
both attention variants to $A4J_EXPORT_OUT/dit/, and the reference semantics a port gets wrong."""
import glob
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from a4jexport.stableavatar import dit  # noqa: E402

FIX = os.path.join(HERE, "fixtures", "dit")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
TOL = 1e-4


def _read_safetensors(path):
    try:
        from a4jexport.checkpoint import open_checkpoint
        return open_checkpoint(path)
    except ImportError:
        pass
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for key, v in header.items():
        if key == "__metadata__":
            continue
        assert v["dtype"] == "F32", v
        a, b = v["data_offsets"]
        out[key] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4")
                                    .reshape(v["shape"]).copy())
    return out


def _read_pt(path):
    try:
        from a4jexport.checkpoint import open_checkpoint
        return open_checkpoint(path)
    except ImportError:
        return torch.load(path, map_location="cpu")


def load_cases(cases_dir=FIX):
    cases, cur = [], None
    with open(os.path.join(cases_dir, "cases.txt")) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "case":
                cur = {"graph": p[1], "in": {}, "out": {}}
                cases.append(cur)
                continue
            shape = [int(s) for s in p[3].split(",")]
            arr = np.fromfile(os.path.join(cases_dir, p[4]), dtype="<i8" if p[2] == "int64" else "<f4")
            cur[p[0]][p[1]] = torch.from_numpy(arr.reshape(shape))
    return cases


def args_of(case):
    return tuple(case["in"][n] for n in dit.INPUT_NAMES)


def rel_err(got, ref):
    return (got - ref).abs().max().item() / max(1.0, ref.abs().max().item())


_MODEL = {}


def model():
    if "m" not in _MODEL:
        _MODEL["m"] = dit.build(_read_safetensors(os.path.join(FIX, "diffusion_pytorch_model.safetensors")),
                                os.path.join(FIX, "config.json"),
                                transformer=_read_pt(os.path.join(FIX, "transformer3d-square.pt")))
    return _MODEL["m"]


def export_dir():
    base = os.environ.get("A4J_EXPORT_OUT")
    if not base:
        base = _MODEL.setdefault("tmp", tempfile.mkdtemp(prefix="a4j-dit-"))
    out = os.path.join(base, "dit")
    os.makedirs(out, exist_ok=True)
    return out


def export(ge, out_dir):
    path = os.path.join(out_dir, ge.file)
    with torch.no_grad():
        torch.onnx.export(ge.module, tuple(ge.args), path, input_names=ge.input_names,
                          output_names=ge.output_names, dynamic_axes=ge.dynamic_axes, opset_version=17,
                          custom_opsets={"com.microsoft": 1})
    return path


class GoldenTest(unittest.TestCase):
    def test_reference_goldens_both_attention_variants(self):
        m = model()
        cases = load_cases()
        self.assertEqual(len(cases), 3)
        for case in cases:
            for mode in ("plain", "mha"):
                with torch.no_grad(), dit.attention_mode(mode):
                    got = m(*args_of(case))
                ref = case["out"]["velocity"]
                self.assertEqual(tuple(got.shape), tuple(ref.shape))
                self.assertLessEqual(rel_err(got, ref), TOL, f"{mode} {tuple(ref.shape)}")

    def test_dimensions_come_from_the_checkpoint(self):
        m = model()
        self.assertEqual((m.dim, m.heads, len(m.blocks), m.in_dim, m.out_dim, m.freq_dim, m.text_len),
                         (32, 2, 2, 36, 16, 32, 10))
        self.assertEqual(m.patch, (1, 2, 2))
        self.assertEqual(len(m.adapter.blocks), 2)
        self.assertEqual(m.adapter.proj.wshape, (32, 48))

    def test_reference_eps_values(self):
        m = model()
        blk, ab = m.blocks[0], m.adapter.blocks[0]
        self.assertEqual([blk.norm1.eps, blk.norm2.eps, blk.norm3.eps, blk.self_attn.norm_q.eps,
                          blk.cross_attn.norm_k_img.eps, m.head_norm.eps], [1e-6] * 6)
        self.assertEqual([ab.norm1.eps, ab.norm3.eps, ab.norm_q.eps, ab.norm_k.eps, m.adapter.head_norm.eps],
                         [1e-6] * 5)
        self.assertEqual([m.adapter.proj_norm.eps, m.img_norm0.eps, m.img_norm4.eps], [1e-5] * 3)


class SemanticsTest(unittest.TestCase):
    def setUp(self):
        self.m = model()
        self.case = load_cases()[1]          # B=3, k=2 < F=4

    def run_model(self, **changes):
        a = dict(self.case["in"])
        a.update(changes)
        with torch.no_grad():
            return self.m(*(a[n] for n in dit.INPUT_NAMES))

    def test_gate_zero_branch_does_not_depend_on_audio(self):
        base = self.run_model()
        other = self.run_model(audio_tokens=torch.randn_like(self.case["in"]["audio_tokens"]))
        self.assertTrue(torch.equal(base[0], other[0]))
        self.assertGreater((base[1] - other[1]).abs().max().item(), 1e-2)
        self.assertGreater((base[2] - other[2]).abs().max().item(), 1e-2)

    def test_gate_multiplies_the_adapter_output(self):
        base = self.run_model()
        no_audio = self.run_model(audio_gate=torch.zeros(3))
        self.assertTrue(torch.equal(base[0], no_audio[0]))
        self.assertGreater((base[2] - no_audio[2]).abs().max().item(), 1e-2)

    def test_adapter_reads_the_last_branch_only(self):
        base = self.run_model()
        x = self.case["in"]["x"].clone()
        x[0] += 1.0
        changed = self.run_model(x=x)
        self.assertTrue(torch.equal(base[1], changed[1]))
        self.assertTrue(torch.equal(base[2], changed[2]))
        self.assertFalse(torch.equal(base[0], changed[0]))
        x = self.case["in"]["x"].clone()
        x[2] += 1.0
        changed = self.run_model(x=x)
        self.assertFalse(torch.equal(base[1], changed[1]))   # branch 1 hears branch 2's adapter

    def test_padding_slots_are_exact_zeros_after_projection(self):
        ad = self.m.adapter
        tokens, index = self.case["in"]["audio_tokens"], self.case["in"]["audio_index"]
        self.assertTrue((index < 0).any())
        with torch.no_grad():
            proj = ad.proj_norm(ad.proj(tokens))[0]
            captured = {}

            def keep(mod, inp):
                captured["x"] = inp[0]
            hook = ad.blocks[0].register_forward_pre_hook(keep)
            try:
                ad(tokens, index, torch.zeros(1, index.shape[0] * 4, self.m.dim), torch.zeros(1, 6, self.m.dim),
                   torch.zeros(1, self.m.dim))
            finally:
                hook.remove()
        win = captured["x"].reshape(index.shape[0], index.shape[1], -1)
        self.assertTrue(torch.equal(win[index < 0], torch.zeros_like(win[index < 0])))
        self.assertTrue(torch.equal(win[index >= 0], proj[index[index >= 0]]))
        self.assertGreater(ad.proj_norm(torch.zeros(1, self.m.dim)).abs().max().item(), 0.0)  # LN(0) != 0

    def test_token_sequence_is_padded_to_F_frames(self):
        # k < F: the padding frames take part in self-attention, so fewer frames change the result
        index = self.case["in"]["audio_index"]
        k = self.case["in"]["x"].shape[2]
        self.assertLess(k, index.shape[0])
        base = self.run_model()
        short = self.run_model(audio_index=index[:k].contiguous())
        self.assertEqual(short.shape, base.shape)
        self.assertGreater((base - short).abs().max().item(), 1e-3)

    def test_text_is_padded_to_text_len(self):
        ctx = self.case["in"]["context"][:, :6]
        padded = torch.cat([ctx, torch.zeros(3, 4, ctx.shape[2])], dim=1)
        self.assertTrue(torch.allclose(self.run_model(context=ctx), self.run_model(context=padded), atol=1e-5))

    def test_rope_matches_complex_reference(self):
        """_rope/_rope_tables against the reference's complex rope_apply (written here with
        torch.polar: fine at test time, not exportable)."""
        m = self.m
        d = m.dim // m.heads
        c = d // 2
        k, h, w, frames = 3, 2, 5, 4

        def params(ad):
            f = torch.outer(torch.arange(1024), 1.0 / torch.pow(10000, torch.arange(0, ad, 2).to(torch.float64).div(ad)))
            return torch.polar(torch.ones_like(f), f)
        freqs = torch.cat([params(d - 4 * (d // 6)), params(2 * (d // 6)), params(2 * (d // 6))], dim=1)
        fs = freqs.split([c - 2 * (c // 3), c // 3, c // 3], dim=1)
        seq = k * h * w
        x = torch.randn(2, frames * h * w, m.heads, d)
        xi = torch.view_as_complex(x[:, :seq].to(torch.float64).reshape(2, seq, m.heads, -1, 2))
        fi = torch.cat([fs[0][:k].view(k, 1, 1, -1).expand(k, h, w, -1),
                        fs[1][:h].view(1, h, 1, -1).expand(k, h, w, -1),
                        fs[2][:w].view(1, 1, w, -1).expand(k, h, w, -1)], dim=-1).reshape(seq, 1, -1)
        ref = torch.cat([torch.view_as_real(xi * fi).flatten(3).float(), x[:, seq:]], dim=1)
        cos, sin = m._rope_tables(k, h, w, frames)
        got = dit._rope(x.reshape(2, frames * h * w, -1), cos, sin, m.heads).reshape(ref.shape)
        self.assertLess((got - ref).abs().max().item(), 1e-5)
        self.assertTrue(torch.equal(got[:, seq:], x[:, seq:]))   # padding tokens are not rotated


class CheckpointTest(unittest.TestCase):
    def test_stableavatar_file_overrides_the_base(self):
        base = _read_safetensors(os.path.join(FIX, "diffusion_pytorch_model.safetensors"))
        pt = torch.load(os.path.join(FIX, "transformer3d-square.pt"), map_location="cpu")
        key = "blocks.0.self_attn.q.weight"
        self.assertFalse(torch.equal(base[key], pt[key]))
        sd = dit.layered(base, {"state_dict": pt})
        self.assertTrue(torch.equal(sd[key], pt[key]))
        partial = {k: v for k, v in pt.items() if k != key}
        self.assertTrue(torch.equal(dit.layered(base, partial)[key], base[key]))
        case = load_cases()[2]
        with torch.no_grad():
            got = dit.build(base, os.path.join(FIX, "config.json"), transformer={"state_dict": pt})(*args_of(case))
        self.assertLessEqual(rel_err(got, case["out"]["velocity"]), TOL)

    def test_missing_key_names_key_and_files(self):
        base = _read_safetensors(os.path.join(FIX, "diffusion_pytorch_model.safetensors"))
        pt = torch.load(os.path.join(FIX, "transformer3d-square.pt"), map_location="cpu")
        pt = {k: v for k, v in pt.items() if not k.startswith("vocal_projector.blocks.1.cross_attn.norm_k")}
        with self.assertRaises(KeyError) as cm:
            dit.build(base, os.path.join(FIX, "config.json"), transformer=pt)
        msg = str(cm.exception)
        self.assertIn("vocal_projector.blocks.1.cross_attn.norm_k.weight", msg)
        self.assertIn("transformer3d-square.pt", msg)
        self.assertIn("diffusion_pytorch_model.safetensors", msg)

    def test_config_must_agree_with_shapes(self):
        base = _read_safetensors(os.path.join(FIX, "diffusion_pytorch_model.safetensors"))
        pt = torch.load(os.path.join(FIX, "transformer3d-square.pt"), map_location="cpu")
        with open(os.path.join(FIX, "config.json")) as f:
            cfg = json.load(f)
        cfg["dim"] = 64
        with self.assertRaises(ValueError):
            dit.build(base, cfg, transformer=pt)
        del cfg["num_heads"]
        with self.assertRaisesRegex(KeyError, "num_heads"):
            dit.build(base, cfg, transformer=pt)

    def test_parameter_count_formula_matches_the_module(self):
        m = model()
        with open(os.path.join(FIX, "config.json")) as f:
            cfg = json.load(f)
        n = sum(p.numel() for p in m.parameters())
        self.assertEqual(dit.parameter_count(cfg, text_dim=24, clip_dim=40, audio_dim=48), n)


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.out = export_dir()
        cls.paths = {}
        for mode in ("plain", "mha"):
            ge = dit.graphs(model(), attention=mode)[0]
            cls.paths[mode] = export(ge, cls.out)
        # tools/export/test checks fixtures/dit/cases.txt (dit.onnx) on this folder, and any
        # cases.txt written here: the MultiHeadAttention variant's cases, with absolute tensor paths
        lines = []
        with open(os.path.join(FIX, "mha", "cases.txt")) as f:
            for line in f:
                p = line.split()
                if p and p[0] != "case":
                    p[4] = os.path.normpath(os.path.join(FIX, "mha", p[4]))
                lines.append(" ".join(p))
        with open(os.path.join(cls.out, "cases.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def test_files_and_checker(self):
        import onnx
        self.assertEqual(os.path.basename(self.paths["plain"]), "dit.onnx")
        self.assertEqual(os.path.basename(self.paths["mha"]), "dit_mha.onnx")
        for mode, path in self.paths.items():
            mp = onnx.load(path)
            onnx.checker.check_model(mp)
            ops = {n.op_type for n in mp.graph.node}
            self.assertEqual([i.name for i in mp.graph.input], dit.INPUT_NAMES)
            self.assertEqual([o.name for o in mp.graph.output], ["velocity"])
            elem = {i.name: i.type.tensor_type.elem_type for i in mp.graph.input}
            self.assertEqual(elem["audio_index"], onnx.TensorProto.INT64)
            if mode == "mha":
                self.assertIn("MultiHeadAttention", ops)
                self.assertNotIn("Softmax", ops)
                self.assertIn("com.microsoft", {o.domain for o in mp.opset_import})
            else:
                self.assertIn("Softmax", ops)
                self.assertNotIn("MultiHeadAttention", ops)
            self.assertFalse({"Unflatten", "ComplexMul"} & ops)
            # the float32-only time path is findable by name (a float16 conversion must skip it)
            trig = [n.name for n in mp.graph.node if n.op_type in ("Cos", "Sin")]
            self.assertEqual(len([n for n in trig if n.startswith("/model/time/")]), 2, trig)
            self.assertEqual(len([n for n in mp.graph.node if n.name.startswith("/model/time/")
                                  and n.op_type == "MatMul"]), 3)

    def test_variants_share_initializers(self):
        """Same initializer names and bytes in both graphs: one external data file can serve both."""
        import onnx
        inits = []
        for mode in ("plain", "mha"):
            mp = onnx.load(self.paths[mode])
            inits.append({i.name: i.SerializeToString() for i in mp.graph.initializer})
        self.assertEqual(inits[0], inits[1])
        self.assertTrue(all(k.startswith("model.") for k in inits[0]), sorted(inits[0])[:5])
        # no large non-weight tables (a float16 weight pass would round them): RoPE angles are computed
        big = [k for k, v in inits[0].items() if len(v) >= 1024 and not k.endswith(("weight_t", "bias", "weight",
                                                                                    "modulation"))]
        self.assertEqual(big, [])

    def test_ort_java_both_variants(self):
        java = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"
        jars = glob.glob(os.path.expanduser(
            "~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.29.0/onnxruntime-1.29.0.jar"))
        if not (os.path.exists(java) and jars) or os.environ.get("A4J_SKIP_ORT"):
            self.skipTest("ONNX Runtime Java not available")
        for cases in (FIX, os.path.join(FIX, "mha"), self.out):
            r = subprocess.run([java, "--enable-native-access=ALL-UNNAMED", "-cp", jars[0],
                                os.path.join(REPO, "tools", "OrtCheck.java"), cases, self.out],
                               capture_output=True, text=True, timeout=600)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("ALL OK", r.stdout)


@unittest.skipUnless(os.environ.get("A4J_REF_CHECKOUT"), "set A4J_REF_CHECKOUT to a StableAvatar checkout")
class ReferenceRunTest(unittest.TestCase):
    """Runs reference/dit_goldens.py on the checkout named by A4J_REF_CHECKOUT."""

    def goldens(self, out, *extra):
        script = os.path.join(os.path.dirname(HERE), "reference", "dit_goldens.py")
        r = subprocess.run([sys.executable, script, os.environ["A4J_REF_CHECKOUT"], out, *extra],
                           capture_output=True, text=True, timeout=1800)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_fixtures_are_what_the_script_makes(self):
        with tempfile.TemporaryDirectory() as out:
            self.goldens(out)
            for name in sorted(os.listdir(FIX)):
                if os.path.isfile(os.path.join(FIX, name)):
                    with open(os.path.join(FIX, name), "rb") as a, open(os.path.join(out, name), "rb") as b:
                        self.assertEqual(a.read(), b.read(), name)

    def test_real_widths_one_block(self):
        """Production widths (head size 128: RoPE split 22/21/21, adapter heads of 192, F = 21)."""
        with tempfile.TemporaryDirectory() as out:
            self.goldens(out, "--real-widths", "1")
            m = dit.build(_read_safetensors(os.path.join(out, "diffusion_pytorch_model.safetensors")),
                          os.path.join(out, "config.json"),
                          transformer=_read_pt(os.path.join(out, "transformer3d-square.pt")))
            for case in load_cases(out):
                with torch.no_grad():
                    got = m(*args_of(case))
                self.assertLessEqual(rel_err(got, case["out"]["velocity"]), TOL)


def tearDownModule():
    tmp = _MODEL.get("tmp")
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
