"""What a module hands the exporter: one ONNX graph to write, and how to trace it."""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence

import torch


@dataclass
class GraphExport:
    """One graph of a bundle.

    key:           the manifest's graph key (``dit``, ``vae-encoder`` ...)
    file:          file name inside the bundle (``dit.onnx``)
    module:        the torch module to trace (in eval mode, float32)
    args:          example inputs for tracing, in ``input_names`` order
    input_names / output_names / dynamic_axes: as for ``torch.onnx.export``
    manifest:      extra keys for the graph's manifest entry (e.g. ``caches``)
    """
    key: str
    file: str
    module: torch.nn.Module
    args: Sequence[Any]
    input_names: List[str]
    output_names: List[str]
    dynamic_axes: Dict[str, Dict[int, str]] = field(default_factory=dict)
    manifest: Dict[str, Any] = field(default_factory=dict)
