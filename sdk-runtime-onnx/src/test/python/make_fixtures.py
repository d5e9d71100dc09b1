#!/usr/bin/python3
"""Builds the tiny ONNX graphs the sdk-runtime-onnx tests run.

Run with the Debian interpreter (python3-onnx 1.12):

    /usr/bin/python3 sdk-runtime-onnx/src/test/python/make_fixtures.py

The outputs are committed under src/test/resources/fixtures/, so the Java build never needs Python.
The graphs are written with onnx.helper (no PyTorch) and are deterministic: re-running the script
produces byte-identical files.

Fixtures
  add_scale.onnx     x float32 [N,3], k int64 [2]  ->  y = x*2+1 float32 [N,3], k2 = k+1 int64 [2]
  f16_identity.onnx  h float16 [N,4]               ->  h_out = h float16 [N,4]
  fixed_shape.onnx   v float32 [1,4]               ->  w = v*v float32 [1,4]
  int32_input.onnx   i int32 [1]                   ->  o = i int32 [1]   (unsupported element type)
  slow_chain.onnx    a float32 [S,S]               ->  out = tanh(...tanh(tanh(a@a)@a)...@a), 16
                                                       matmuls: a run long enough to close a session
                                                       while it is in flight
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "resources", "fixtures"))


def save(graph, name):
    model = helper.make_model(graph, producer_name="avatar4j-fixtures",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what onnx 1.12 writes for opset 17; ONNX Runtime 1.29 reads it
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(OUT, name)
    onnx.save(model, path)
    print(f"{path}: {os.path.getsize(path)} bytes")


def add_scale():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    k = helper.make_tensor_value_info("k", TensorProto.INT64, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    k2 = helper.make_tensor_value_info("k2", TensorProto.INT64, [2])
    inits = [numpy_helper.from_array(np.array(2.0, np.float32), "two"),
             numpy_helper.from_array(np.array(1.0, np.float32), "one"),
             numpy_helper.from_array(np.array(1, np.int64), "one_i")]
    nodes = [helper.make_node("Mul", ["x", "two"], ["x2"]),
             helper.make_node("Add", ["x2", "one"], ["y"]),
             helper.make_node("Add", ["k", "one_i"], ["k2"])]
    save(helper.make_graph(nodes, "add_scale", [x, k], [y, k2], inits), "add_scale.onnx")


def f16_identity():
    h = helper.make_tensor_value_info("h", TensorProto.FLOAT16, ["N", 4])
    o = helper.make_tensor_value_info("h_out", TensorProto.FLOAT16, ["N", 4])
    save(helper.make_graph([helper.make_node("Identity", ["h"], ["h_out"])], "f16_identity", [h], [o]),
         "f16_identity.onnx")


def fixed_shape():
    v = helper.make_tensor_value_info("v", TensorProto.FLOAT, [1, 4])
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [1, 4])
    save(helper.make_graph([helper.make_node("Mul", ["v", "v"], ["w"])], "fixed_shape", [v], [w]),
         "fixed_shape.onnx")


def int32_input():
    i = helper.make_tensor_value_info("i", TensorProto.INT32, [1])
    o = helper.make_tensor_value_info("o", TensorProto.INT32, [1])
    save(helper.make_graph([helper.make_node("Identity", ["i"], ["o"])], "int32_input", [i], [o]),
         "int32_input.onnx")


def slow_chain(depth=16):
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["S", "S"])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["S", "S"])
    nodes, prev = [], "a"
    for d in range(depth):
        nodes.append(helper.make_node("MatMul", [prev, "a"], [f"m{d}"]))
        name = "out" if d == depth - 1 else f"t{d}"
        nodes.append(helper.make_node("Tanh", [f"m{d}"], [name]))
        prev = name
    save(helper.make_graph(nodes, "slow_chain", [a], [out]), "slow_chain.onnx")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    add_scale()
    f16_identity()
    fixed_shape()
    int32_input()
    slow_chain()
