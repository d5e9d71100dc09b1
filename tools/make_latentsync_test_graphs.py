#!/usr/bin/python3
"""Graphs for the toy bundle ``sdk-runtime-onnx/src/test/bundles/latentsync-toy``'s 64 px faces with the optional outputs tools/export/latentsync
writes, for the SDK tests (LatentSyncPosteriorTest, LatentSyncDeepCacheTest):

- ``latentsync-std/vae_encoder.onnx``: ``latent = AveragePool8x8(Conv1x1(image))`` [N, 4, 8, 8] (fixed,
  seeded weights) and ``std = 0.25 + 0.5 * sigmoid(latent)``;
- ``latentsync-deepcache/unet.onnx``: ``noise = 0.1 * sample[:, :4] + 1e-3 * (t + mean(audio))`` and
  DeepCache's ``cache = sample[:, 4:8] + 1e-3 * t`` [B, 4, F, 8, 8];
- ``latentsync-deepcache/unet_shallow.onnx``: ``noise = 0.1 * cache + 1e-3 * (sample[:, :4] + t +
  mean(audio))``.

Writes them under sdk-runtime-onnx/src/test/resources/ (byte-identical on re-runs). Run with
/usr/bin/python3 (Debian's torch + onnx).
"""
import os

import torch
from torch import nn
from torch.nn import functional as F

RES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "sdk-runtime-onnx", "src", "test", "resources")
OUT = os.path.join(RES, "latentsync-std", "vae_encoder.onnx")


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(18)
        self.w = nn.Parameter(torch.randn(4, 3, 1, 1, generator=g), requires_grad=False)
        self.b = nn.Parameter(0.1 * torch.randn(4, generator=g), requires_grad=False)

    def forward(self, image):
        latent = F.avg_pool2d(F.conv2d(image, self.w, self.b), 8)
        return latent, 0.25 + 0.5 * torch.sigmoid(latent)


class Unet(nn.Module):
    def forward(self, sample, timestep, audio):
        a = audio.mean(dim=(1, 2, 3)).reshape(-1, 1, 1, 1, 1)
        return 0.1 * sample[:, :4] + 1e-3 * (timestep + a), sample[:, 4:8] + 1e-3 * timestep


class Shallow(nn.Module):
    def forward(self, sample, timestep, audio, cache):
        a = audio.mean(dim=(1, 2, 3)).reshape(-1, 1, 1, 1, 1)
        return 0.1 * cache + 1e-3 * (sample[:, :4] + timestep + a)


def export_unets():
    d = os.path.join(RES, "latentsync-deepcache")
    os.makedirs(d, exist_ok=True)
    args = (torch.zeros(2, 13, 3, 8, 8), torch.tensor([501.0]), torch.zeros(2, 3, 50, 384))
    axes = {"sample": {0: "B", 2: "F"}, "audio": {0: "B", 1: "F"}, "noise": {0: "B", 2: "F"},
            "cache": {0: "B", 2: "F"}}
    torch.onnx.export(Unet().eval(), args, os.path.join(d, "unet.onnx"), opset_version=17,
                      input_names=["sample", "timestep", "audio"], output_names=["noise", "cache"], dynamic_axes=axes)
    torch.onnx.export(Shallow().eval(), args + (torch.zeros(2, 4, 3, 8, 8),), os.path.join(d, "unet_shallow.onnx"),
                      opset_version=17, input_names=["sample", "timestep", "audio", "cache"], output_names=["noise"],
                      dynamic_axes=axes)


if __name__ == "__main__":
    export_unets()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    torch.onnx.export(Encoder().eval(), (torch.zeros(2, 3, 64, 64),), OUT, opset_version=17,
                      input_names=["image"], output_names=["latent", "std"],
                      dynamic_axes={"image": {0: "N"}, "latent": {0: "N"}, "std": {0: "N"}})
    print(OUT)
