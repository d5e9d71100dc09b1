#!/usr/bin/python3
"""Wan2.1 VAE exporter against goldens made by the reference module (tools/export/reference/vae_goldens.py).

Fixture (tests/fixtures/vae/): ``Wan2.1_VAE.pth``, a reduced reference model (base width 4, the real
structure and key names, seeded random weights); ``cases.txt`` + ``*.bin``, the reference's outputs
in OrtCheck's format; ``real_shapes.json``, the key shapes of the full-size (published) VAE;
``variant/``, a reduced model of another structure (1 residual block per level, other temporal
down-sampling) with the reference's encode and decode.

Graphs are exported to ``$A4J_EXPORT_OUT/vae/`` (a temp dir if unset) and, when a JDK 25 and the
ONNX Runtime jar are present, checked with tools/OrtCheck.java against the same cases.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(EXPORT))
sys.path.insert(0, EXPORT)
from a4jexport.stableavatar import vae as V  # noqa: E402

FIX = os.path.join(HERE, 'fixtures', 'vae')
TOL = 1e-4
JAVA = '/usr/lib/jvm/temurin-25-jdk-amd64/bin/java'
ORT_JAR = os.path.expanduser('~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.29.0/onnxruntime-1.29.0.jar')

# The published VAE's decoder caches (issue #17): channels, scale (all 2 frames deep).
REAL_DECODER = [(16, 1)] + [(384, 1)] * 11 + [(192, 2)] + [(384, 2)] * 6 + [(192, 4)] * 6 + [(96, 8)] * 7
# ... and the streamed encoder's: channels, frames, scale.
REAL_ENCODER = ([(3, 2, 8)] + [(96, 2, 8)] * 4 + [(96, 2, 4)] + [(192, 2, 4)] * 3 + [(192, 1, 2)]
                + [(192, 2, 2)] + [(384, 2, 2)] * 3 + [(384, 1, 1)] + [(384, 2, 1)] * 9)


def read_cases():
    """[(graph, {in name: tensor}, {out name: tensor})] in file order."""
    cases = []
    with open(os.path.join(FIX, 'cases.txt')) as f:
        lines = f.read().splitlines()
    for line in lines:
        p = line.split()
        if not p:
            continue
        if p[0] == 'case':
            cases.append((p[1], {}, {}))
            continue
        shape = [int(d) for d in p[3].split(',')]
        t = torch.from_numpy(np.fromfile(os.path.join(FIX, p[4]), '<f4').reshape(shape).copy())
        cases[-1][1 if p[0] == 'in' else 2][p[1]] = t
    return cases


def caches_in(ins):
    return [ins[f'cache_in_{i}'] for i in range(len(ins) - 1)] if len(ins) > 1 else None


def export(g, out_dir):
    path = os.path.join(out_dir, g.file)
    with torch.no_grad():
        torch.onnx.export(g.module, tuple(g.args), path, input_names=g.input_names, output_names=g.output_names,
                          dynamic_axes=g.dynamic_axes, opset_version=V.OPSET, do_constant_folding=True)
    return path


class VaeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_grad_enabled(False)
        cls.sd = torch.load(os.path.join(FIX, 'Wan2.1_VAE.pth'), map_location='cpu')
        cls.model = V.build(cls.sd)
        cls.cases = read_cases()

    def assertClose(self, got, ref, what):
        self.assertEqual(tuple(got.shape), tuple(ref.shape), what)
        err = (got - ref).abs().max().item()
        self.assertLessEqual(err, TOL * max(1.0, ref.abs().max().item()), f'{what}: max|d| = {err:.3e}')

    def run_case(self, graph, ins):
        m = self.model
        if graph == 'vae_encoder.onnx':
            return [m.encode_whole(ins['video'])]
        if graph.startswith('vae_encoder'):
            out, caches = m.encode_chunk(ins['video'], caches_in(ins))
        else:
            out, caches = m.decode_frame(ins['latent'], caches_in(ins))
        return [out] + caches

    # -- structure read from the shapes ---------------------------------------------------------
    def test_config_comes_from_the_shapes(self):
        self.assertEqual(self.model.config(), {
            'dim': 4, 'z_dim': 16, 'dim_mult': [1, 2, 4, 4], 'num_res_blocks': [2, 2, 2, 2],
            'temporal_downsample': [False, True, True], 'spatial_stride': 8, 'temporal_stride': 4,
            'decoder_res_blocks': 12})

    def test_real_size_cache_lists(self):
        with open(os.path.join(FIX, 'real_shapes.json')) as f:
            shapes = json.load(f)
        model = V.build({k: torch.empty(v, device='meta') for k, v in shapes.items()})
        self.assertEqual(model.config()['dim'], 96)
        dec = model.decoder_caches()
        self.assertEqual([(c['channels'], c['scale']) for c in dec], REAL_DECODER)
        self.assertEqual({c['frames'] for c in dec}, {2})
        self.assertEqual([(c['name'], c['output']) for c in dec[:2]],
                         [('cache_in_0', 'cache_out_0'), ('cache_in_1', 'cache_out_1')])
        enc = model.encoder_caches()
        self.assertEqual([(c['channels'], c['frames'], c['scale']) for c in enc], REAL_ENCODER)
        # 3.78 GB of decoder caches per direction at 480x832 (issue #17)
        h, w = 60, 104
        total = sum(c['channels'] * c['frames'] * c['scale'] ** 2 * h * w * 4 for c in dec)
        self.assertAlmostEqual(total / 1e9, 3.777, places=3)

    def test_structure_variant_matches_its_reference(self):
        # 1 residual block per level, temporal down-sampling [True, False, True]: read from the keys
        d = os.path.join(FIX, 'variant')
        model = V.build(torch.load(os.path.join(d, 'Wan2.1_VAE.pth'), map_location='cpu'))
        self.assertEqual(model.config(), {
            'dim': 2, 'z_dim': 16, 'dim_mult': [1, 2, 4, 4], 'num_res_blocks': [1, 1, 1, 1],
            'temporal_downsample': [True, False, True], 'spatial_stride': 8, 'temporal_stride': 4,
            'decoder_res_blocks': 8})

        def rd(name, shape):
            return torch.from_numpy(np.fromfile(os.path.join(d, name), '<f4').reshape(shape).copy())
        video, latent = rd('video.bin', (1, 3, 5, 8, 16)), rd('latent.bin', (1, 16, 2, 1, 2))
        self.assertClose(model.encode_whole(video), latent, 'variant whole encode')
        self.assertClose(model.encode(video), latent, 'variant chunked encode')
        z, frames = rd('latents.bin', (1, 16, 3, 1, 2)), rd('frames.bin', (1, 3, 9, 8, 16))
        self.assertClose(model.decode(z), frames, 'variant decode')
        self.assertEqual(len(model.decoder_caches()), 1 + 4 + 4 * 2 * 2 + 2 + 1)  # conv1, middle, levels, time convs, head

    def test_missing_key_names_key_and_file(self):
        sd = dict(self.sd)
        del sd['decoder.upsamples.2.residual.6.bias']
        with self.assertRaisesRegex(KeyError, r'decoder\.upsamples\.2\.residual\.6\.bias.*Wan2\.1_VAE\.pth'):
            V.build(sd)

    def test_unexpected_key_is_refused(self):
        sd = dict(self.sd)
        sd['decoder.extra.weight'] = torch.zeros(1)
        with self.assertRaisesRegex(KeyError, 'decoder.extra.weight'):
            V.build(sd)

    def test_model_prefix_is_accepted(self):
        m = V.build({'model.' + k: v for k, v in self.sd.items()})
        z = torch.randn(1, 16, 1, 2, 3)
        self.assertTrue(torch.equal(m.decode_frame(z)[0], self.model.decode_frame(z)[0]))

    # -- numerics against the reference --------------------------------------------------------
    def test_every_case_matches_the_reference(self):
        graphs = [c[0] for c in self.cases]
        self.assertEqual(graphs, ['vae_encoder.onnx', 'vae_encoder.onnx', 'vae_encoder_first.onnx', 'vae_encoder_step.onnx',
                                  'vae_encoder_step.onnx', 'vae_decoder_first.onnx', 'vae_decoder.onnx',
                                  'vae_decoder.onnx'])
        for graph, ins, outs in self.cases:
            got = self.run_case(graph, ins)
            names = list(outs)
            self.assertEqual(names[0], 'latent' if graph.startswith('vae_encoder') else 'frames')
            for i, name in enumerate(names):
                self.assertClose(got[i], outs[name], f'{graph} {name}')

    def test_chained_decode_equals_the_reference_decode(self):
        dec = [c for c in self.cases if c[0].startswith('vae_decoder')]
        latents = torch.cat([c[1]['latent'] for c in dec], 2)
        frames = torch.cat([c[2]['frames'] for c in dec], 2)
        self.assertEqual(tuple(frames.shape), (1, 3, 9, 16, 24))
        self.assertClose(self.model.decode(latents), frames, 'decode of 3 latent frames')
        # the chain as the graphs see it: first-frame graph, then the step graph on its own caches
        out, caches = self.model.decode_frame(latents[:, :, :1])
        outs = [out]
        for i in (1, 2):
            out, caches = self.model.decode_frame(latents[:, :, i:i + 1], caches)
            outs.append(out)
        self.assertClose(torch.cat(outs, 2), frames, 'first + step + step')
        self.assertEqual(float(frames.abs().max()), 1.0, 'the goldens exercise the clamp')

    def test_first_frame_is_a_different_computation(self):
        # 'Rep': the temporal up-sampling caches of the first frame are zeros, and the step graph with
        # all-zero caches is NOT the first-frame graph (it yields 4 frames through time_conv)
        z = self.cases[5][1]['latent']
        out, caches = self.model.decode_frame(z)
        temporal = [i for i, m in enumerate(self._decoder_cache_owners()) if m == 'time_conv']
        self.assertEqual(len(temporal), 2)
        for i in temporal:
            self.assertEqual(float(caches[i].abs().max()), 0.0)
        step, _ = self.model.decode_frame(z, [torch.zeros_like(c) for c in caches])
        self.assertEqual(step.shape[2], 4)

    def _decoder_cache_owners(self):
        owners = []
        d = self.model.decoder
        owners.append('conv')
        for m in list(d.middle) + list(d.upsamples):
            if isinstance(m, V.ResidualBlock):
                owners += ['conv', 'conv']
            elif isinstance(m, V.Resample) and m.temporal:
                owners.append('time_conv')
        owners.append('conv')
        self.assertEqual(len(owners), len(self.model.decoder_caches()))
        return owners

    def test_whole_clip_encoder_equals_the_chunked_encode(self):
        g = torch.Generator().manual_seed(5)
        for frames in (1, 5, 13):
            video = torch.rand(1, 3, frames, 16, 32, generator=g) * 2 - 1
            whole = self.model.encode_whole(video)
            self.assertEqual(whole.shape[2], (frames - 1) // 4 + 1)
            self.assertClose(whole, self.model.encode(video), f'{frames} frames')

    def test_upsample_is_nearest_exact(self):
        x = torch.randn(2, 3, 5, 7)
        self.assertTrue(torch.equal(V.upsample2x(x), F.interpolate(x, scale_factor=2.0, mode='nearest-exact')))

    def test_normalisation_constants(self):
        lat = self.cases[0][2]['latent']
        z = torch.randn(1, 16, 1, 1, 1)
        self.assertTrue(torch.allclose(self.model.normalise(self.model.denormalise(z)), z, atol=1e-6))
        self.assertAlmostEqual(float(self.model.denormalise(torch.zeros(1, 16, 1, 1, 1))[0, 7]), 1.5508, places=6)
        self.assertAlmostEqual(float(1 / self.model.inv_std[0, 8]), 3.2687, places=5)
        self.assertGreater(float(lat.std()), 0.1)

    # -- ONNX --------------------------------------------------------------------------------
    def test_export_and_check(self):
        out = os.environ.get('A4J_EXPORT_OUT')
        if out:
            out = os.path.join(out, 'vae')
            os.makedirs(out, exist_ok=True)
        else:
            out = tempfile.mkdtemp(prefix='a4j_vae_')
        gs = V.graphs(self.model, height=480, width=832, frames=5, trace_size=(8, 6))
        # traced small whatever the bundle's size (the axes are dynamic; the cases are other sizes)
        self.assertEqual(tuple(gs[0].args[0].shape), (1, 3, 5, 64, 48))
        self.assertEqual(tuple(gs[-1].args[0].shape), (1, 16, 1, 8, 6))
        with self.assertRaisesRegex(ValueError, 'multiple'):
            V.graphs(self.model, height=484, width=832)
        self.assertEqual([g.key for g in gs], ['vae-encoder', 'vae-encoder-first', 'vae-encoder-step',
                                               'vae-decoder-first', 'vae-decoder'])
        for g in gs:
            path = export(g, out)
            m = onnx.load(path)
            onnx.checker.check_model(m)
            self.assertEqual([i.name for i in m.graph.input], g.input_names)
            self.assertEqual([o.name for o in m.graph.output], g.output_names)
            self.assertEqual(m.opset_import[0].version, 17)
            ops = {n.op_type for n in m.graph.node}
            # no Resize (nearest-exact written out), no Pad (its pads are computed at run time in
            # torch's ONNX form, which leaves every later size unknown)
            self.assertFalse(ops & {'Resize', 'Upsample', 'Loop', 'If', 'Pad'}, f'{g.file}: {ops}')
            first_out = [d.dim_param or d.dim_value for d in m.graph.output[0].type.tensor_type.shape.dim]
            self.assertEqual(first_out[1], 3 if g.key.startswith('vae-decoder') else 16, g.file)
            if g.key.startswith('vae-decoder'):
                self.assertEqual(len(g.manifest['caches']), 32)
            for c in g.manifest.get('caches', []):
                if c['name'] in g.input_names:
                    dims = [d.dim_param or d.dim_value for d in
                            next(i for i in m.graph.input if i.name == c['name']).type.tensor_type.shape.dim]
                    self.assertEqual(dims[:3], [1, c['channels'], c['frames']])
        if not (os.path.exists(JAVA) and os.path.exists(ORT_JAR)):
            self.skipTest('no JDK 25 / onnxruntime jar: OrtCheck not run')
        r = subprocess.run([JAVA, '--enable-native-access=ALL-UNNAMED', '-cp', ORT_JAR,
                            os.path.join(ROOT, 'tools', 'OrtCheck.java'), FIX, out, str(TOL)],
                           capture_output=True, text=True)
        print(r.stdout, r.stderr)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('ALL OK', r.stdout)


if __name__ == '__main__':
    unittest.main()
