"""LongCat-Video-Avatar DiT exporter tests: the reduced reference checkpoint (fixtures/longcat_dit, made
by reference/longcat_dit_goldens.py from LongCat-Video's own modules) -> our module -> goldens in both
segment layouts and with 1, 2 and 3 persons; ONNX export of the six graphs to
$A4J_EXPORT_OUT/longcat_dit/ (tools/export/test checks them with ONNX Runtime against the same
cases); and the reference semantics a port gets wrong."""
import json
import os
import sys
import unittest

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from a4jexport.checkpoint import open_checkpoint  # noqa: E402
from a4jexport.longcat import dit, lora, streamed  # noqa: E402
import exportutil  # noqa: E402

FIX = os.path.join(HERE, "fixtures", "longcat_dit")
TOL = 1e-4


def load_cases(name="cases.txt"):
    cases, cur = [], None
    with open(os.path.join(FIX, name)) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "case":
                cur = {"graph": p[1], "in": {}, "out": {}}
                cases.append(cur)
                continue
            arr = np.fromfile(os.path.join(FIX, p[4]), dtype="<f4").reshape([int(s) for s in p[3].split(",")])
            cur[p[0]][p[1]] = torch.from_numpy(arr.copy())
    return cases


def layout_of(case):
    return "continuation" if "continuation" in case["graph"] else "first"


def persons_of(case):
    return case["in"]["audio_latter"].shape[1]


def rel_err(got, ref):
    return (got - ref).abs().max().item() / max(1.0, ref.abs().max().item())


class LongCatDiTTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ck = open_checkpoint(os.path.join(FIX, "diffusion_pytorch_model.safetensors"))
        cls.sd = {k: ck[k] for k in ck.keys()}
        with open(os.path.join(FIX, "config.json")) as f:
            cls.config = json.load(f)
        cls.model = dit.build(cls.sd, cls.config)
        cls.cases = load_cases()

    def run_case(self, case, model=None, **override):
        m = model or dit.variant(self.model, layout_of(case), persons_of(case))
        ins = dict(case["in"], **override)
        with torch.no_grad():
            return m(*[ins[n] for n in dit.INPUT_NAMES if n in ins])

    def test_every_layout_and_person_count_matches_the_reference(self):
        seen = set()
        for case in self.cases:
            with self.subTest(graph=case["graph"]):
                err = rel_err(self.run_case(case), case["out"]["velocity"])
                self.assertLessEqual(err, TOL)
                seen.add((layout_of(case), persons_of(case)))
        self.assertEqual(seen, {(l, p) for l in ("first", "continuation") for p in (1, 2, 3)})

    def test_sizes_come_from_the_checkpoint(self):
        m = self.model
        self.assertEqual((m.dim, m.depth, m.cin, m.cout, m.audio_tokens, m.audio_dim), (32, 2, 16, 16, 4, 16))
        self.assertTrue(m.audio_prenorm)
        with self.assertRaises(KeyError):
            dit.build(self.sd, {})

    def test_checkpoint_shapes_are_the_reference_constructors(self):
        shapes = dit.checkpoint_shapes(self.config)
        self.assertEqual(shapes, {k: list(v.shape) for k, v in self.sd.items()})
        full = dit.checkpoint_shapes({"audio_block": 5, "audio_channel": 1280})  # v1.5: Whisper-large groups
        total = sum(int(np.prod(s)) for s in full.values())
        self.assertAlmostEqual(total / 1e9, 15.85, places=2)

    def test_condition_latents_see_only_condition_latents(self):
        # the reference's partition: in segment 0 the portrait attends only to itself (not to the
        # noisy latents), and no cross-attention reaches condition latents
        for case in self.cases:
            with self.subTest(graph=case["graph"]):
                nc = 1 if layout_of(case) == "first" else 5
                base = self.run_case(case)
                x = case["in"]["x"].clone()
                x[:, :, nc:] = torch.randn_like(x[:, :, nc:])
                changed = self.run_case(case, x=x, context=case["in"]["context"] * 2,
                                        audio_latter=case["in"]["audio_latter"] * -1)
                self.assertLess((changed[:, :, :nc] - base[:, :, :nc]).abs().max().item(), 1e-5)
                self.assertGreater((changed[:, :, nc:] - base[:, :, nc:]).abs().max().item(), 1e-2)

    def test_continuation_reference_and_context_are_separate_groups(self):
        case = next(c for c in self.cases if c["graph"] == "dit_p1_continuation.onnx")
        base = self.run_case(case)
        x = case["in"]["x"].clone()
        x[:, :, 1:5] = torch.randn_like(x[:, :, 1:5])  # new context: the reference latent must not notice
        changed = self.run_case(case, x=x)
        self.assertLess((changed[:, :, :1] - base[:, :, :1]).abs().max().item(), 1e-5)
        self.assertGreater((changed[:, :, 1:5] - base[:, :, 1:5]).abs().max().item(), 1e-2)

    def test_the_masked_noisy_range_is_what_the_reference_masks(self):
        case = next(c for c in self.cases if c["graph"] == "dit_p1_continuation.onnx")
        unmasked = dit.variant(self.model, "continuation", 1)
        unmasked.mask_range = 0  # still a non-empty range (one latent), so shift it away instead
        unmasked.ref_index = 100
        self.assertGreater(rel_err(self.run_case(case, unmasked), case["out"]["velocity"]), 1e-3)

    def test_person_routing_matters(self):
        for graph in ("dit_p2.onnx", "dit_p3_continuation.onnx"):
            case = next(c for c in self.cases if c["graph"] == graph)
            with self.subTest(graph=graph):
                masks = case["in"]["person_mask"].clone()
                masks[[0, 1]] = masks[[1, 0]]
                self.assertGreater(rel_err(self.run_case(case, person_mask=masks), case["out"]["velocity"]), 1e-3)
                audio = case["in"]["audio_latter"].clone()
                audio[:, [0, 1]] = audio[:, [1, 0]]
                self.assertGreater(rel_err(self.run_case(case, audio_latter=audio), case["out"]["velocity"]), 1e-3)

    def test_background_position_follows_the_mask_count(self):
        # 12 with three masks, 100 with more (the reference's x_ref_attn_map.shape[0] <= 3)
        case = next(c for c in self.cases if c["graph"] == "dit_p3.onnx")
        three = self.run_case(case, person_mask=case["in"]["person_mask"][:3])
        self.assertGreater(rel_err(three, case["out"]["velocity"]), 1e-4)

    def test_export_every_graph(self):
        out = exportutil.out_dir("longcat_dit")
        files = set()
        for g in dit.graphs(self.model, lh=4, lw=6):
            path = os.path.join(out, g.file)
            torch.onnx.export(g.module, tuple(g.args), path, input_names=g.input_names,
                              output_names=g.output_names, dynamic_axes=g.dynamic_axes, opset_version=17)
            onnx.checker.check_model(path)
            files.add(g.file)
            names = [i.name for i in onnx.load(path).graph.input]
            self.assertEqual(names, g.input_names)
        self.assertEqual(files, {c["graph"] for c in self.cases})

    def test_weights_as_inputs_export_streams_one_shared_data_file(self):
        # the path the full 15.9B export takes: a model of shapes only, traced with zero-stride weights
        # as inputs, bound to initializers read one at a time from the (lazy) checkpoint; the six graphs
        # share one data file; tools/export/test runs the reference cases on them (cases.txt here)
        out = exportutil.out_dir("longcat_dit_streamed")
        ck = open_checkpoint(os.path.join(FIX, "diffusion_pytorch_model.safetensors"))
        shapes = {k: ck.shape(k) for k in ck.keys()}
        model = dit.build_shapes(shapes, self.config)
        self.assertEqual(len(model.w), 0)  # no weights held
        reads = []

        class Counting(dict):
            def __getitem__(self, k):
                reads.append(k)
                return ck[k]

        entries, shared, clamped = streamed.export_dit(shapes, self.config, Counting(), out)
        self.assertEqual(set(entries), {dit.graph_key(l, p) for l in ("first", "continuation") for p in (1, 2, 3)})
        self.assertEqual(len(reads), len(set(reads)), "every weight is read once for all six graphs")
        self.assertNotIn("audio_proj.proj1.weight", reads)  # latent 0's projection never reaches an output
        self.assertEqual(set(reads), set(shapes) - {"audio_proj.proj1.weight", "audio_proj.proj1.bias"})
        for e in entries.values():
            self.assertEqual(e["externalData"], [shared])
            m = onnx.load(os.path.join(out, e["file"]), load_external_data=False)
            self.assertEqual([i.name for i in m.graph.input], dit.INPUT_NAMES[:len(m.graph.input)])
            for t in m.graph.initializer:  # no weight bytes inside the graph
                if t.external_data:
                    self.assertEqual({x.key: x.value for x in t.external_data}["location"], "dit.onnx.data")
                else:
                    self.assertLess(len(t.raw_data), 1024, t.name)
        for case in self.cases:
            exportutil.write_cases(out, case["graph"], case["in"], case["out"],
                                   tag=case["graph"].replace(".onnx", ""))

    def test_graphs_added_later_reuse_the_data_file_byte_for_byte(self):
        # an export stopped after the one-person pair, resumed for two persons, gives the same files as
        # one run; nothing already in the data file is read or written again
        ck = open_checkpoint(os.path.join(FIX, "diffusion_pytorch_model.safetensors"))
        shapes = {k: ck.shape(k) for k in ck.keys()}
        whole = exportutil.out_dir("longcat_dit_whole")
        streamed.export_dit(shapes, self.config, ck, whole, persons=(1, 2), weights="fp16")
        parts = exportutil.out_dir("longcat_dit_resumed")
        first, _, _ = streamed.export_dit(shapes, self.config, ck, parts, persons=(1,), weights="fp16")
        reads = []

        class Counting(dict):
            def __getitem__(self, k):
                reads.append(k)
                return ck[k]

        later, shared, _ = streamed.export_dit(shapes, self.config, Counting(), parts, persons=(2,), weights="fp16",
                                               resume_from=[e["file"] for e in first.values()])
        self.assertEqual(set(later), {"dit-p2", "dit-p2-continuation"})
        self.assertEqual(reads, [], "the two-person graphs read no weight the one-person pair did not")
        for name in sorted(os.listdir(whole)):
            with open(os.path.join(whole, name), "rb") as a, open(os.path.join(parts, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), name)
        self.assertEqual(shared["size"], os.path.getsize(os.path.join(whole, "dit.onnx.data")))
        with self.assertRaisesRegex(ValueError, "this export writes fp32"):
            streamed.export_dit(shapes, self.config, ck, parts, persons=(3,), weights="fp32",
                                resume_from=[e["file"] for e in first.values()])

    def test_fp16_weights_are_stored_half_and_cast_back(self):
        out = exportutil.out_dir("longcat_dit_fp16")
        ck = open_checkpoint(os.path.join(FIX, "diffusion_pytorch_model.safetensors"))
        shapes = {k: ck.shape(k) for k in ck.keys()}
        entries, shared, _ = streamed.export_dit(shapes, self.config, ck, out, persons=(1,), weights="fp16")
        m = onnx.load(os.path.join(out, entries["dit-p1"]["file"]), load_external_data=False)
        halves = [t for t in m.graph.initializer if t.name.endswith("__fp16")]
        self.assertTrue(halves)
        self.assertTrue(all(t.data_type == onnx.TensorProto.FLOAT16 for t in halves))
        casts = {n.output[0] for n in m.graph.node if n.op_type == "Cast"}
        self.assertTrue({t.name[:-len("__fp16")] for t in halves} <= casts)
        fp32 = sum(int(np.prod(s)) for k, s in shapes.items() if not k.startswith("audio_proj.proj1.")) * 4
        self.assertLessEqual(shared["size"], fp32 // 2 + 64 * len(shapes))

    def lora_model(self, multiplier=1.0):
        base = open_checkpoint(os.path.join(FIX, "diffusion_pytorch_model.safetensors"))
        merged = lora.LoraMerged(base, open_checkpoint(os.path.join(FIX, "lora", "dmd_lora.safetensors")),
                                 multiplier=multiplier)
        return merged, dit.build({k: merged[k] for k in merged.keys()}, self.config)

    def test_lora_merge_matches_the_reference_lora(self):
        # the reference adds lora_up(lora_down(x)) * multiplier * alpha_scale at run time, with split
        # lora_up blocks for the fused qkv and the audio kv; merged into the weights it is the same
        merged, model = self.lora_model()
        self.assertEqual(len(merged.merged_keys()), 5)
        cases = load_cases("lora_cases.txt")
        self.assertEqual(len(cases), 2)
        for case in cases:
            with self.subTest(graph=case["graph"]):
                self.assertLessEqual(rel_err(self.run_case(case, dit.variant(model, layout_of(case),
                                                                             persons_of(case))),
                                             case["out"]["velocity"]), TOL)
                # the goldens catch an unmerged LoRA and a wrong scale
                self.assertGreater(rel_err(self.run_case(case), case["out"]["velocity"]), 1e-3)
        _, half = self.lora_model(multiplier=0.5)
        case = cases[0]
        self.assertGreater(rel_err(self.run_case(case, dit.variant(half, "first", 1)), case["out"]["velocity"]), 1e-3)

    def test_lora_merged_streamed_export(self):
        # the exporter's path: LoRA merged on access while the weights stream into the data file;
        # tools/export/test runs the reference's LoRA cases on these graphs
        out = exportutil.out_dir("longcat_dit_lora")
        merged, _ = self.lora_model()
        shapes = {k: merged.shape(k) for k in merged.keys()}
        streamed.export_dit(shapes, self.config, merged, out, persons=(1, 2))
        for case in load_cases("lora_cases.txt"):
            exportutil.write_cases(out, case["graph"], case["in"], case["out"],
                                   tag="lora_" + case["graph"].replace(".onnx", ""))


if __name__ == "__main__":
    unittest.main()
