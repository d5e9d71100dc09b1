#!/usr/bin/python3
"""A ``vae-encoder`` for ``models/latentsync-tiny``'s 64 px faces that also returns the posterior's
``std`` (as tools/export/latentsync's encoders do), for LatentSyncPosteriorTest:

    latent = AveragePool8x8(Conv1x1(image))   [N, 4, 8, 8]   (fixed, seeded weights)
    std    = 0.25 + 0.5 * sigmoid(latent)     [N, 4, 8, 8]

Writes sdk-runtime-onnx/src/test/resources/latentsync-std/vae_encoder.onnx (byte-identical on
re-runs). Run with /usr/bin/python3 (Debian's torch + onnx).
"""
import os

import torch
from torch import nn
from torch.nn import functional as F

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "sdk-runtime-onnx", "src", "test", "resources", "latentsync-std", "vae_encoder.onnx")


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(18)
        self.w = nn.Parameter(torch.randn(4, 3, 1, 1, generator=g), requires_grad=False)
        self.b = nn.Parameter(0.1 * torch.randn(4, generator=g), requires_grad=False)

    def forward(self, image):
        latent = F.avg_pool2d(F.conv2d(image, self.w, self.b), 8)
        return latent, 0.25 + 0.5 * torch.sigmoid(latent)


if __name__ == "__main__":
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    torch.onnx.export(Encoder().eval(), (torch.zeros(2, 3, 64, 64),), OUT, opset_version=17,
                      input_names=["image"], output_names=["latent", "std"],
                      dynamic_axes={"image": {0: "N"}, "latent": {0: "N"}, "std": {0: "N"}})
    print(OUT)
