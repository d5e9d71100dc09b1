"""avatar4j exporters: turn published checkpoints into avatar4j model bundles.

Plain PyTorch re-implementations of the reference modules (no transformers, diffusers,
safetensors or einops: none is packaged for Debian's PyTorch 1.13), exported to ONNX with the
graph signatures of docs/BUNDLE-FORMAT.md.
"""
