"""umT5 text encoder: reduced bf16 reference checkpoint -> module -> goldens, tokenizer, prompts, ONNX graph."""
import json
import math
import os
import struct
import tempfile
import unittest

import numpy as np
import torch

import enc_support as S
from a4jexport.stableavatar import umt5

CKPT = S.fixture(umt5.CHECKPOINT)
SPIECE = S.fixture(umt5.TOKENIZER)


def _reference_buckets(lq, lk, num_buckets, max_dist=128):
    """The reference T5RelativeEmbedding._relative_position_bucket (bidirectional), restated."""
    rel_pos = torch.arange(lk).unsqueeze(0) - torch.arange(lq).unsqueeze(1)
    n = num_buckets // 2
    rel_buckets = (rel_pos > 0).long() * n
    rel_pos = torch.abs(rel_pos)
    max_exact = n // 2
    large = max_exact + (torch.log(rel_pos.float() / max_exact) / math.log(max_dist / max_exact)
                         * (n - max_exact)).long()
    large = torch.min(large, torch.full_like(large, n - 1))
    return rel_buckets + torch.where(rel_pos < max_exact, rel_pos, large)


def _text_cases():
    return [{name: t for _, name, t in items} for graph, items in S.cases() if graph == "text_encoder.onnx"]


class UmT5Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sd = torch.load(CKPT, map_location="cpu")
        cls.model = umt5.build(cls.sd, source=CKPT)
        cls.tok = umt5.Tokenizer(SPIECE)
        with open(S.fixture("tokens.json"), encoding="utf-8") as f:
            cls.tokens = json.load(f)

    def test_checkpoint_is_bf16_like_the_real_file(self):
        self.assertTrue(all(v.dtype == torch.bfloat16 for v in self.sd.values()))
        self.assertIn("blocks.1.pos_embedding.embedding.weight", self.sd)  # umT5: one table per layer

    def test_dimensions_come_from_the_checkpoint(self):
        m = self.model
        self.assertEqual((m.dim, len(m.blocks), m.num_buckets, m.blocks[0].heads), (32, 2, 32, 4))
        self.assertEqual(sum(c.shape[0] for c in m.embed), 256)

    def test_forward_matches_reference(self):
        for case in _text_cases():
            with torch.no_grad():
                out = self.model(case["input_ids"], case["attention_mask"])
            self.assertEqual(out.shape, case["last_hidden_state"].shape)
            self.assertLessEqual(S.rel_err(out, case["last_hidden_state"]), 1e-4)

    def test_chunked_embedding_is_the_same_graph_function(self):
        m = umt5.build(self.sd, max_initializer_bytes=32 * 4 * 10)  # 10 rows per chunk
        self.assertEqual(len(m.embed), 26)
        for case in _text_cases():
            with torch.no_grad():
                out = m(case["input_ids"], case["attention_mask"])
            self.assertLessEqual(S.rel_err(out, case["last_hidden_state"]), 1e-6)

    def test_bf16_storage_computes_the_same(self):
        m = umt5.build(self.sd, storage_dtype=torch.bfloat16)
        self.assertTrue(all(p.dtype == torch.bfloat16 for p in m.parameters()))
        case = _text_cases()[0]
        with torch.no_grad():
            out = m(case["input_ids"], case["attention_mask"])
        self.assertLessEqual(S.rel_err(out, case["last_hidden_state"]), 1e-6)

    def test_buckets_equal_the_reference_formula(self):
        for buckets in (32, 16, 8):
            thr = umt5.bucket_thresholds(buckets)
            got = umt5.relative_buckets(600, buckets, thr)
            self.assertTrue(torch.equal(got, _reference_buckets(600, 600, buckets)), buckets)

    def test_tokenizer_follows_the_reference_rules(self):
        t = self.tokens
        self.assertEqual((self.tok.pad, self.tok.eos, self.tok.max_length), (t["pad"], t["eos"], t["max_length"]))
        for name, p in t["prompts"].items():
            ids = self.tok.ids(p["text"])
            self.assertEqual(ids, p["ids"], name)
            self.assertEqual(ids[-1], self.tok.eos)
            full, mask = self.tok(p["text"])
            self.assertEqual(tuple(full.shape), (1, 512))
            self.assertEqual(full[0, :len(ids)].tolist(), ids)
            self.assertTrue(bool((full[0, len(ids):] == self.tok.pad).all()))
            self.assertEqual(int(mask.sum()), len(ids))
            self.assertEqual(mask[0, :len(ids)].tolist(), [1] * len(ids))
        long = t["prompts"]["long"]
        self.assertEqual(long["length"], 512)  # truncated: 511 pieces + EOS

    def test_text_manifest_section(self):
        self.assertEqual(umt5.text_manifest(self.tok), {"tokenizer": "sentencepiece", "model": {"file": "spiece.model"},
                                                        "maxTokens": 512, "eos": 1, "pad": 0})

    def test_prompt_embeddings_match_the_reference_trim(self):
        # encode() runs only the L valid tokens; the reference runs 512 padded and keeps [:L].
        for name, p in self.tokens["prompts"].items():
            if not p["embeddings"]:
                continue
            ref = S.load_bin(p["embeddings"], "float32", ",".join(map(str, p["shape"])))
            got = umt5.encode(self.model, self.tok, p["text"])
            self.assertEqual(tuple(got.shape), tuple(ref.shape), name)
            self.assertLessEqual(S.rel_err(got, ref), 1e-4, name)

    def test_valid_rows_do_not_depend_on_padding(self):
        ids = torch.tensor([self.tok.ids("The protagonist is singing")])
        n = ids.shape[1]
        with torch.no_grad():
            base = self.model(ids, torch.ones_like(ids))[0]
            for total in (n + 1, 40, 512):
                padded = torch.zeros(1, total, dtype=torch.long)
                padded[0, :n] = ids[0]
                padded[0, n:] = 77  # padding content must not matter either
                mask = torch.zeros(1, total, dtype=torch.long)
                mask[0, :n] = 1
                out = self.model(padded, mask)[0, :n]
                self.assertLessEqual(float((out - base).abs().max()), 1e-5, total)

    def test_reads_each_tensor_once_embedding_first(self):
        rec = S.Recording(self.sd)
        umt5.build(rec)
        self.assertEqual(rec.reads[0], "token_embedding.weight")
        self.assertEqual(sorted(rec.reads), sorted(self.sd.keys()))

    def test_missing_key_names_key_and_file(self):
        sd = {k: v for k, v in self.sd.items() if k != "blocks.1.ffn.gate.0.weight"}
        with self.assertRaises(KeyError) as e:
            umt5.build(sd, source="/x/t5.pth")
        self.assertIn("blocks.1.ffn.gate.0.weight", str(e.exception))
        self.assertIn("/x/t5.pth", str(e.exception))

    def test_precompute_writes_safetensors(self):
        with tempfile.TemporaryDirectory() as d:
            files = umt5.precompute(self.model, self.tok, d, prompt="The protagonist is singing",
                                    negative="色调艳丽，过曝")
            self.assertEqual(files, {"text-default": "text_default.safetensors",
                                     "text-negative": "text_negative.safetensors"})
            for key, text in (("text-default", "The protagonist is singing"), ("text-negative", "色调艳丽，过曝")):
                with open(os.path.join(d, files[key]), "rb") as f:
                    raw = f.read()
                (n,) = struct.unpack("<Q", raw[:8])
                self.assertEqual((8 + n) % 8, 0)
                header = json.loads(raw[8:8 + n])
                self.assertEqual(list(header), ["embeddings"])
                meta = header["embeddings"]
                self.assertEqual(meta["dtype"], "F32")
                data = np.frombuffer(raw[8 + n:], dtype="<f4").reshape(meta["shape"])
                self.assertEqual(meta["data_offsets"], [0, data.nbytes])
                want = umt5.encode(self.model, self.tok, text)
                self.assertEqual(list(want.shape), meta["shape"])
                self.assertTrue(np.array_equal(data, want.numpy()))

    def test_default_prompts_are_stableavatars(self):
        self.assertEqual(umt5.DEFAULT_PROMPT, "The protagonist is singing")
        self.assertTrue(umt5.NEGATIVE_PROMPT.startswith("色调艳丽，过曝，静态") and umt5.NEGATIVE_PROMPT.endswith("倒着走"))
        # sha256 of the string in StableAvatar inference.py (= Wan2.1 shared_config.sample_neg_prompt)
        import hashlib
        self.assertEqual(hashlib.sha256(umt5.NEGATIVE_PROMPT.encode("utf-8")).hexdigest(),
                         "ce96e0324e4b54ce4b6e867f669ca520952e1a34cc116543516b1897f0d3c47e")

    def test_export_graph_and_check(self):
        import onnx
        (g,) = umt5.graphs(self.model)
        self.assertEqual((g.key, g.file), ("text-encoder", "text_encoder.onnx"))
        path = S.export(g, S.out_dir())
        proto = onnx.load(path)
        onnx.checker.check_model(proto)
        self.assertEqual([i.name for i in proto.graph.input], ["input_ids", "attention_mask"])
        self.assertEqual([o.name for o in proto.graph.output], ["last_hidden_state"])
        for i in proto.graph.input:
            self.assertEqual(i.type.tensor_type.elem_type, onnx.TensorProto.INT64)
            self.assertEqual(i.type.tensor_type.shape.dim[1].dim_param, "tokens")
        ops = {n.op_type for n in proto.graph.node}
        self.assertNotIn("Log", ops)  # buckets are integer comparisons, not float logs
        S.assert_no_folded_copies(self, proto, self.model)

    def test_export_chunked_embedding_keeps_initializers_small(self):
        import onnx
        m = umt5.build(self.sd, max_initializer_bytes=32 * 4 * 100)
        (g,) = umt5.graphs(m)
        with tempfile.TemporaryDirectory() as d:
            proto = onnx.load(S.export(g, d))
        onnx.checker.check_model(proto)
        sizes = [np.prod(t.dims) * 4 for t in proto.graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
        self.assertLessEqual(max(sizes), 32 * 4 * 100)


if __name__ == "__main__":
    unittest.main()
